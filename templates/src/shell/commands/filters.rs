//! Filters (coreutils and mawk subsets) for pipelines bots build:
//! `cut`, `sort`, `uniq`, `tr`, `awk`, `base64`, `tee`, `seq`, `xargs`.

use base64::Engine as _;

use super::args;
use super::text::inputs;
use crate::shell::Shell;
use crate::shell::exec::Ctx;

/// `cut -d D -f LIST | -c LIST [FILE…]`.
pub fn cut(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut delim = '\t';
    let mut fields = None;
    let mut chars = None;
    let mut files = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let mut take = |flag: &str| {
            a.strip_prefix(flag)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .or_else(|| if a == flag { it.next().cloned() } else { None })
        };
        if a.starts_with("-d") {
            delim = take("-d").and_then(|s| s.chars().next()).unwrap_or('\t');
        } else if a.starts_with("-f") {
            fields = take("-f");
        } else if a.starts_with("-c") {
            chars = take("-c");
        } else {
            files.push(a.clone());
        }
    }
    let spec = match (fields.as_ref(), chars.as_ref()) {
        (Some(f), _) | (None, Some(f)) => f.clone(),
        _ => {
            ctx.eprint("cut: you must specify a list of bytes, characters, or fields\nTry 'cut --help' for more information.\n");
            return 1;
        }
    };
    let want = |i: usize| {
        spec.split(',').any(|r| match r.split_once('-') {
            Some((a, b)) => {
                let a = a.parse().unwrap_or(1);
                let b = b.parse().unwrap_or(usize::MAX);
                (a..=b).contains(&i)
            }
            None => r.parse() == Ok(i),
        })
    };
    let (ins, st) = inputs(sh, ctx, "cut", &files);
    for (_, b) in ins {
        for line in String::from_utf8_lossy(&b).lines() {
            let out: String = if fields.is_some() {
                if !line.contains(delim) {
                    line.to_owned()
                } else {
                    line.split(delim)
                        .enumerate()
                        .filter(|(i, _)| want(i + 1))
                        .map(|(_, s)| s)
                        .collect::<Vec<_>>()
                        .join(&delim.to_string())
                }
            } else {
                line.chars()
                    .enumerate()
                    .filter(|(i, _)| want(i + 1))
                    .map(|(_, c)| c)
                    .collect()
            };
            ctx.print(format!("{out}\n"));
        }
    }
    st
}

