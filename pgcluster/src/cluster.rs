//! A private PostgreSQL cluster in a directory: initdb, start, stop, connect.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::binaries::PgBinaries;
use crate::error::{Error, Result};
use crate::owner::RunAs;
use crate::pidfile::{self, Holder};

/// The superuser created by initdb.
pub const SUPERUSER: &str = "postgres";

/// The port only names the socket file (`.s.PGSQL.5432`); there is no TCP listener.
const PORT: u16 = 5432;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(25);

/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Environment variables that would redirect the server or initdb elsewhere.
const PG_ENV: [&str; 7] = [
    "PGDATA",
    "PGPORT",
    "PGHOST",
    "PGUSER",
    "PGDATABASE",
    "PGOPTIONS",
    "PGCLIENTENCODING",
];

/// How much of a log or command output to quote in errors.
const TAIL_BYTES: u64 = 4096;

/// A PostgreSQL cluster living under one directory.
///
/// Layout: `<root>/data` (PGDATA), `<root>/run` (socket directory, mode 0700),
/// `<root>/postgres.log`. The server listens on the socket only, never on TCP, and
/// local connections are trusted: the socket directory admits only its owner (and root).
/// A started server is stopped when the `Cluster` is dropped.
#[derive(Debug)]
pub struct Cluster {
    bins: PgBinaries,
    root: PathBuf,
    settings: Vec<(String, String)>,
    no_sync_init: bool,
    run_as: Option<RunAs>,
    child: Option<Child>,
}

impl Cluster {
    /// Describes the cluster under `root`; nothing is created until [`Cluster::init_if_needed`].
    pub fn new(bins: PgBinaries, root: impl AsRef<Path>) -> Result<Self> {
        let root = std::path::absolute(root.as_ref())
            .map_err(|e| Error::io(format!("resolve {}", root.as_ref().display()), e))?;
        Ok(Self {
            bins,
            root,
            settings: Vec::new(),
            no_sync_init: false,
            run_as: None,
            child: None,
        })
    }

    /// Adds a server setting passed as `-c name=value` at every start.
    pub fn with_setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Skips fsync during initdb (for throwaway clusters).
    pub fn with_no_sync_init(mut self, no_sync: bool) -> Self {
        self.no_sync_init = no_sync;
        self
    }

