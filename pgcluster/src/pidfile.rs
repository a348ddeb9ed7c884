//! Reading `postmaster.pid` and deciding whether a lock left behind is stale.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Line (1-based) of the postmaster status word, written since PostgreSQL 10.
const STATUS_LINE: usize = 8;

/// What `postmaster.pid` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PidFile {
    pub(crate) pid: i32,
    pub(crate) status: Option<String>,
}

/// Who holds the lock of a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Holder {
    /// No lock file.
    Nobody,
    /// A lock file whose process is gone, unreadable, or now an unrelated process.
    Stale,
    /// A live postmaster working in this data directory.
    Postmaster(i32),
    /// A live process we may not inspect.
    Unknown(i32),
}

pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("postmaster.pid")
}

/// Parses the lock file; `None` when missing or not (yet) parseable.
pub(crate) fn read(data_dir: &Path) -> Option<PidFile> {
    let text = std::fs::read_to_string(path(data_dir)).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let status = text
        .lines()
        .nth(STATUS_LINE - 1)
        .map(|s| s.trim().to_owned());
    Some(PidFile { pid, status })
}

/// True while `pid` runs: a permission error still means it exists, a zombie has exited.
pub(crate) fn alive(pid: i32) -> bool {
    pid > 0 && !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH)) && !zombie(pid)
}

fn zombie(pid: i32) -> bool {
    // The state letter follows the parenthesised command name, which may itself contain ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|state| state == "Z")
        })
        .unwrap_or(false)
}

/// Decides who holds `data_dir`.
///
/// The postmaster's working directory is its data directory, which tells a leftover
/// postmaster of this cluster from an unrelated process that reused the pid after a crash.
pub(crate) fn holder(data_dir: &Path) -> Holder {
    if !path(data_dir).exists() {
        return Holder::Nobody;
    }
    let Some(file) = read(data_dir) else {
        return Holder::Stale;
    };
    if !alive(file.pid) {
        return Holder::Stale;
    }
    let canonical = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    match std::fs::read_link(format!("/proc/{}/cwd", file.pid)) {
        Ok(cwd) if cwd == canonical => Holder::Postmaster(file.pid),
        Ok(_) => Holder::Stale,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Holder::Unknown(file.pid),
        // Zombies and processes that just exited have no cwd link.
        Err(_) => Holder::Stale,
    }
}
