//! `decnet-agent run`: host bus, durable outbox, link to the master, and the deckies worker.

use std::sync::Arc;

use anyhow::Context as _;
use decnet_mesh::bus::{Broker, BrokerConfig, BusServer, ServerConfig};
use decnet_mesh::quic::{AgentConfig, AgentLink};
use decnet_outbox::Outbox;
use decnet_pki::AgentIdentity;
use decnet_templates::emit::outbox::OutboxSink;

use decnet_templates::emit::EventSink;
use tokio_util::sync::CancellationToken;

use crate::cli::{Driver, EngineArgs, RunArgs};
use crate::commands::docker::{DockerSetup, spawn_workers};
use crate::control::AgentControl;
use crate::deckies::Deckies;
use crate::desired::DesiredFleet;
use crate::docker::fleet::ContainerFleet;
use crate::docker::reconcile::Reconciler;
use crate::state::StateDir;

/// Runs the enrolled agent until SIGINT/SIGTERM.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let state = StateDir::new(args.state_dir)?;
    let file = state.load()?;
    let identity = AgentIdentity::load(state.root())
        .with_context(|| format!("cannot load the identity in {}", state.root().display()))?;
    let host = identity.host().to_string();
    let desired = DesiredFleet::new(state.root());
    let mut specs = match (&args.fleet, args.demo) {
        (Some(path), _) => crate::fleet::load(path, &state.deckies())?,
        (None, true) => {
            crate::fleet::demo(args.demo_first_ip, args.demo_port_offset, &state.deckies())?
        }
        (None, false) => Vec::new(),
    };
    // Deckies the master deployed before a restart come back, unless the fleet file now
    // defines a decky of the same name.
    for spec in desired.specs(&state.deckies())? {
        if !specs.iter().any(|s| s.name == spec.name) {
            specs.push(spec);
        }
    }

    let broker = Broker::new(BrokerConfig::default());
    let _bus_server = match BusServer::bind(broker.clone(), ServerConfig::new(state.bus_socket()))
        .await
    {
        Ok(server) => Some(server),
        Err(error) => {
            tracing::warn!(%error, path = %state.bus_socket().display(), "bus socket not served; in-process bus only");
            None
        }
    };
    let outbox = Outbox::open(state.outbox(), decnet_outbox::Config::default())
        .with_context(|| format!("cannot open the outbox in {}", state.outbox().display()))?;
    let sink = Arc::new(OutboxSink::new(outbox.clone()));
    let deckies = Arc::new(Deckies::new(&host, broker.clone(), sink));

    let containers = CancellationToken::new();
    let mut container_tasks = Vec::new();
    let mut container_fleet = None;
    if args.driver == Driver::Docker {
        let engine = EngineArgs {
            engine: args.engine.clone(),
            state_dir: Some(state.root().to_path_buf()),
        };
        let setup = DockerSetup::open(&engine).await?;
        let driver = setup.driver().await?;
        container_fleet = Some(ContainerFleet::new(driver.clone(), setup.store()));
        let reconciler = Reconciler::new(driver, setup.store());
        let collected: Arc<dyn EventSink> = Arc::new(OutboxSink::new(outbox.clone()));
        container_tasks = spawn_workers(&setup, reconciler, collected, &containers);
        tracing::info!("container deckies: reconciler and collector running");
    }

    let mut config = AgentConfig::new(file.masters[0].clone());
    config.masters = file.masters.clone();
    config.state_dir = Some(state.root().to_path_buf());
    let link = AgentLink::builder(config, identity, broker.clone())
        .durable(Arc::new(outbox.clone()))
        .handler(Arc::new({
            let control = AgentControl::new(deckies.clone(), desired, state.deckies());
            match container_fleet {
                Some(fleet) => control.with_containers(fleet),
                None => control,
            }
        }))
        .start()
        .context("cannot start the link to the master")?;
    tracing::info!(%host, masters = ?file.masters, "agent running");

    deckies.set(specs).await;
    deckies.control(true).await;
    for line in deckies.summary().await {
        println!("{line}");
    }
    println!(
        "DECNET agent {host} running; masters: {}",
        file.masters.join(", ")
    );

    let signal = decnet_runtime::shutdown::signal().await;
    tracing::info!(signal, "stopping");
    deckies.shutdown().await;
    containers.cancel();
    for task in container_tasks {
        let _ = task.await;
    }
    // Give the link a moment to stream what the last sessions produced.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while outbox.first_unacked() < outbox.next_seq() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    link.shutdown().await;
    // The decky-side count the swarm test compares the master's database with.
    println!(
        "DECNET agent {host} stopped: events appended {}, acknowledged by the master {}",
        outbox.next_seq().saturating_sub(1),
        outbox.acked()
    );
    if let Err(e) = outbox.close() {
        tracing::warn!(error = %e, "outbox close failed");
    }
    Ok(())
}
