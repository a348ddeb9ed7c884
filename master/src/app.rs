//! Running the master against a database: connect, migrate, bootstrap, serve until shutdown.

use decnet_mesh::bus::{Broker, BrokerConfig, Bus, BusServer, ServerConfig};
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
    let result = serve(listener, &store, config, jwt_secret, shutdown).await;
    store.close();
    tracing::info!("database pool closed");
    result
}

async fn serve(
    listener: TcpListener,
    store: &Store,
    config: &MasterConfig,
    jwt_secret: Secret,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    store.migrate().await?;
    if let Some(one_time) = bootstrap::initial_admin(store).await? {
        bootstrap::announce(&one_time);
    }
    let addr = listener.local_addr()?;
    let (bus, _bus_server) = master_bus(config).await;
    let state = AppState::builder(store.clone(), &jwt_secret, &config.api)
        .bus(bus)
        .shutdown(shutdown.clone())
        .build();
    tracing::info!(%addr, "API listening");
    println!("DECNET master listening on http://{addr}");
    http::serve(listener, api::router(state), shutdown).await?;
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// The master's bus: in-process, served on `bus.socket` when one is configured (so local
/// workers can join it), the no-op bus when `bus.enabled = false`.
async fn master_bus(config: &MasterConfig) -> (Bus, Option<BusServer>) {
    if !config.bus.enabled {
        tracing::info!("bus disabled: live streams poll the database");
        return (Bus::disabled("api"), None);
    }
    let broker = Broker::new(BrokerConfig {
        queue_capacity: config.bus.queue_capacity,
    });
    let server = match &config.bus.socket {
        Some(path) => match BusServer::bind(broker.clone(), ServerConfig::new(path)).await {
            Ok(server) => Some(server),
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "bus socket not served; in-process bus only");
                None
            }
        },
        None => None,
    };
    (Bus::local(&broker, "api"), server)
}