/// `sort [-rnu] [FILE…]`.
pub fn sort(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let (ins, st) = inputs(sh, ctx, "sort", &a.ops);
    let mut lines: Vec<String> = ins
        .iter()
        .flat_map(|(_, b)| {
            String::from_utf8_lossy(b)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    if a.has('n') {
        let key = |s: &str| {
            s.trim()
                .split(|c: char| !c.is_ascii_digit() && c != '-' && c != '.')
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        lines.sort_by(|x, y| key(x).total_cmp(&key(y)));
    } else {
        lines.sort();
    }
    if a.has('r') {
        lines.reverse();
    }
    if a.has('u') {
        lines.dedup();
    }
    for l in lines {
        ctx.print(format!("{l}\n"));
    }
    st
}

/// `uniq [-c] [FILE]`.
pub fn uniq(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let (ins, st) = inputs(sh, ctx, "uniq", &a.ops);
    let mut prev: Option<(String, usize)> = None;
    let flush = |p: Option<(String, usize)>, ctx: &mut Ctx| {
        if let Some((l, n)) = p {
            if a.has('c') {
                ctx.print(format!("{n:>7} {l}\n"));
            } else {
                ctx.print(format!("{l}\n"));
            }
        }
    };
    for (_, b) in ins {
        for l in String::from_utf8_lossy(&b).lines() {
            match prev.as_mut() {
                Some((p, n)) if p == l => *n += 1,
                _ => flush(prev.replace((l.to_owned(), 1)), ctx),
            }
        }
    }
    flush(prev, ctx);
    st
}

/// `tr [-d] SET1 [SET2]` (literal sets and `a-z` ranges).
pub fn tr(_sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let expand = |s: &str| -> Vec<char> {
        let c: Vec<char> = s.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            if i + 2 < c.len() && c[i + 1] == '-' && c[i] <= c[i + 2] {
                out.extend(c[i]..=c[i + 2]);
                i += 3;
            } else {
                out.push(c[i]);
                i += 1;
            }
        }
        out
    };
    let Some(s1) = a.ops.first().map(|s| expand(s)) else {
        ctx.eprint("tr: missing operand\nTry 'tr --help' for more information.\n");
        return 1;
    };
    let s2 = a.ops.get(1).map(|s| expand(s)).unwrap_or_default();
    let input = String::from_utf8_lossy(&std::mem::take(&mut ctx.stdin)).into_owned();
    let out: String = input
        .chars()
        .filter_map(|ch| match s1.iter().position(|&x| x == ch) {
            Some(_) if a.has('d') => None,
            Some(i) => Some(*s2.get(i).or(s2.last()).unwrap_or(&ch)),
            None => Some(ch),
        })
        .collect();
    ctx.print(out);
    0
}

/// `awk` subset: `[-F SEP] '[COND] {print …}'` with `$N`, `NF`, `NR`/`FNR ==`, `/re/`.
pub fn awk(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut sep: Option<String> = None;
    let mut prog = None;
    let mut files = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if let Some(f) = a.strip_prefix("-F") {
            sep = Some(if f.is_empty() {
                it.next().cloned().unwrap_or_default()
            } else {
                f.to_owned()
            });
        } else if prog.is_none() {
            prog = Some(a.clone());
        } else {
            files.push(a.clone());
        }
    }
    let Some(prog) = prog else {
        ctx.eprint("usage: awk [-F value] [-v var=value] [--] 'program text' [file ...]\n");
        return 2;
    };
    let (cond, action) = match prog.find('{') {
        Some(i) => (
            prog[..i].trim().to_owned(),
            prog[i + 1..]
                .trim_end()
                .trim_end_matches('}')
                .trim()
                .trim_end_matches(';')
                .to_owned(),
        ),
        None => (prog.trim().to_owned(), "print".to_owned()),
    };
    let (ins, st) = inputs(sh, ctx, "awk", &files);
    let mut nr = 0usize;
    for (_, b) in ins {
        for line in String::from_utf8_lossy(&b).lines() {
            nr += 1;
            let fields: Vec<&str> = match &sep {
                Some(s) if !s.is_empty() && s != " " => line.split(s.as_str()).collect(),
                _ => line.split_whitespace().collect(),
            };
            let ok = if cond.is_empty() {
                true
            } else if let Some(re) = cond.strip_prefix('/').and_then(|c| c.strip_suffix('/')) {
                line.contains(re)
            } else if let Some((lhs, rhs)) = cond.split_once("==") {
                let lhs = lhs.trim();
                let rhs: usize = rhs.trim().parse().unwrap_or(0);
                (lhs == "NR" || lhs == "FNR") && nr == rhs
            } else {
                true
            };
            if !ok {
                continue;
            }
            let Some(items) = action.strip_prefix("print") else {
                continue;
            };
            let items = items.trim();
            if items.is_empty() || items == "$0" {
                ctx.print(format!("{line}\n"));
                continue;
            }
            let parts: Vec<String> = items
                .split(',')
                .map(|tok| {
                    tok.split_whitespace()
                        .map(|t| {
                            let t = t.trim();
                            if let Some(n) = t.strip_prefix('$') {
                                match n {
                                    "0" => line.to_owned(),
                                    "NF" => fields.last().copied().unwrap_or("").to_owned(),
                                    n => n
                                        .parse::<usize>()
                                        .ok()
                                        .and_then(|i| fields.get(i.wrapping_sub(1)))
                                        .copied()
                                        .unwrap_or("")
                                        .to_owned(),
                                }
                            } else if t == "NF" {
                                fields.len().to_string()
                            } else if t == "NR" || t == "FNR" {
                                nr.to_string()
                            } else {
                                t.trim_matches('"').to_owned()
                            }
                        })
                        .collect::<String>()
                })
                .collect();
            ctx.print(format!("{}\n", parts.join(" ")));
        }
    }
    st
}

/// `base64 [-d] [FILE]`.
pub fn base64(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let (ins, st) = inputs(sh, ctx, "base64", &a.ops);
    let data: Vec<u8> = ins.into_iter().flat_map(|(_, b)| b).collect();
    if a.has('d') || a.long("decode") {
        let clean: Vec<u8> = data
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(&clean) {
            Ok(b) => ctx.print(b),
            Err(_) => {
                ctx.eprint("base64: invalid input\n");
                return 1;
            }
        }
    } else {
        let enc = base64::engine::general_purpose::STANDARD.encode(&data);
        for chunk in enc.as_bytes().chunks(76) {
            ctx.print(chunk);
            ctx.print("\n");
        }
    }
    st
}

/// `tee [-a] FILE…`.
pub fn tee(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let data = std::mem::take(&mut ctx.stdin);
    let mut st = 0;
    for f in &a.ops {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        if let Err(e) = sh
            .vfs
            .write(&cwd, f, &data, a.has('a'), &cred, crate::shell::now())
        {
            ctx.eprint(format!("tee: {f}: {e}\n"));
            st = 1;
        }
    }
    ctx.print(data);
    st
}

/// `seq [FIRST] LAST`.
pub fn seq(_sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let nums: Vec<i64> = argv.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (first, step, last) = match nums.as_slice() {
        [l] => (1, 1, *l),
        [f, l] => (*f, 1, *l),
        [f, s, l] => (*f, *s, *l),
        _ => {
            ctx.eprint("seq: missing operand\nTry 'seq --help' for more information.\n");
            return 1;
        }
    };
    if step == 0 {
        return 1;
    }
    let mut i = first;
    let mut n = 0;
    while (step > 0 && i <= last || step < 0 && i >= last) && n < 100_000 {
        ctx.print(format!("{i}\n"));
        i += step;
        n += 1;
    }
    0
}

/// `xargs CMD…`: runs CMD with stdin's words appended.
pub fn xargs(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let input = String::from_utf8_lossy(&std::mem::take(&mut ctx.stdin)).into_owned();
    let mut cmd: Vec<String> = argv
        .iter()
        .skip(1)
        .skip_while(|a| a.starts_with('-'))
        .cloned()
        .collect();
    if cmd.is_empty() {
        cmd.push("echo".into());
    }
    cmd.extend(input.split_whitespace().take(4096).map(str::to_owned));
    sh.dispatch(&cmd, ctx)
}
