//! Text tools (`echo`, `printf`, `cat`, `grep`, `wc`, `head`, `tail`) with GNU wording for errors.

use super::args;
use crate::shell::Shell;
use crate::shell::exec::Ctx;

/// Inputs of a filter: the named files (or stdin), reporting errors as `prog: f: err`.
pub(crate) fn inputs(
    sh: &Shell,
    ctx: &mut Ctx,
    prog: &str,
    files: &[String],
) -> (Vec<(String, Vec<u8>)>, i32) {
    if files.is_empty() || files == ["-"] {
        return (
            vec![("(standard input)".into(), std::mem::take(&mut ctx.stdin))],
            0,
        );
    }
    let mut out = Vec::new();
    let mut st = 0;
    for f in files {
        if f == "-" {
            out.push(("(standard input)".into(), std::mem::take(&mut ctx.stdin)));
            continue;
        }
        match sh.read_file(f) {
            Ok(b) => out.push((f.clone(), b)),
            Err(e) => {
                ctx.eprint(format!("{prog}: {f}: {e}\n"));
                st = if prog == "grep" { 2 } else { 1 };
            }
        }
    }
    (out, st)
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'e' => out.push(0x1b),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex: String = s[i + 1..]
                    .chars()
                    .take(2)
                    .take_while(char::is_ascii_hexdigit)
                    .collect();
                if hex.is_empty() {
                    out.extend_from_slice(b"\\x");
                } else {
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or(0));
                    i += hex.len();
                }
            }
            b'0' => {
                let oct: String = s[i + 1..]
                    .chars()
                    .take(3)
                    .take_while(|c| ('0'..='7').contains(c))
                    .collect();
                out.push(
                    u8::from_str_radix(if oct.is_empty() { "0" } else { &oct }, 8).unwrap_or(0),
                );
                i += oct.len();
            }
            b'c' => return out,
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
        i += 1;
    }
    out
}

/// `echo [-neE] ARGS…`.
pub fn echo(_sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "neE".contains(c)) {
            for c in a[1..].chars() {
                match c {
                    'n' => newline = false,
                    'e' => escapes = true,
                    _ => escapes = false,
                }
            }
            i += 1;
        } else {
            break;
        }
    }
    let text = argv[i.min(argv.len())..].join(" ");
    if escapes {
        ctx.print(unescape(&text));
    } else {
        ctx.print(text);
    }
    if newline {
        ctx.print("\n");
    }
    0
}

/// `printf FORMAT ARGS…` (`%s`, `%d`, `%x`, `%%`, escapes).
pub fn printf(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let Some(fmt) = argv.get(1) else {
        ctx.eprint(format!(
            "{}printf: usage: printf [-v var] format [arguments]\n",
            sh.err_prefix()
        ));
        return 2;
    };
    let fmt = unescape(fmt);
    let mut args = argv.iter().skip(2);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < fmt.len() {
            if fmt[i] == b'%' && i + 1 < fmt.len() {
                let mut j = i + 1;
                while j < fmt.len() && b"-0123456789.".contains(&fmt[j]) {
                    j += 1;
                }
                let conv = fmt.get(j).copied().unwrap_or(b's');
                let arg = if conv == b'%' { None } else { args.next() };
                match conv {
                    b'%' => out.push(b'%'),
                    b'd' | b'i' => out.extend_from_slice(
                        arg.and_then(|a| a.parse::<i64>().ok())
                            .unwrap_or(0)
                            .to_string()
                            .as_bytes(),
                    ),
                    b'x' => out.extend_from_slice(
                        format!("{:x}", arg.and_then(|a| a.parse::<i64>().ok()).unwrap_or(0))
                            .as_bytes(),
                    ),
                    b'b' => out.extend_from_slice(&unescape(arg.map_or("", String::as_str))),
                    _ => out.extend_from_slice(arg.map_or("", String::as_str).as_bytes()),
                }
                i = j + 1;
            } else {
                out.push(fmt[i]);
                i += 1;
            }
        }
        if args.len() == 0 || !fmt.contains(&b'%') {
            break;
        }
        i = 0;
    }
    ctx.print(out);
    0
}

/// `cat [FILE…]`.
pub fn cat(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let (ins, st) = inputs(sh, ctx, "cat", &a.ops);
    for (_, b) in ins {
        if a.has('n') {
            for (i, l) in String::from_utf8_lossy(&b).lines().enumerate() {
                ctx.print(format!("{:>6}\t{l}\n", i + 1));
            }
        } else {
            ctx.print(b);
        }
    }
    st
}

