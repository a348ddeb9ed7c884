//! Throwaway clusters for tests of every crate.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU32, Ordering};

use tempfile::TempDir;

use crate::binaries::PgBinaries;
use crate::cluster::Cluster;
use crate::error::{Error, Result};

/// Names databases uniquely within one test process.
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A cluster in a temporary directory, tuned for speed (no fsync), removed on drop.
///
/// Never touches a system cluster: the server listens only on a socket inside the temporary
/// directory. Works as root too (the server then runs as the `decnet-pg` system user).
#[derive(Debug)]
pub struct TestCluster {
    // Declared before `dir` so the server stops before its directory is removed.
    cluster: Cluster,
    dir: TempDir,
}

impl TestCluster {
    /// Creates and starts a fresh cluster (about a second).
    pub fn start() -> Result<Self> {
        Self::start_with(PgBinaries::locate()?)
    }

    /// Like [`TestCluster::start`] with explicit binaries.
    pub fn start_with(bins: PgBinaries) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("decnet-pg-")
            .tempdir()
            .map_err(|e| Error::io("create a temporary directory", e))?;
        // The server may run as another user (when we are root); it only needs to pass through.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
            .map_err(|e| Error::io(format!("chmod {}", dir.path().display()), e))?;
        let mut cluster = Cluster::new(bins, dir.path().join("pg"))?
            .with_no_sync_init(true)
            .with_setting("fsync", "off")
            .with_setting("synchronous_commit", "off")
            .with_setting("full_page_writes", "off");
        cluster.init_if_needed()?;
        cluster.start()?;
        Ok(Self { cluster, dir })
    }

    /// Creates a database and returns connection settings for it.
    pub async fn create_database(&self, name: &str) -> Result<tokio_postgres::Config> {
        self.cluster.create_database(name).await?;
        Ok(self.cluster.connection_config(name))
    }

    /// Creates a database with a fresh unique name; returns the name and connection settings.
    pub async fn create_unique_database(&self) -> Result<(String, tokio_postgres::Config)> {
        let name = format!("test_{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
        let config = self.create_database(&name).await?;
        Ok((name, config))
    }

    /// Connection settings for an existing database.
    pub fn connection_config(&self, dbname: &str) -> tokio_postgres::Config {
        self.cluster.connection_config(dbname)
    }

    /// A `postgresql://` URL for an existing database (for `--database-url` style options).
    pub fn url(&self, dbname: &str) -> String {
        self.cluster.url(dbname)
    }

    /// The underlying cluster (e.g. to stop it and test outages).
    pub fn cluster_mut(&mut self) -> &mut Cluster {
        &mut self.cluster
    }

    /// The temporary directory holding the cluster.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Err(error) = self.cluster.stop_immediate() {
            tracing::warn!(%error, "stopping the test cluster failed");
        }
    }
}
