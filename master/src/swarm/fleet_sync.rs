//! The `deckies` table follows what agents report: every few seconds, and at once when a
//! `decky.*.state` notice arrives over the mesh, each connected host is asked for its
//! status and its deckies are written back.

use std::collections::HashSet;
use std::time::Duration;

use decnet_mesh::quic::{ControlRequest, ControlResponse, DeckyStatus, MasterMesh};
use decnet_mesh::topic::decky;
use decnet_pki::HostName;
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::deckies::{self, DeckyReport, DeckyService, DeckyState};

/// What agents publish on `decky.{id}.state`.
#[derive(Debug, serde::Deserialize)]
struct StateNotice {
    decky: String,
    host: String,
    state: String,
}

const EVERY: Duration = Duration::from_secs(5);
const DEADLINE: Duration = Duration::from_secs(5);

/// Runs until `cancel`.
pub async fn run(store: Store, mesh: MasterMesh, cancel: CancellationToken) {
    let mut notices = mesh.subscribe(&decky::all_state());
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut known: HashSet<HostName> = HashSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
            Some(env) = notices.next() => {
                match env.decode::<StateNotice>() {
                    Ok(n) => tracing::info!(host = %n.host, decky = %n.decky, state = %n.state, "decky state notice"),
                    Err(e) => tracing::warn!(topic = %env.topic(), error = %e, "undecodable decky state notice"),
                }
                // Coalesce a burst of notices (a fleet starting) into one refresh.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let connected: Vec<HostName> = mesh.hosts().into_iter().map(|h| h.host).collect();
        for host in &connected {
            match mesh.call(host, ControlRequest::Status, DEADLINE).await {
                Ok(ControlResponse::Status(status)) => {
                    if let Err(e) = record(&store, host, &status.deckies).await {
                        tracing::warn!(%host, error = %e, "cannot record decky states");
                    }
                }
                Ok(other) => tracing::warn!(%host, ?other, "unexpected status answer"),
                Err(e) => tracing::debug!(%host, error = %e, "status call failed"),
            }
        }
        // Deckies of a host that went away are no longer known to run.
        for host in known.iter().filter(|h| !connected.contains(h)) {
            if let Err(e) = mark_host(&store, host, DeckyState::Degraded).await {
                tracing::warn!(%host, error = %e, "cannot mark deckies of a disconnected host");
            }
        }
        known = connected.into_iter().collect();
    }
}

fn state_of(s: &str) -> DeckyState {
    match s {
        "running" => DeckyState::Running,
        "failed" => DeckyState::Failed,
        "stopped" => DeckyState::Stopped,
        _ => DeckyState::Degraded,
    }
}

async fn record(
    store: &Store,
    host: &HostName,
    reported: &[DeckyStatus],
) -> Result<(), crate::store::StoreError> {
    for d in reported {
        let report = DeckyReport {
            name: d.id.clone(),
            host: host.to_string(),
            ip: d.ip,
            persona: d.persona.clone(),
            os: d.os.clone(),
            state: state_of(&d.state),
            last_error: d.error.clone(),
            spec_hash: None,
            services: d
                .services
                .iter()
                .map(|(service, port)| DeckyService {
                    service: service.clone(),
                    port: Some(*port),
                    state: "running".into(),
                })
                .collect(),
        };
        if let Err(e) = deckies::upsert_state(store, &report).await {
            tracing::warn!(decky = %d.id, error = %e, "decky state not stored");
        }
    }
    // Deckies this host no longer reports were torn down.
    for stored in deckies::list(store, Some(host.as_str())).await? {
        if !reported.iter().any(|d| d.id == stored.name) {
            deckies::remove(store, &stored.name).await?;
        }
    }
    Ok(())
}

async fn mark_host(
    store: &Store,
    host: &HostName,
    state: DeckyState,
) -> Result<(), crate::store::StoreError> {
    for stored in deckies::list(store, Some(host.as_str())).await? {
        deckies::set_state(store, &stored.name, state, Some("agent disconnected")).await?;
    }
    Ok(())
}
