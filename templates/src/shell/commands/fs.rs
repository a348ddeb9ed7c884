//! File commands (GNU coreutils 9 wording and formats).

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
        format!("{month} {:>2} {:02}:{:02}", dt.day(), dt.hour(), dt.minute())
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
        if r >= 10.0 { format!("{r:.0}{unit}") } else { format!("{r:.1}{unit}") }
    } else {
        format!("{:.0}{unit}", v.ceil())
    }
}

fn blocks(n: &Node) -> u64 {
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
    let mut best = (1, names.len(), vec![lens.iter().copied().max().unwrap_or(0)]);
    for cols in (1..=names.len().min(width / 3 + 1)).rev() {
        let rows = names.len().div_ceil(cols);
        let widths: Vec<usize> = (0..cols)
            .map(|c| (0..rows).filter_map(|r| lens.get(c * rows + r)).copied().max().unwrap_or(0))
            .collect();
        if widths.iter().any(|w| *w == 0) {
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
        for c in 0..cols {
            let i = c * rows + r;
            let Some(name) = names.get(i) else { break };
            line.push_str(name);
            if c + 1 < cols && names.get((c + 1) * rows + r).is_some() {
                line.extend(std::iter::repeat_n(' ', widths[c] + 2 - lens[i]));
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
    let ops = if a.ops.is_empty() { vec![".".to_owned()] } else { a.ops.clone() };
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
                out.push_str(&format!("total {}\n", if a.has('h') { human(total * 1024) } else { total.to_string() }));
            }
            let rows: Vec<[String; 6]> = entries
                .iter()
                .map(|(name, n)| {
                    let owner = if a.has('n') { n.uid.to_string() } else { sh.host.user_name(n.uid) };
                    let group = if a.has('n') { n.gid.to_string() } else { sh.host.group_name(n.gid) };
                    let links = if n.is_dir() {
                        let path = dir.map(|d| normalize(d, name)).unwrap_or_else(|| normalize(&sh.cwd, name));
                        2 + sh.vfs.list(&path).iter().filter(|(_, c)| c.is_dir()).count()
                    } else {
                        1
                    };
                    let size = if a.has('h') { human(n.size()) } else { n.size().to_string() };
                    let mut shown = name.clone();
                    if let Kind::Symlink(t) = &n.kind {
                        shown.push_str(" -> ");
                        shown.push_str(t);
                    }
                    [mode_string(n), links.to_string(), owner, group, size, format!("{} {shown}", ls_date(n.mtime))]
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
            ctx.eprint(format!("ls: cannot open directory '{shown}': Permission denied\n"));
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

/// `mkdir [-p] DIR…`.
pub fn mkdir(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    if a.ops.is_empty() {
        ctx.eprint("mkdir: missing operand\nTry 'mkdir --help' for more information.\n");
        return 1;
    }
    let mut st = 0;
    for d in &a.ops {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        if a.has('p') {
            let full = normalize(&cwd, d);
            let mut cur = String::new();
            for comp in full.split('/').filter(|c| !c.is_empty()) {
                cur = format!("{cur}/{comp}");
                match sh.vfs.mkdir("/", &cur, &cred, now()) {
                    Ok(_) | Err(FsError::Exists) => {}
                    Err(e) => {
                        ctx.eprint(format!("mkdir: cannot create directory ‘{d}’: {e}\n"));
                        st = 1;
                        break;
                    }
                }
            }
        } else if let Err(e) = sh.vfs.mkdir(&cwd, d, &cred, now()) {
            ctx.eprint(format!("mkdir: cannot create directory ‘{d}’: {e}\n"));
            st = 1;
        }
    }
    st
}

/// `rmdir DIR…`.
pub fn rmdir(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let mut st = 0;
    for d in &a.ops {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        let r = match sh.vfs.stat(&cwd, d, false) {
            Ok((_, n)) if !n.is_dir() => Err(FsError::NotDir),
            Ok(_) => sh.vfs.remove(&cwd, d, false, true, &cred),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            ctx.eprint(format!("rmdir: failed to remove '{d}': {e}\n"));
            st = 1;
        }
    }
    st
}

/// `rm [-rfi] PATH…`.
pub fn rm(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let force = a.has('f');
    let recursive = a.has('r') || a.has('R') || a.long("recursive");
    if a.ops.is_empty() && !force {
        ctx.eprint("rm: missing operand\nTry 'rm --help' for more information.\n");
        return 1;
    }
    let mut st = 0;
    for p in &a.ops {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        if normalize(&cwd, p) == "/" && recursive {
            ctx.eprint("rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n");
            st = 1;
            continue;
        }
        match sh.vfs.remove(&cwd, p, recursive, recursive, &cred) {
            Ok(()) => {}
            Err(FsError::NotFound) if force => {}
            Err(e) => {
                ctx.eprint(format!("rm: cannot remove '{p}': {e}\n"));
                st = 1;
            }
        }
    }
    st
}

/// `touch FILE…`.
pub fn touch(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    if a.ops.is_empty() {
        ctx.eprint("touch: missing file operand\nTry 'touch --help' for more information.\n");
        return 1;
    }
    let mut st = 0;
    for f in &a.ops {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        if let Err(e) = sh.vfs.touch(&cwd, f, &cred, now()) {
            ctx.eprint(format!("touch: cannot touch '{f}': {e}\n"));
            st = 1;
        }
    }
    st
}

/// Applies a symbolic (`u+x,go-w`) or octal mode.
fn apply_mode(spec: &str, old: u32, is_dir: bool) -> Option<u32> {
    if !spec.is_empty() && spec.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return u32::from_str_radix(spec, 8).ok();
    }
    let mut m = old;
    for clause in spec.split(',') {
        let who_end = clause.find(['+', '-', '=']).unwrap_or(clause.len());
        let (who, rest) = clause.split_at(who_end);
        let mut mask = 0;
        for c in who.chars() {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            };
        }
        if who.is_empty() {
            mask = 0o7777 & !0o022;
        }
        let mut chars = rest.chars();
        let op = chars.next()?;
        let mut bits = 0;
        for c in chars {
            bits |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || old & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return None,
            };
        }
        let bits = bits & mask;
        m = match op {
            '+' => m | bits,
            '-' => m & !bits,
            _ => (m & !mask) | bits,
        };
    }
    Some(m)
}

/// `chmod [-R] MODE FILE…`.
pub fn chmod(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let rest: Vec<&String> = argv.iter().skip(1).filter(|a| !(a.starts_with('-') && a.len() > 1 && a[1..].chars().all(|c| c == 'R' || c == 'f' || c == 'v'))).collect();
    let Some((mode, files)) = rest.split_first() else {
        ctx.eprint("chmod: missing operand\nTry 'chmod --help' for more information.\n");
        return 1;
    };
    if files.is_empty() {
        ctx.eprint(format!("chmod: missing operand after ‘{mode}’\nTry 'chmod --help' for more information.\n"));
        return 1;
    }
    if apply_mode(mode, 0, false).is_none() {
        ctx.eprint(format!("chmod: invalid mode: ‘{mode}’\nTry 'chmod --help' for more information.\n"));
        return 1;
    }
    let mut st = 0;
    for f in files {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        let spec = mode.to_string();
        match sh.vfs.chmod(&cwd, f, |old, dir| apply_mode(&spec, old, dir).unwrap_or(old), &cred) {
            Ok(()) => {}
            Err(FsError::NotPermitted) => {
                ctx.eprint(format!("chmod: changing permissions of '{f}': Operation not permitted\n"));
                st = 1;
            }
            Err(e) => {
                ctx.eprint(format!("chmod: cannot access '{f}': {e}\n"));
                st = 1;
            }
        }
    }
    st
}

/// `chown OWNER[:GROUP] FILE…` (only root succeeds).
pub fn chown(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let Some((owner, files)) = a.ops.split_first() else {
        ctx.eprint("chown: missing operand\nTry 'chown --help' for more information.\n");
        return 1;
    };
    let mut st = 0;
    for f in files {
        match sh.vfs.stat(&sh.cwd, f, true) {
            Ok(_) if sh.user.uid == 0 => {}
            Ok(_) => {
                ctx.eprint(format!("chown: changing ownership of '{f}': Operation not permitted\n"));
                st = 1;
            }
            Err(e) => {
                ctx.eprint(format!("chown: cannot access '{f}': {e}\n"));
                st = 1;
            }
        }
    }
    let _ = owner;
    st
}

/// `cp [-r] SRC… DST`.
pub fn cp(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    if a.ops.len() < 2 {
        ctx.eprint(format!("cp: missing destination file operand after '{}'\nTry 'cp --help' for more information.\n", a.ops.first().cloned().unwrap_or_default()));
        return 1;
    }
    let (dst, srcs) = a.ops.split_last().map(|(d, s)| (d.clone(), s.to_vec())).unwrap_or_default();
    let mut st = 0;
    for s in srcs {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        match sh.vfs.stat(&cwd, &s, true) {
            Ok((_, n)) if n.is_dir() && !(a.has('r') || a.has('R') || a.has('a')) => {
                ctx.eprint(format!("cp: -r not specified; omitting directory '{s}'\n"));
                st = 1;
            }
            Ok((_, n)) if n.is_dir() => {
                let target = if sh.vfs.stat(&cwd, &dst, true).is_ok() { normalize(&normalize(&cwd, &dst), split(&normalize(&cwd, &s)).1) } else { normalize(&cwd, &dst) };
                let _ = sh.vfs.mkdir("/", &target, &cred, now());
            }
            Ok(_) => {
                let data = match sh.read_file(&s) {
                    Ok(d) => d,
                    Err(e) => {
                        ctx.eprint(format!("cp: cannot open '{s}' for reading: {e}\n"));
                        st = 1;
                        continue;
                    }
                };
                let target = match sh.vfs.stat(&cwd, &dst, true) {
                    Ok((p, n)) if n.is_dir() => normalize(&p, split(&normalize(&cwd, &s)).1),
                    _ => normalize(&cwd, &dst),
                };
                if let Err(e) = sh.vfs.write("/", &target, &data, false, &cred, now()) {
                    ctx.eprint(format!("cp: cannot create regular file '{dst}': {e}\n"));
                    st = 1;
                }
            }
            Err(e) => {
                ctx.eprint(format!("cp: cannot stat '{s}': {e}\n"));
                st = 1;
            }
        }
    }
    st
}

/// `mv SRC… DST`.
pub fn mv(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    if a.ops.len() < 2 {
        ctx.eprint(format!("mv: missing destination file operand after '{}'\nTry 'mv --help' for more information.\n", a.ops.first().cloned().unwrap_or_default()));
        return 1;
    }
    let (dst, srcs) = a.ops.split_last().map(|(d, s)| (d.clone(), s.to_vec())).unwrap_or_default();
    let mut st = 0;
    for s in srcs {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        match sh.vfs.rename(&cwd, &s, &dst, &cred) {
            Ok(()) => {}
            Err(FsError::NotFound) if sh.vfs.stat(&cwd, &s, false).is_err() => {
                ctx.eprint(format!("mv: cannot stat '{s}': No such file or directory\n"));
                st = 1;
            }
            Err(e) => {
                ctx.eprint(format!("mv: cannot move '{s}' to '{dst}': {e}\n"));
                st = 1;
            }
        }
    }
    st
}

/// `find [PATH] [-name PAT] [-type f|d] [-maxdepth N]`.
pub fn find(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut roots = Vec::new();
    let mut name = None;
    let mut kind = None;
    let mut maxdepth = usize::MAX;
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-name" | "-iname" => name = it.next().cloned(),
            "-type" => kind = it.next().cloned(),
            "-maxdepth" => maxdepth = it.next().and_then(|v| v.parse().ok()).unwrap_or(usize::MAX),
            s if s.starts_with('-') => {
                it.next();
            }
            _ => roots.push(a.clone()),
        }
    }
    if roots.is_empty() {
        roots.push(".".into());
    }
    let mut st = 0;
    let mut count = 0;
    for root in roots {
        let Ok((canon, _)) = sh.vfs.stat(&sh.cwd, &root, true) else {
            ctx.eprint(format!("find: ‘{root}’: No such file or directory\n"));
            st = 1;
            continue;
        };
        let mut stack = vec![(root.clone(), canon, 0usize)];
        while let Some((shown, path, depth)) = stack.pop() {
            count += 1;
            if count > 20_000 || path.starts_with("/proc") && depth > 0 {
                continue;
            }
            let Some(node) = sh.vfs.get(&path).cloned() else { continue };
            let base = split(&shown).1.to_owned();
            let name_ok = name.as_ref().is_none_or(|p| {
                let pc: Vec<char> = p.chars().collect();
                crate::shell::expand::glob_match(&pc, &vec![true; pc.len()], &base.chars().collect::<Vec<_>>())
            });
            let kind_ok = match kind.as_deref() {
                Some("f") => node.kind == Kind::File,
                Some("d") => node.is_dir(),
                Some("l") => matches!(node.kind, Kind::Symlink(_)),
                _ => true,
            };
            if name_ok && kind_ok {
                ctx.print(format!("{shown}\n"));
            }
            if node.is_dir() && depth < maxdepth {
                if !sh.cred.may(&node, Access::Read) {
                    ctx.eprint(format!("find: ‘{shown}’: Permission denied\n"));
                    st = 1;
                    continue;
                }
                let mut kids: Vec<(String, String)> = sh
                    .vfs
                    .list(&path)
                    .into_iter()
                    .map(|(n, _)| (if shown.ends_with('/') { format!("{shown}{n}") } else { format!("{shown}/{n}") }, if path == "/" { format!("/{n}") } else { format!("{path}/{n}") }))
                    .collect();
                kids.reverse();
                for (s, p) in kids {
                    stack.push((s, p, depth + 1));
                }
            }
        }
    }
    st
}

/// `du [-sh] [PATH…]`.
pub fn du(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let ops = if a.ops.is_empty() { vec![".".to_owned()] } else { a.ops.clone() };
    let mut st = 0;
    for op in ops {
        match sh.vfs.stat(&sh.cwd, &op, true) {
            Ok((p, n)) => {
                let mut total = blocks(n);
                let mut stack = vec![p];
                let mut seen = 0;
                while let Some(d) = stack.pop() {
                    seen += 1;
                    if seen > 20_000 {
                        break;
                    }
                    for (name, c) in sh.vfs.list(&d) {
                        total += blocks(c);
                        if c.is_dir() {
                            stack.push(if d == "/" { format!("/{name}") } else { format!("{d}/{name}") });
                        }
                    }
                }
                let size = if a.has('h') { human(total * 1024) } else { total.to_string() };
                ctx.print(format!("{size}\t{op}\n"));
            }
            Err(e) => {
                ctx.eprint(format!("du: cannot access '{op}': {e}\n"));
                st = 1;
            }
        }
    }
    st
}

/// `file PATH…`.
pub fn file(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    for f in &a.ops {
        let desc = match sh.vfs.stat(&sh.cwd, f, true) {
            Ok((_, n)) if n.is_dir() => "directory".to_owned(),
            Ok(_) => match sh.read_file(f) {
                Ok(b) if b.starts_with(b"\x7fELF") && b.get(18) == Some(&0x3e) => "ELF 64-bit LSB pie executable, x86-64, version 1 (SYSV), dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2, for GNU/Linux 3.2.0, stripped".to_owned(),
                Ok(b) if b.starts_with(b"\x7fELF") => "ELF 32-bit LSB executable, ARM, EABI5 version 1 (SYSV), statically linked, stripped".to_owned(),
                Ok(b) if b.starts_with(b"#!") => "POSIX shell script, ASCII text executable".to_owned(),
                Ok(b) if b.is_empty() => "empty".to_owned(),
                Ok(b) if std::str::from_utf8(&b).is_ok() => "ASCII text".to_owned(),
                Ok(_) => "data".to_owned(),
                Err(e) => format!("cannot open `{f}' ({e})"),
            },
            Err(e) => format!("cannot open `{f}' ({e})"),
        };
        ctx.print(format!("{f}: {desc}\n"));
    }
    0
}
