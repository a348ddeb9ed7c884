//! `ls` and the formatting helpers other file commands share (GNU coreutils 9).

use super::args;
use crate::shell::exec::Ctx;
use crate::shell::vfs::{Access, FsError, Kind, Node, normalize, split};
use crate::shell::{Shell, now};

/// `drwxr-xr-x`-style mode string.
pub fn mode_string(n: &Node) -> String {
    let t = match n.kind {
        Kind::Dir => 'd',
        Kind::Symlink(_) => 'l',
        Kind::CharDev => 'c',
        Kind::File => '-',
    };
    let m = n.mode;
    let bit = |b: u32, c: char| if m & b != 0 { c } else { '-' };
    let special = |x: u32, s: u32, lower: char, upper: char| match (m & x != 0, m & s != 0) {
        (true, true) => lower,
        (false, true) => upper,
        (true, false) => 'x',
        _ => '-',
    };
    format!(
        "{t}{}{}{}{}{}{}{}{}{}",
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    )
}

/// `ls -l` date column: recent files show the time, older ones the year.
pub fn ls_date(t: i64) -> String {
    let now = now();
    let Ok(dt) = time::OffsetDateTime::from_unix_timestamp(t) else {
        return "Jan  1  1970".into();
    };
    let month = &dt.month().to_string()[..3];
    if (now - t).abs() < 182 * 86_400 {
        format!(
            "{month} {:>2} {:02}:{:02}",
            dt.day(),
            dt.hour(),
            dt.minute()
        )
    } else {
        format!("{month} {:>2}  {}", dt.day(), dt.year())
    }
}

/// GNU's `-h` sizes: one decimal under 10, rounded up.
pub fn human(bytes: u64) -> String {
    let units = ["K", "M", "G", "T", "P"];
    if bytes < 1024 {
        return bytes.to_string();
    }
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() {
        v /= 1024.0;
        u += 1;
    }
    let unit = units[u.saturating_sub(1)];
    if v < 10.0 {
        let r = (v * 10.0).ceil() / 10.0;
        if r >= 10.0 {
            format!("{r:.0}{unit}")
        } else {
            format!("{r:.1}{unit}")
        }
    } else {
        format!("{:.0}{unit}", v.ceil())
    }
}

pub(crate) fn blocks(n: &Node) -> u64 {
    match n.kind {
        Kind::Dir => 4,
        Kind::File => n.size().div_ceil(4096) * 4,
        _ => 0,
    }
}

