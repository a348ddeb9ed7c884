//! The identity PostgreSQL runs under: the current user, or a dedicated system user when we are root.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::unistd::{Gid, Uid, User};

use crate::error::{Error, Result};

/// The unprivileged system user that runs PostgreSQL when the caller is root (PostgreSQL refuses root).
pub const SYSTEM_USER: &str = "decnet-pg";

/// How many times user creation is retried while another process holds the passwd lock.
const USERADD_ATTEMPTS: u32 = 50;

/// Who owns the cluster files and runs its programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunAs {
    /// The current, unprivileged user.
    Current,
    /// A dedicated system user, switched to through `setpriv` or `runuser`.
    System { name: String, uid: Uid, gid: Gid },
}

impl RunAs {
    /// Picks the identity for this process, creating the system user if we are root.
    pub(crate) fn for_current_process() -> Result<Self> {
        if !Uid::effective().is_root() {
            return Ok(Self::Current);
        }
        let user = ensure_system_user(SYSTEM_USER)?;
        Ok(Self::System {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
        })
    }

    /// A command that runs `program` under this identity.
    pub(crate) fn command(&self, program: &Path) -> Command {
        match self {
            Self::Current => Command::new(program),
            Self::System { name, uid, gid } => {
                // setpriv execs in place, so the child pid is the program itself;
                // runuser is the fallback on systems that ship no setpriv.
                if let Some(setpriv) = find_in_path("setpriv") {
                    let mut cmd = Command::new(setpriv);
                    cmd.arg(format!("--reuid={uid}"))
                        .arg(format!("--regid={gid}"))
                        .arg("--clear-groups")
                        .arg("--")
                        .arg(program);
                    cmd
                } else {
                    let mut cmd = Command::new("runuser");
                    cmd.args(["-u", name, "--"]).arg(program);
                    cmd
                }
            }
        }
    }

    /// Gives `path` to the cluster user (no-op when running as the current user).
    pub(crate) fn chown(&self, path: &Path) -> Result<()> {
        if let Self::System { uid, gid, .. } = self {
            std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw()))
                .map_err(|e| Error::io(format!("chown {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Gives a whole tree to the cluster user, without following symlinks.
    pub(crate) fn chown_tree(&self, root: &Path) -> Result<()> {
        let Self::System { uid, gid, .. } = self else {
            return Ok(());
        };
        let mut stack = vec![root.to_path_buf()];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
            if meta.uid() != uid.as_raw() || meta.gid() != gid.as_raw() {
                std::os::unix::fs::lchown(&path, Some(uid.as_raw()), Some(gid.as_raw()))
                    .map_err(|e| Error::io(format!("chown {}", path.display()), e))?;
            }
            if meta.is_dir() {
                let entries = std::fs::read_dir(&path)
                    .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
                for entry in entries {
                    let entry =
                        entry.map_err(|e| Error::io(format!("read {}", path.display()), e))?;
                    stack.push(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Checks that the cluster user can enter every existing ancestor of `path`.
    pub(crate) fn check_traversable(&self, path: &Path) -> Result<()> {
        let Self::System { name, uid, gid } = self else {
            return Ok(());
        };
        let mut current = Some(path);
        while let Some(dir) = current {
            if let Ok(meta) = std::fs::metadata(dir)
                && meta.is_dir()
                && !can_enter(&meta, *uid, *gid)
            {
                return Err(Error::NotTraversable {
                    path: dir.to_path_buf(),
                    user: name.clone(),
                });
            }
            current = dir.parent();
        }
        Ok(())
    }
}

fn can_enter(meta: &std::fs::Metadata, uid: Uid, gid: Gid) -> bool {
    let mode = meta.mode();
    if meta.uid() == uid.as_raw() {
        mode & 0o100 != 0
    } else if meta.gid() == gid.as_raw() {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Serialises user creation between processes of this machine.
///
/// Concurrent `useradd` runs are not reliably exclusive (seen in containers: six parallel
/// runs all succeed and the last one wins, so a uid looked up a moment ago vanishes).
fn creation_lock() -> std::io::Result<nix::fcntl::Flock<File>> {
    let dir = if Path::new("/run").is_dir() {
        PathBuf::from("/run")
    } else {
        std::env::temp_dir()
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join("decnet-pg-useradd.lock"))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| std::io::Error::from(errno))
}

/// Returns the system user, creating it when missing.
fn ensure_system_user(name: &str) -> Result<User> {
    let user_error = |reason: String| Error::User {
        user: name.to_owned(),
        reason,
    };
    if let Some(user) = User::from_name(name).map_err(|e| user_error(e.to_string()))? {
        return Ok(user);
    }
    let _lock =
        creation_lock().map_err(|e| user_error(format!("cannot take the creation lock: {e}")))?;
    let mut last_failure = String::new();
    for _ in 0..USERADD_ATTEMPTS {
        if let Some(user) = User::from_name(name).map_err(|e| user_error(e.to_string()))? {
            return Ok(user);
        }
        let shell = ["/usr/sbin/nologin", "/sbin/nologin"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("/bin/false");
        let output = Command::new("useradd")
            .args(["--system", "--no-create-home", "--user-group"])
            .args(["--home-dir", "/nonexistent", "--shell", shell])
            .args(["--comment", "DECNET embedded PostgreSQL"])
            .arg(name)
            .output()
            .map_err(|e| user_error(format!("cannot run useradd: {e}")))?;
        match output.status.code() {
            Some(0) => {}
            // 9: the name appeared meanwhile; 10: /etc/passwd is locked by a concurrent useradd.
            Some(9) | Some(10) => {
                last_failure = String::from_utf8_lossy(&output.stderr).trim().to_owned();
                std::thread::sleep(Duration::from_millis(100));
            }
            _ => {
                return Err(user_error(format!(
                    "useradd failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
        }
    }
    Err(user_error(format!(
        "still missing after {USERADD_ATTEMPTS} attempts: {last_failure}"
    )))
}
