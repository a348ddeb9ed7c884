//! Changing the tree: `mkdir`, `rmdir`, `rm`, `touch`, `chmod`, `chown`, `cp`, `mv`.

use super::args;
use crate::shell::exec::Ctx;
use crate::shell::vfs::{FsError, normalize, split};
use crate::shell::{Shell, now};

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
    let rest: Vec<&String> = argv
        .iter()
        .skip(1)
        .filter(|a| {
            !(a.starts_with('-')
                && a.len() > 1
                && a[1..].chars().all(|c| c == 'R' || c == 'f' || c == 'v'))
        })
        .collect();
    let Some((mode, files)) = rest.split_first() else {
        ctx.eprint("chmod: missing operand\nTry 'chmod --help' for more information.\n");
        return 1;
    };
    if files.is_empty() {
        ctx.eprint(format!(
            "chmod: missing operand after ‘{mode}’\nTry 'chmod --help' for more information.\n"
        ));
        return 1;
    }
    if apply_mode(mode, 0, false).is_none() {
        ctx.eprint(format!(
            "chmod: invalid mode: ‘{mode}’\nTry 'chmod --help' for more information.\n"
        ));
        return 1;
    }
    let mut st = 0;
    for f in files {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        let spec = mode.to_string();
        match sh.vfs.chmod(
            &cwd,
            f,
            |old, dir| apply_mode(&spec, old, dir).unwrap_or(old),
            &cred,
        ) {
            Ok(()) => {}
            Err(FsError::NotPermitted) => {
                ctx.eprint(format!(
                    "chmod: changing permissions of '{f}': Operation not permitted\n"
                ));
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
                ctx.eprint(format!(
                    "chown: changing ownership of '{f}': Operation not permitted\n"
                ));
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
    let (dst, srcs) = a
        .ops
        .split_last()
        .map(|(d, s)| (d.clone(), s.to_vec()))
        .unwrap_or_default();
    let mut st = 0;
    for s in srcs {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        match sh.vfs.stat(&cwd, &s, true) {
            Ok((_, n)) if n.is_dir() && !(a.has('r') || a.has('R') || a.has('a')) => {
                ctx.eprint(format!("cp: -r not specified; omitting directory '{s}'\n"));
                st = 1;
            }
            Ok((_, n)) if n.is_dir() => {
                let target = if sh.vfs.stat(&cwd, &dst, true).is_ok() {
                    normalize(&normalize(&cwd, &dst), split(&normalize(&cwd, &s)).1)
                } else {
                    normalize(&cwd, &dst)
                };
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
    let (dst, srcs) = a
        .ops
        .split_last()
        .map(|(d, s)| (d.clone(), s.to_vec()))
        .unwrap_or_default();
    let mut st = 0;
    for s in srcs {
        let (cwd, cred) = (sh.cwd.clone(), sh.cred.clone());
        match sh.vfs.rename(&cwd, &s, &dst, &cred) {
            Ok(()) => {}
            Err(FsError::NotFound) if sh.vfs.stat(&cwd, &s, false).is_err() => {
                ctx.eprint(format!(
                    "mv: cannot stat '{s}': No such file or directory\n"
                ));
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
