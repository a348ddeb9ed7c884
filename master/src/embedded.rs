//! The embedded mode's data directory: private PostgreSQL cluster, generated JWT secret, lock.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use decnet_pgcluster::{Cluster, PgBinaries};
use decnet_runtime::config::{Problems, Secret};
use nix::fcntl::{Flock, FlockArg};
use rand::RngCore as _;
use rand::rngs::OsRng;

use crate::config::MIN_JWT_SECRET_LEN;

/// The database `up` creates in its cluster.
pub const DATABASE: &str = "decnet";

const JWT_SECRET_FILE: &str = "jwt.secret";
const LOCK_FILE: &str = "master.lock";

/// Creates (if needed) and resolves the data directory.
///
/// When we are root the cluster runs as an unprivileged user that must pass through it,
/// so it is made traversable (0711) but not listable by others.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = std::path::absolute(dir)
        .with_context(|| format!("embedded.data_dir: cannot resolve {}", dir.display()))?;
    let mode = if nix::unistd::Uid::effective().is_root() {
        0o711
    } else {
        0o700
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&dir)
            .with_context(|| format!("embedded.data_dir: cannot create {}", dir.display()))?;
    }
    Ok(dir)
}

/// Holds the data directory for this process; a second master on it is refused.
///
/// The lock dies with the process, so a crashed master never blocks the next start.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<Flock<File>> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        if errno == nix::errno::Errno::EWOULDBLOCK {
            anyhow::anyhow!("another decnet-master is already using {}", dir.display())
        } else {
            anyhow::anyhow!("cannot lock {}: {errno}", path.display())
        }
    })
}

/// Reads the persisted JWT secret, generating it (mode 0600) on first use.
pub fn load_or_create_jwt_secret(dir: &Path) -> anyhow::Result<Secret> {
    let path = dir.join(JWT_SECRET_FILE);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mode = std::fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "JWT secret file was readable by others; restricting it to 0600");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            Secret::new(text.trim().to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 48];
            OsRng.fill_bytes(&mut bytes);
            let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated the JWT secret");
            Secret::new(text)
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut problems = Problems::new();
    problems.check_secret(
        &format!("jwt_secret (from {})", path.display()),
        &secret,
        MIN_JWT_SECRET_LEN,
    );
    problems.finish()?;
    Ok(secret)
}

/// The private cluster under `<data_dir>/pg`, stopped by [`EmbeddedDatabase::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedDatabase {
    cluster: Cluster,
}

impl EmbeddedDatabase {
    /// Initialises the cluster on first use, starts it and creates the `decnet` database.
    pub async fn start(data_dir: &Path, pg_bindir: Option<&Path>) -> anyhow::Result<Self> {
        let bins = match pg_bindir {
            Some(dir) => PgBinaries::from_dir(dir).context("embedded.pg_bindir")?,
            None => PgBinaries::locate()?,
        };
        let root = data_dir.join("pg");
        // initdb and the readiness wait block; a failure drops (and so stops) the cluster there.
        let cluster = tokio::task::spawn_blocking(move || -> anyhow::Result<Cluster> {
            let mut cluster = Cluster::new(bins, &root)?;
            if cluster.init_if_needed()? {
                tracing::info!(root = %root.display(), "created the embedded PostgreSQL cluster");
            }
            cluster.start()?;
            Ok(cluster)
        })
        .await
        .context("embedded PostgreSQL start-up task")?
        .context("embedded PostgreSQL")?;
        tracing::info!(socket_dir = %cluster.socket_dir().display(), "embedded PostgreSQL running (UNIX socket only)");
        let db = Self { cluster };
        if db.cluster.create_database(DATABASE).await? {
            tracing::info!(database = DATABASE, "created database");
        }
        Ok(db)
    }

    /// Connection settings for the `decnet` database.
    pub fn connection_config(&self) -> tokio_postgres::Config {
        self.cluster.connection_config(DATABASE)
    }

    /// Stops PostgreSQL (fast shutdown) and waits for it to exit.
    pub async fn stop(self) -> anyhow::Result<()> {
        let mut cluster = self.cluster;
        tokio::task::spawn_blocking(move || cluster.stop())
            .await
            .context("embedded PostgreSQL stop task")?
            .context("stopping embedded PostgreSQL")?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }
}

/// Refuses a data directory path PostgreSQL could not use for its socket.
pub fn check_data_dir_path(dir: &Path) -> anyhow::Result<()> {
    // <dir>/pg/run/.s.PGSQL.5432 must fit in the 107 bytes of a UNIX socket path.
    let socket_len = dir.as_os_str().len() + "/pg/run/.s.PGSQL.5432".len();
    if socket_len > 107 {
        bail!(
            "embedded.data_dir: {} is too long for PostgreSQL's socket path (limit about 86 bytes)",
            dir.display()
        );
    }
    Ok(())
}