/// `grep [-ivcnElwqo] [-e] PATTERN [FILE…]` with fixed strings and `^`/`$` anchors.
pub fn grep(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let mut flags = Vec::new();
    let mut pat = None;
    let mut files = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "-e" {
            pat = it.next().cloned();
        } else if a.starts_with("--") {
            if a == "--color=auto" || a == "--colour=auto" {
                continue;
            }
        } else if a.starts_with('-') && a.len() > 1 && pat.is_none() {
            flags.extend(a.chars().skip(1));
        } else if pat.is_none() {
            pat = Some(a.clone());
        } else {
            files.push(a.clone());
        }
    }
    let Some(pat) = pat else {
        ctx.eprint(
            "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n",
        );
        return 2;
    };
    let icase = flags.contains(&'i');
    let p = if icase {
        pat.to_lowercase()
    } else {
        pat.clone()
    };
    let (start, end) = (p.starts_with('^'), p.ends_with('$') && !p.ends_with("\\$"));
    let core = p
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace("\\.", ".");
    let alts: Vec<String> = if flags.contains(&'E') || p.contains("\\|") {
        core.split(['|'])
            .map(|s| s.trim_end_matches('\\').to_owned())
            .collect()
    } else {
        vec![core]
    };
    let many = files.len() > 1;
    let (ins, mut st) = inputs(sh, ctx, "grep", &files);
    let mut any = false;
    for (name, body) in ins {
        let mut count = 0;
        for (n, line) in String::from_utf8_lossy(&body).lines().enumerate() {
            let l = if icase {
                line.to_lowercase()
            } else {
                line.to_owned()
            };
            let hit = alts.iter().any(|a| match (start, end) {
                (true, true) => l == *a,
                (true, false) => l.starts_with(a.as_str()),
                (false, true) => l.ends_with(a.as_str()),
                _ => l.contains(a.as_str()),
            });
            if hit == flags.contains(&'v') {
                continue;
            }
            count += 1;
            any = true;
            if flags.contains(&'q') || flags.contains(&'c') || flags.contains(&'l') {
                continue;
            }
            let prefix = if many {
                format!("{name}:")
            } else {
                String::new()
            };
            let num = if flags.contains(&'n') {
                format!("{}:", n + 1)
            } else {
                String::new()
            };
            ctx.print(format!("{prefix}{num}{line}\n"));
        }
        if flags.contains(&'c') {
            ctx.print(if many {
                format!("{name}:{count}\n")
            } else {
                format!("{count}\n")
            });
        } else if flags.contains(&'l') && count > 0 {
            ctx.print(format!("{name}\n"));
        }
    }
    if st == 0 {
        st = if any { 0 } else { 1 };
    }
    st
}

/// `wc [-lwc] [FILE…]`.
pub fn wc(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let a = args(argv);
    let (ins, st) = inputs(sh, ctx, "wc", &a.ops);
    let all = !a.has('l') && !a.has('w') && !a.has('c') && !a.has('m');
    let stdin_only = a.ops.is_empty();
    let mut totals = [0usize; 3];
    let rows: Vec<([usize; 3], String)> = ins
        .iter()
        .map(|(n, b)| {
            let c = [
                b.iter().filter(|&&x| x == b'\n').count(),
                String::from_utf8_lossy(b).split_whitespace().count(),
                b.len(),
            ];
            for i in 0..3 {
                totals[i] += c[i];
            }
            (c, if stdin_only { String::new() } else { n.clone() })
        })
        .collect();
    let single =
        (a.has('l') as u8 + a.has('w') as u8 + (a.has('c') || a.has('m')) as u8) == 1 && stdin_only;
    let width = if single {
        0
    } else if stdin_only {
        7
    } else {
        totals[2].to_string().len().max(1)
    };
    let emit = |c: &[usize; 3], name: &str, ctx: &mut Ctx| {
        let mut cols = Vec::new();
        if all || a.has('l') {
            cols.push(format!("{:>width$}", c[0]));
        }
        if all || a.has('w') {
            cols.push(format!("{:>width$}", c[1]));
        }
        if all || a.has('c') || a.has('m') {
            cols.push(format!("{:>width$}", c[2]));
        }
        let mut line = cols.join(" ");
        if !name.is_empty() {
            line.push(' ');
            line.push_str(name);
        }
        ctx.print(format!("{line}\n"));
    };
    for (c, n) in &rows {
        emit(c, n, ctx);
    }
    if rows.len() > 1 {
        emit(&totals, "total", ctx);
    }
    st
}

/// Parses `-n N`, `-nN`, `-N` counts of head/tail.
fn count_arg(argv: &[String], default: usize) -> (usize, bool, Vec<String>) {
    let mut n = default;
    let mut from_start = false;
    let mut files = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "-n" || a == "-c" {
            if let Some(v) = it.next() {
                from_start = v.starts_with('+');
                n = v.trim_start_matches(['+', '-']).parse().unwrap_or(default);
            }
        } else if let Some(v) = a.strip_prefix("-n") {
            from_start = v.starts_with('+');
            n = v.trim_start_matches(['+', '-']).parse().unwrap_or(default);
        } else if a.len() > 1 && a.starts_with('-') && a[1..].bytes().all(|b| b.is_ascii_digit()) {
            n = a[1..].parse().unwrap_or(default);
        } else if !a.starts_with('-') || a == "-" {
            files.push(a.clone());
        }
    }
    (n, from_start, files)
}

/// `head [-n N] [FILE…]`.
pub fn head(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let (n, _, files) = count_arg(argv, 10);
    let (ins, st) = inputs(sh, ctx, "head", &files);
    let many = ins.len() > 1;
    for (i, (name, b)) in ins.iter().enumerate() {
        if many {
            ctx.print(format!("{}==> {name} <==\n", if i > 0 { "\n" } else { "" }));
        }
        for l in b.split_inclusive(|&c| c == b'\n').take(n) {
            ctx.print(l);
        }
    }
    st
}

/// `tail [-n [+]N] [FILE…]`.
pub fn tail(sh: &mut Shell, ctx: &mut Ctx, argv: &[String]) -> i32 {
    let (n, from_start, files) = count_arg(argv, 10);
    let (ins, st) = inputs(sh, ctx, "tail", &files);
    for (_, b) in ins {
        let lines: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
        let skip = if from_start {
            n.saturating_sub(1)
        } else {
            lines.len().saturating_sub(n)
        };
        for l in &lines[skip.min(lines.len())..] {
            ctx.print(l);
        }
    }
    st
}
