//! Running the master against a database: connect, migrate, bootstrap, serve until shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use decnet_mesh::bus::{Broker, BrokerConfig, Bus, BusServer, ServerConfig};
use decnet_runtime::config::Secret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::bootstrap;
use crate::config::MasterConfig;
use crate::embedded_agent::{self, EmbeddedAgent};
use crate::http;
use crate::ingest::Ingest;
use crate::store::Store;
use crate::swarm::{Swarm, SwarmSettings};

/// Runs the API until `shutdown`; the pool is closed before returning.
///
/// `embedded_dir` is `up`'s data directory: with it the master also runs its own agent and
/// the demo fleet (`embedded.demo`).
pub async fn run(
    listener: TcpListener,
    pg: tokio_postgres::Config,
    config: &MasterConfig,
    jwt_secret: Secret,
    embedded_dir: Option<&Path>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = tokio::select! {
        store = Store::connect(pg, &config.database) => store?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let result = serve(listener, &store, config, jwt_secret, embedded_dir, shutdown).await;
    store.close();
    tracing::info!("database pool closed");
    result
}

async fn serve(
    listener: TcpListener,
    store: &Store,
    config: &MasterConfig,
    jwt_secret: Secret,
    embedded_dir: Option<&Path>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    store.migrate().await?;
    if let Some(one_time) = bootstrap::initial_admin(store).await? {
        bootstrap::announce(&one_time);
    }
    let addr = listener.local_addr()?;
    let (broker, bus, _bus_server) = master_bus(config).await;
    let ingest = Ingest::new(store.clone(), Bus::local(&broker, "ingest"));
    let mut builder = AppState::builder(store.clone(), &jwt_secret, &config.api)
        .bus(bus)
        .ingest(Arc::new(ingest.clone()))
        .shutdown(shutdown.clone());
    let swarm = match swarm_settings(config)? {
        Some(settings) => {
            let swarm = Swarm::start(&settings, store, &broker, ingest).await?;
            println!(
                "DECNET mesh on {}; enrollment on {}",
                swarm
                    .mesh()
                    .local_addr()
                    .map_or_else(|e| e.to_string(), |a| a.to_string()),
                swarm.enrollment().master_addrs.join(", ")
            );
            let embedded_host = embedded_dir
                .filter(|_| config.embedded.demo)
                .and_then(|_| embedded_agent::HOST.parse().ok());
            builder = builder
                .mesh(swarm.view())
                .deployer(swarm.deployer(embedded_host))
                .enrollment((*swarm.enrollment()).clone());
            Some(swarm)
        }
        None => {
            tracing::info!("mesh disabled: no agent can connect");
            None
        }
    };
    let state = builder.build();
    tracing::info!(%addr, "API listening");
    println!("DECNET master listening on http://{addr}");
    let agent = match (&swarm, embedded_dir) {
        (Some(swarm), Some(dir)) => {
            match EmbeddedAgent::start(&config.embedded, dir, store, &swarm.enrollment()).await {
                Ok(agent) => agent,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "embedded agent not started: no demo fleet");
                    None
                }
            }
        }
        _ => None,
    };
    let served = http::serve(listener, api::router(state), shutdown).await;
    if let Some(agent) = agent {
        agent.stop().await;
    }
    if let Some(swarm) = swarm {
        swarm.shutdown().await;
    }
    served?;
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// The swarm endpoints' settings; `None` when `mesh.enabled = false`.
fn swarm_settings(config: &MasterConfig) -> anyhow::Result<Option<SwarmSettings>> {
    let mesh = &config.mesh;
    if !mesh.enabled {
        return Ok(None);
    }
    let parse = |key: &str, value: &str| {
        value
            .parse::<SocketAddr>()
            .with_context(|| format!("{key}: {value:?} is not IP:PORT"))
    };
    let pki_dir = mesh
        .pki_dir
        .clone()
        .context("mesh.pki_dir: no directory for the CA")?;
    Ok(Some(SwarmSettings {
        listen: parse("mesh.listen", &mesh.listen)?,
        enroll_listen: mesh
            .enroll_listen
            .as_deref()
            .map(|v| parse("mesh.enroll_listen", v))
            .transpose()?,
        advertise: mesh.advertise.clone(),
        pki_dir,
        deployment: "DECNET".into(),
    }))
}

/// The master's broker and bus: in-process, served on `bus.socket` when one is configured (so
/// local workers can join it), the no-op bus when `bus.enabled = false`. The broker exists
/// either way because the mesh federates through it.
async fn master_bus(config: &MasterConfig) -> (Broker, Bus, Option<BusServer>) {
    let broker = Broker::new(BrokerConfig {
        queue_capacity: config.bus.queue_capacity,
    });
    if !config.bus.enabled {
        tracing::info!("bus disabled: live streams poll the database");
        return (broker, Bus::disabled("api"), None);
    }
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
    let bus = Bus::local(&broker, "api");
    (broker, bus, server)
}
