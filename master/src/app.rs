//! Running the master against a database: connect, migrate, bootstrap, serve until shutdown.

use std::sync::Arc;

use decnet_runtime::config::Secret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::bootstrap;
use crate::config::MasterConfig;
use crate::http;
use crate::store::Store;

/// Runs the API until `shutdown`; the pool is closed before returning.
pub async fn run(
    listener: TcpListener,
    pg: tokio_postgres::Config,
    config: &MasterConfig,
    jwt_secret: Secret,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = tokio::select! {
        store = Store::connect(pg, &config.database) => store?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let result = serve(listener, &store, jwt_secret, shutdown).await;
    store.close();
    tracing::info!("database pool closed");
    result
}

async fn serve(
    listener: TcpListener,
    store: &Store,
    jwt_secret: Secret,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    store.migrate().await?;
    if let Some(one_time) = bootstrap::initial_admin(store).await? {
        bootstrap::announce(&one_time);
    }
    let addr = listener.local_addr()?;
    let state = AppState {
        store: store.clone(),
        jwt_secret: Arc::new(jwt_secret),
    };
    tracing::info!(%addr, "API listening");
    println!("DECNET master listening on http://{addr}");
    http::serve(listener, api::router(state), shutdown).await?;
    tracing::info!("HTTP server stopped");
    Ok(())
}