    /// The cluster directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The PostgreSQL data directory (PGDATA).
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The directory holding the UNIX socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The server log.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// True once initdb has completed.
    pub fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// True while the server started by this handle runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// Runs initdb unless the cluster exists; returns whether it was created now.
    pub fn init_if_needed(&mut self) -> Result<bool> {
        let run_as = self.prepare()?;
        if self.is_initialized() {
            return Ok(false);
        }
        // initdb writes into a scratch directory renamed at the end, so a crash
        // midway never leaves a half-made data directory that looks initialised.
        let scratch = self.root.join("data.initdb");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .map_err(|e| Error::io(format!("remove {}", scratch.display()), e))?;
        }
        let mut cmd = run_as.command(&self.bins.program("initdb"));
        cmd.arg("-D")
            .arg(&scratch)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C"])
            .args(["--auth-local=trust", "--auth-host=reject"]);
        if self.no_sync_init {
            cmd.arg("--no-sync");
        }
        self.configure(&mut cmd);
        run_checked(cmd, "initdb")?;
        std::fs::rename(&scratch, self.data_dir()).map_err(|e| {
            Error::io(
                format!(
                    "rename {} to {}",
                    scratch.display(),
                    self.data_dir().display()
                ),
                e,
            )
        })?;
        tracing::info!(data_dir = %self.data_dir().display(), "initialised PostgreSQL cluster");
        Ok(true)
    }

    /// Starts the server and waits until it accepts connections.
    ///
    /// A lock file left by a crashed server is cleared; a postmaster of this cluster
    /// still running from an earlier process is stopped first.
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let run_as = self.prepare()?;
        if !self.is_initialized() {
            return Err(Error::StartFailed {
                reason: "the cluster is not initialised".into(),
                log: self.log_file(),
                tail: String::new(),
            });
        }
        let data_dir = self.data_dir();
        ensure_owned_tree(&run_as, &data_dir)?;
        let socket_dir = self.prepare_socket_dir(&run_as)?;
        self.clear_previous_holder()?;

        let log_path = self.log_file();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("open {}", log_path.display()), e))?;
        run_as.chown(&log_path)?;
        let log_offset = log
            .metadata()
            .map_err(|e| Error::io(format!("stat {}", log_path.display()), e))?
            .len();
        let stderr = log
            .try_clone()
            .map_err(|e| Error::io(format!("dup {}", log_path.display()), e))?;

        let mut cmd = run_as.command(&self.bins.program("postgres"));
        cmd.arg("-D")
            .arg(&data_dir)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("port={PORT}"))
            .arg("-c")
            .arg(format!(
                "unix_socket_directories=\"{}\"",
                socket_dir.display()
            ))
            .args(["-c", "unix_socket_permissions=0700"]);
        for (name, value) in &self.settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        self.configure(&mut cmd);
        // Its own process group keeps a terminal's Ctrl-C away from the server: the
        // owner shuts it down in order, after the clients that use it.
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| {
            Error::io(
                format!("spawn {}", self.bins.program("postgres").display()),
                e,
            )
        })?;
        self.child = Some(child);
        self.wait_ready(log_offset)
    }

    /// Stops the server with a fast shutdown (clients disconnected, clean checkpoint) and waits for it.
    pub fn stop(&mut self) -> Result<()> {
        self.stop_with(Signal::SIGINT)
    }

    /// Stops the server with an immediate shutdown (no checkpoint; for throwaway clusters).
    pub fn stop_immediate(&mut self) -> Result<()> {
        self.stop_with(Signal::SIGQUIT)
    }

    /// Connection settings for `dbname` over the cluster's socket, as the superuser.
    pub fn connection_config(&self, dbname: &str) -> tokio_postgres::Config {
        Self::connection_config_at(&self.root, dbname)
    }

    /// Connection settings for `dbname` of the cluster under `root`, started by another
    /// process (e.g. a CLI command beside a running `decnet-master up`).
    pub fn connection_config_at(root: &Path, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(root.join("run"))
            .port(PORT)
            .user(SUPERUSER)
            .dbname(dbname)
            .application_name("decnet")
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// A libpq-style URL for `dbname`, with the socket directory percent-encoded as host.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@{}:{PORT}/{}",
            percent_encode(&self.socket_dir().to_string_lossy()),
            percent_encode(dbname)
        )
    }

    /// Creates `name` unless it exists; returns whether it was created now.
    pub async fn create_database(&self, name: &str) -> Result<bool> {
        crate::sql::create_database(&self.connection_config("postgres"), name).await
    }

    fn prepare(&mut self) -> Result<RunAs> {
        let run_as = match &self.run_as {
            Some(run_as) => run_as.clone(),
            None => {
                let run_as = RunAs::for_current_process()?;
                self.run_as = Some(run_as.clone());
                run_as
            }
        };
        if let Some(parent) = self.root.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
        }
        if !self.root.exists() {
            std::fs::create_dir(&self.root)
                .map_err(|e| Error::io(format!("create {}", self.root.display()), e))?;
            set_mode(&self.root, 0o700)?;
        }
        run_as.chown(&self.root)?;
        run_as.check_traversable(&self.root)?;
        Ok(run_as)
    }

    fn prepare_socket_dir(&self, run_as: &RunAs) -> Result<PathBuf> {
        let dir = self.socket_dir();
        let socket = dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::StartFailed {
                reason: format!(
                    "socket path {} is longer than {MAX_SOCKET_PATH} bytes; use a shorter data directory",
                    socket.display()
                ),
                log: self.log_file(),
                tail: String::new(),
            });
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        set_mode(&dir, 0o700)?;
        run_as.chown(&dir)?;
        Ok(dir)
    }

    fn configure(&self, cmd: &mut Command) {
        cmd.current_dir(&self.root);
        for var in PG_ENV {
            cmd.env_remove(var);
        }
    }

    fn clear_previous_holder(&self) -> Result<()> {
        let data_dir = self.data_dir();
        match pidfile::holder(&data_dir) {
            // Without a postmaster.pid, any socket lock file is a leftover of a killed server.
            Holder::Nobody => self.remove_stale_locks(),
            Holder::Stale => {
                tracing::warn!(data_dir = %data_dir.display(), "removing stale postmaster.pid left by a crashed server");
                self.remove_stale_locks()
            }
            Holder::Postmaster(pid) => {
                tracing::warn!(pid, data_dir = %data_dir.display(), "stopping a PostgreSQL server left running by an earlier process");
                signal(pid, Signal::SIGINT);
                if !wait_until(STOP_TIMEOUT, || !pidfile::alive(pid)) {
                    signal(pid, Signal::SIGQUIT);
                    if !wait_until(Duration::from_secs(10), || !pidfile::alive(pid)) {
                        return Err(Error::StopTimeout {
                            pid,
                            waited_secs: STOP_TIMEOUT.as_secs() + 10,
                        });
                    }
                }
                // An immediate shutdown leaves its lock files behind.
                self.remove_stale_locks()
            }
            Holder::Unknown(pid) => Err(Error::InUse { data_dir, pid }),
        }
    }

    fn remove_stale_locks(&self) -> Result<()> {
        let pid_path = pidfile::path(&self.data_dir());
        remove_if_exists(&pid_path)?;
        remove_if_exists(&self.socket_dir().join(format!(".s.PGSQL.{PORT}.lock")))?;
        remove_if_exists(&self.socket_dir().join(format!(".s.PGSQL.{PORT}")))
    }

    fn wait_ready(&mut self, log_offset: u64) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let data_dir = self.data_dir();
        loop {
            let exited = match self.child.as_mut() {
                Some(child) => child
                    .try_wait()
                    .map_err(|e| Error::io("wait for postgres", e))?,
                None => None,
            };
            if let Some(status) = exited {
                self.child = None;
                return Err(self.start_failed(format!("postgres exited with {status}"), log_offset));
            }
            if let Some(file) = pidfile::read(&data_dir)
                && file.status.as_deref() == Some("ready")
            {
                tracing::debug!(pid = file.pid, "PostgreSQL is ready");
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.stop_with(Signal::SIGQUIT);
                return Err(self.start_failed(
                    format!("not ready after {}s", START_TIMEOUT.as_secs()),
                    log_offset,
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    fn start_failed(&self, reason: String, log_offset: u64) -> Error {
        Error::StartFailed {
            reason,
            log: self.log_file(),
            tail: read_tail(&self.log_file(), log_offset),
        }
    }

    fn stop_with(&mut self, how: Signal) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Ok(());
        }
        // Under runuser the child is a wrapper; the lock file names the postmaster itself.
        let pid = pidfile::read(&self.data_dir())
            .map(|f| f.pid)
            .filter(|pid| pidfile::alive(*pid))
            .or_else(|| i32::try_from(child.id()).ok())
            .unwrap_or_default();
        signal(pid, how);
        if wait_child(&mut child, STOP_TIMEOUT) {
            tracing::debug!(pid, "PostgreSQL stopped");
            return Ok(());
        }
        tracing::warn!(
            pid,
            "PostgreSQL did not stop in time; forcing an immediate shutdown"
        );
        signal(pid, Signal::SIGQUIT);
        if !wait_child(&mut child, Duration::from_secs(10)) {
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(Error::StopTimeout {
            pid,
            waited_secs: STOP_TIMEOUT.as_secs(),
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "stopping PostgreSQL on drop failed");
        }
    }
}

/// Gives the data directory back to the cluster user when an earlier run left it to someone else.
fn ensure_owned_tree(run_as: &RunAs, dir: &Path) -> Result<()> {
    if let RunAs::System { uid, .. } = run_as {
        use std::os::unix::fs::MetadataExt;
        let meta =
            std::fs::metadata(dir).map_err(|e| Error::io(format!("stat {}", dir.display()), e))?;
        if meta.uid() != uid.as_raw() {
            run_as.chown_tree(dir)?;
        }
    }
    Ok(())
}

fn signal(pid: i32, how: Signal) {
    if pid > 0 {
        // ESRCH means it is already gone, which is what we want.
        let _ = kill(Pid::from_raw(pid), how);
    }
}

fn wait_child(child: &mut Child, timeout: Duration) -> bool {
    wait_until(timeout, || !matches!(child.try_wait(), Ok(None)))
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(format!("chmod {}", path.display()), e))
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("remove {}", path.display()), e)),
    }
}

fn run_checked(mut cmd: Command, program: &str) -> Result<()> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("run {program}"), e))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let start = text.len().saturating_sub(TAIL_BYTES as usize);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    Err(Error::Command {
        program: program.to_owned(),
        status: output.status.to_string(),
        output: text[start..].trim().to_owned(),
    })
}

fn read_tail(path: &Path, from: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = from.max(len.saturating_sub(TAIL_BYTES));
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_unreserved() {
        assert_eq!(percent_encode("/tmp/a b.c"), "%2Ftmp%2Fa%20b.c");
    }
}
