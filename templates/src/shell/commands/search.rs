//! Walking the tree: `find`, `du`, `file`.

use super::args;
use super::fs::{blocks, human};
use crate::shell::Shell;
use crate::shell::exec::Ctx;
use crate::shell::vfs::{Access, Kind, split};

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
            let Some(node) = sh.vfs.get(&path).cloned() else {
                continue;
            };
            let base = split(&shown).1.to_owned();
            let name_ok = name.as_ref().is_none_or(|p| {
                let pc: Vec<char> = p.chars().collect();
                crate::shell::expand::glob_match(
                    &pc,
                    &vec![true; pc.len()],
                    &base.chars().collect::<Vec<_>>(),
                )
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
                    .map(|(n, _)| {
                        (
                            if shown.ends_with('/') {
                                format!("{shown}{n}")
                            } else {
                                format!("{shown}/{n}")
                            },
                            if path == "/" {
                                format!("/{n}")
                            } else {
                                format!("{path}/{n}")
                            },
                        )
                    })
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
    let ops = if a.ops.is_empty() {
        vec![".".to_owned()]
    } else {
        a.ops.clone()
    };
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
                            stack.push(if d == "/" {
                                format!("/{name}")
                            } else {
                                format!("{d}/{name}")
                            });
                        }
                    }
                }
                let size = if a.has('h') {
                    human(total * 1024)
                } else {
                    total.to_string()
                };
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