fn columns(names: &[String], width: usize) -> String {
    if names.is_empty() {
        return String::new();
    }
    let lens: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    let mut best = (
        1,
        names.len(),
        vec![lens.iter().copied().max().unwrap_or(0)],
    );
    for cols in (1..=names.len().min(width / 3 + 1)).rev() {
        let rows = names.len().div_ceil(cols);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                (0..rows)
                    .filter_map(|r| lens.get(c * rows + r))
                    .copied()
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        if widths.contains(&0) {
            continue;
        }
        let total: usize = widths.iter().map(|w| w + 2).sum::<usize>() - 2;
        if total < width {
            best = (cols, rows, widths);
            break;
        }
    }
    let (cols, rows, widths) = best;
    let mut out = String::new();
    for r in 0..rows {
        let mut line = String::new();
        for (c, w) in widths.iter().enumerate().take(cols) {
            let i = c * rows + r;
            let Some(name) = names.get(i) else { break };
            line.push_str(name);
            if c + 1 < cols && names.get((c + 1) * rows + r).is_some() {
                line.extend(std::iter::repeat_n(' ', w + 2 - lens[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `ls [-lahAdtrS1] [PATH…]`.
pub fn ls(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let long = a.has('l') || a.has('n') || a.has('g') || a.has('o');
    let all = a.has('a');
    let almost = a.has('A');
    let tty = ctx.out_tty && sh.opts.pty.is_some();
    let width = sh.opts.pty.as_ref().map_or(80, |p| p.cols.max(20) as usize);
    let ops = if a.ops.is_empty() {
        vec![".".to_owned()]
    } else {
        a.ops.clone()
    };
    let mut st = 0;
    let mut files: Vec<(String, Node)> = Vec::new();
    let mut dirs: Vec<(String, String)> = Vec::new();
    for op in &ops {
        match sh.vfs.stat(&sh.cwd, op, !long || op.ends_with('/')) {
            Ok((p, n)) if n.is_dir() && !a.has('d') => dirs.push((op.clone(), p)),
            Ok((_, n)) => files.push((op.clone(), n.clone())),
            Err(FsError::NotFound) if long => match sh.vfs.stat(&sh.cwd, op, false) {
                Ok((_, n)) => files.push((op.clone(), n.clone())),
                Err(e) => {
                    ctx.eprint(format!("ls: cannot access '{op}': {e}\n"));
                    st = 2;
                }
            },
            Err(e) => {
                ctx.eprint(format!("ls: cannot access '{op}': {e}\n"));
                st = 2;
            }
        }
    }
    let sort = |v: &mut Vec<(String, Node)>| {
        if a.has('t') {
            v.sort_by(|x, y| y.1.mtime.cmp(&x.1.mtime).then(x.0.cmp(&y.0)));
        } else if a.has('S') {
            v.sort_by(|x, y| y.1.size().cmp(&x.1.size()).then(x.0.cmp(&y.0)));
        } else {
            v.sort_by(|x, y| {
                let k = |s: &str| s.trim_start_matches('.').to_lowercase();
                k(&x.0).cmp(&k(&y.0)).then(x.0.cmp(&y.0))
            });
        }
        if a.has('r') {
            v.reverse();
        }
    };
    let render = |sh: &Shell, entries: &[(String, Node)], dir: Option<&str>, out: &mut String| {
        if long {
            if dir.is_some() {
                let total: u64 = entries.iter().map(|(_, n)| blocks(n)).sum();
                out.push_str(&format!(
                    "total {}\n",
                    if a.has('h') {
                        human(total * 1024)
                    } else {
                        total.to_string()
                    }
                ));
            }
            let rows: Vec<[String; 6]> = entries
                .iter()
                .map(|(name, n)| {
                    let owner = if a.has('n') {
                        n.uid.to_string()
                    } else {
                        sh.host.user_name(n.uid)
                    };
                    let group = if a.has('n') {
                        n.gid.to_string()
                    } else {
                        sh.host.group_name(n.gid)
                    };
                    let links = if n.is_dir() {
                        let path = dir
                            .map(|d| normalize(d, name))
                            .unwrap_or_else(|| normalize(&sh.cwd, name));
                        2 + sh
                            .vfs
                            .list(&path)
                            .iter()
                            .filter(|(_, c)| c.is_dir())
                            .count()
                    } else {
                        1
                    };
                    let size = if a.has('h') {
                        human(n.size())
                    } else {
                        n.size().to_string()
                    };
                    let mut shown = name.clone();
                    if let Kind::Symlink(t) = &n.kind {
                        shown.push_str(" -> ");
                        shown.push_str(t);
                    }
                    [
                        mode_string(n),
                        links.to_string(),
                        owner,
                        group,
                        size,
                        format!("{} {shown}", ls_date(n.mtime)),
                    ]
                })
                .collect();
            let w = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
            let (w1, w2, w3, w4) = (w(1), w(2), w(3), w(4));
            for r in rows {
                let mut line = format!("{} {:>w1$} ", r[0], r[1]);
                if !a.has('g') {
                    line.push_str(&format!("{:<w2$} ", r[2]));
                }
                if !a.has('o') {
                    line.push_str(&format!("{:<w3$} ", r[3]));
                }
                line.push_str(&format!("{:>w4$} {}\n", r[4], r[5]));
                out.push_str(&line);
            }
        } else {
            let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
            if tty && !a.has('1') {
                out.push_str(&columns(&names, width));
            } else {
                for n in names {
                    out.push_str(&n);
                    out.push('\n');
                }
            }
        }
    };
    let mut out = String::new();
    sort(&mut files);
    render(sh, &files, None, &mut out);
    let headers = ops.len() > 1;
    for (i, (shown, path)) in dirs.iter().enumerate() {
        let node = sh.vfs.get(path).cloned();
        if node.is_some_and(|n| !sh.cred.may(&n, Access::Read)) {
            ctx.print(std::mem::take(&mut out));
            ctx.eprint(format!(
                "ls: cannot open directory '{shown}': Permission denied\n"
            ));
            st = 2;
            continue;
        }
        let mut entries: Vec<(String, Node)> = sh
            .vfs
            .list(path)
            .into_iter()
            .filter(|(n, _)| all || almost || !n.starts_with('.'))
            .map(|(n, node)| (n, node.clone()))
            .collect();
        if all {
            if let Some(me) = sh.vfs.get(path) {
                entries.push((".".into(), me.clone()));
            }
            if let Some(up) = sh.vfs.get(split(path).0) {
                entries.push(("..".into(), up.clone()));
            }
        }
        sort(&mut entries);
        if headers {
            if !out.is_empty() || i > 0 || !files.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{shown}:\n"));
        }
        render(sh, &entries, Some(path), &mut out);
    }
    ctx.print(out);
    st
}
