//! Command implementations, by domain. Builtins run whatever `PATH` says;
//! the others only when their binary exists in the session's tree, so
//! `rm /usr/bin/wget; wget …` fails like on a real machine.

pub mod builtins;
pub mod fileops;
pub mod filters;
pub mod fs;
pub mod info;
pub mod machine;
pub mod net;
pub mod procfs;
pub mod search;
pub mod text;

use super::Shell;
use super::exec::Ctx;

/// A command: shell, streams, argv (argv\[0\] included) → exit status.
pub type CmdFn = fn(&mut Shell, &mut Ctx, &[String]) -> i32;

/// Shell builtins (found before `PATH`).
pub fn builtin(name: &str) -> Option<CmdFn> {
    Some(match name {
        "cd" => builtins::cd,
        "pwd" => builtins::pwd,
        "echo" => text::echo,
        "printf" => text::printf,
        "export" => builtins::export,
        "unset" => builtins::unset,
        "history" => builtins::history,
        "exit" | "logout" => builtins::exit,
        "type" => builtins::type_,
        "true" | ":" => |_, _, _| 0,
        "false" => |_, _, _| 1,
        "alias" | "unalias" | "ulimit" | "umask" | "set" | "shopt" | "hash" | "wait" | "jobs" => {
            builtins::quiet
        }
        "source" | "." => builtins::source,
        "test" | "[" => builtins::test,
        "kill" => builtins::kill,
        "eval" => builtins::eval,
        "exec" | "command" | "nohup" | "time" => builtins::passthrough,
        _ => return None,
    })
}

/// Programs implemented here, by the file name of their binary.
pub fn external(name: &str) -> Option<CmdFn> {
    Some(match name {
        "ls" => fs::ls,
        "cat" => text::cat,
        "mkdir" => fileops::mkdir,
        "rmdir" => fileops::rmdir,
        "rm" => fileops::rm,
        "touch" => fileops::touch,
        "chmod" => fileops::chmod,
        "chown" => fileops::chown,
        "cp" => fileops::cp,
        "mv" => fileops::mv,
        "find" => search::find,
        "du" => search::du,
        "file" => search::file,
        "uname" => info::uname,
        "id" => info::id,
        "whoami" => info::whoami,
        "w" => info::w,
        "who" => info::who,
        "uptime" => info::uptime,
        "free" => info::free,
        "ps" => info::ps,
        "hostname" => machine::hostname,
        "nproc" => machine::nproc,
        "lscpu" => machine::lscpu,
        "df" => machine::df,
        "date" => machine::date,
        "last" => machine::last,
        "ip" => machine::ip,
        "dmesg" => machine::dmesg,
        "top" => machine::top,
        "wget" => net::wget,
        "curl" => net::curl,
        "ssh" => net::ssh,
        "sleep" => builtins::sleep,
        "env" => builtins::env,
        "which" | "which.debianutils" => builtins::which,
        "sudo" => builtins::sudo,
        "su" => builtins::su,
        "passwd" => builtins::passwd,
        "crontab" => builtins::crontab,
        "systemctl" => builtins::systemctl,
        "apt" | "apt-get" => builtins::apt,
        "bash" | "sh" | "dash" => builtins::sh,
        "python3.11" | "perl" | "vim.basic" | "less" | "more" => builtins::interpreter,
        "grep" => text::grep,
        "wc" => text::wc,
        "head" => text::head,
        "tail" => text::tail,
        "cut" => filters::cut,
        "sort" => filters::sort,
        "uniq" => filters::uniq,
        "tr" => filters::tr,
        "awk" | "mawk" => filters::awk,
        "base64" => filters::base64,
        "tee" => filters::tee,
        "seq" => filters::seq,
        "xargs" => filters::xargs,
        _ => return None,
    })
}

/// Parsed `-abc`/`--long` options and operands; `--` ends options.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// Short flags in order.
    pub flags: Vec<char>,
    /// Long options without the dashes.
    pub long: Vec<String>,
    /// Everything else.
    pub ops: Vec<String>,
}

impl Args {
    /// Whether the short flag `c` was given.
    pub fn has(&self, c: char) -> bool {
        self.flags.contains(&c)
    }

    /// Whether `--name` was given.
    pub fn long(&self, name: &str) -> bool {
        self.long
            .iter()
            .any(|l| l == name || l.starts_with(&format!("{name}=")))
    }
}

/// Splits argv (without argv\[0\]) into flags and operands.
pub(crate) fn args(argv: &[String]) -> Args {
    let mut a = Args::default();
    let mut done = false;
    for s in argv.iter().skip(1) {
        if done || !s.starts_with('-') || s == "-" {
            a.ops.push(s.clone());
        } else if s == "--" {
            done = true;
        } else if let Some(l) = s.strip_prefix("--") {
            a.long.push(l.to_owned());
        } else {
            a.flags.extend(s.chars().skip(1));
        }
    }
    a
}

/// `YYYY-MM-DD HH:MM:SS` now (UTC), as wget prints it.
pub(crate) fn info_now() -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(super::now())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}
