//! Schema migrations (refinery), embedded from `master/migrations/` at build time.

use tokio_postgres::NoTls;

use super::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Serialises concurrent migrators (two masters starting at once) on one database.
const MIGRATION_LOCK_KEY: i64 = 0x6465_636e_6574_0001;

/// A migration applied by this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Version number (`V<n>__…`).
    pub version: u32,
    /// Name after the version.
    pub name: String,
}

/// How many migrations this binary embeds.
pub fn embedded_count() -> usize {
    embedded::migrations::runner().get_migrations().len()
}

/// Applies pending migrations over a dedicated connection.
///
/// The advisory lock is session-scoped, so it is released however this ends:
/// the connection is closed rather than returned to a pool.
pub(super) async fn run(pg: &tokio_postgres::Config) -> Result<Vec<Applied>, StoreError> {
    let (mut client, connection) = pg.connect(NoTls).await?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "migration connection ended");
        }
    });
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let report = embedded::migrations::runner().run_async(&mut client).await;
    drop(client);
    let _ = driver.await;
    let applied: Vec<Applied> = report?
        .applied_migrations()
        .iter()
        .map(|m| Applied {
            version: m.version(),
            name: m.name().to_owned(),
        })
        .collect();
    for m in &applied {
        tracing::info!(version = m.version, name = %m.name, "applied migration");
    }
    Ok(applied)
}
