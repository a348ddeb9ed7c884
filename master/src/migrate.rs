//! `decnet-master migrate`: apply pending migrations and exit.

use anyhow::Context as _;
use decnet_runtime::config::Secret;
use tokio_util::sync::CancellationToken;

use crate::cli::MigrateArgs;
use crate::config::{MasterConfig, Mode};
use crate::store::Store;

/// Applies pending migrations to the configured database.
pub async fn run(args: MigrateArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut config = MasterConfig::load(args.config.path.as_deref())?;
    if let Some(url) = args.database_url {
        config.database_url = Some(Secret::new(url));
    }
    let valid = config.validate(Mode::Migrate)?;
    let pg = valid.database.context("database_url: is required")?;
    let store = tokio::select! {
        store = Store::connect(pg, &valid.config.database) => store?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let applied = store.migrate().await;
    store.close();
    let applied = applied?;
    if applied.is_empty() {
        println!("database schema is up to date");
    }
    for m in &applied {
        println!("applied V{}__{}", m.version, m.name);
    }
    Ok(())
}
