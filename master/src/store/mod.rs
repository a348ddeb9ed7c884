//! PostgreSQL persistence: connection pool, start-up retry, migrations, repositories.
//!
//! Each domain gets its own repository module (`users`, and later events, attackers, …)
//! exposed through an accessor on [`Store`].

pub mod artifacts;
pub mod attackers;
mod cache;
mod connect;
pub mod credentials;
pub mod deckies;
pub mod events;
pub mod hosts;
pub mod migrations;
pub mod sessions;
pub mod stats;
pub mod users;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use connect::RetryPolicy;
pub use migrations::Applied;
pub use users::Users;

use crate::config::DatabaseConfig;

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be obtained (database down, pool exhausted, timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Start-up gave up connecting.
    #[error("could not connect to the database after {attempts} attempts: {last_error}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// A statement failed.
    #[error("database error: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    /// The pool could not be built.
    #[error("connection pool: {0}")]
    Pool(String),
    /// A stored value is not one the code knows.
    #[error("unexpected value in column {column}: {value:?}")]
    Corrupt {
        /// Table and column.
        column: &'static str,
        /// The value found.
        value: String,
    },
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// Handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    pg: tokio_postgres::Config,
    cache: std::sync::Arc<cache::ReadCache>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection config may hold a password.
        f.debug_struct("Store")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl Store {
    /// Builds the pool and waits for a first working connection, retrying with backoff.
    pub async fn connect(
        pg: tokio_postgres::Config,
        settings: &DatabaseConfig,
    ) -> Result<Self, StoreError> {
        let store = Self::new(pg, settings)?;
        RetryPolicy::from(settings)
            .run("database connection", || store.ping())
            .await?;
        Ok(store)
    }

    /// Builds the pool without connecting.
    pub fn new(
        mut pg: tokio_postgres::Config,
        settings: &DatabaseConfig,
    ) -> Result<Self, StoreError> {
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(settings.acquire_timeout);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("decnet-master");
        }
        let manager = Manager::from_config(
            pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.acquire_timeout))
            .create_timeout(Some(settings.acquire_timeout))
            .recycle_timeout(Some(Duration::from_secs(2)))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            pg,
            cache: std::sync::Arc::default(),
        })
    }

    /// Checks that a connection can be obtained and answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Applies pending migrations; returns those applied now.
    pub async fn migrate(&self) -> Result<Vec<Applied>, StoreError> {
        migrations::run(&self.pg).await
    }

    /// The users repository.
    pub fn users(&self) -> Users<'_> {
        Users::new(&self.pool)
    }

    /// Marks cached reads stale after a write outside this module (the ingest calls it).
    pub fn invalidate(&self) {
        self.cache.invalidate();
    }

    /// The read cache.
    pub(crate) fn cache(&self) -> &cache::ReadCache {
        &self.cache
    }

    /// The underlying pool, for repositories of other modules.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Closes the pool: waiting and future requests fail, idle connections are dropped.
    pub fn close(&self) {
        self.pool.close();
    }
}
