//! `GET /api/v1/health`: the process, the database, the bus, mesh links, ingest and workers.
//!
//! The status code depends on the database alone (200 reachable, 503 not): without it
//! nothing works; the other components degrade the API without stopping it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use decnet_mesh::bus::Bus;
use decnet_mesh::topic::system;
use futures::StreamExt;
use parking_lot::Mutex;
use serde::Serialize;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::mesh::LinkState;

/// A health probe must answer quickly even when the database hangs.
const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A worker whose last heartbeat is older than this is reported stale (beats every 30 s).
const WORKER_STALE_AFTER: Duration = Duration::from_secs(90);

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Progress of the ingest, as reported by the ingest itself.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct IngestHealth {
    /// Whether an ingest runs in this process.
    pub running: bool,
    /// Batches committed since start.
    pub batches: u64,
    /// Events stored since start.
    pub events: u64,
    /// Commits that failed since start.
    pub failures: u64,
    /// Milliseconds since the latest commit.
    pub last_commit_age_ms: Option<u64>,
    /// Lag: milliseconds between now and the newest event stored (meaningful while
    /// events flow; grows when agents are quiet).
    pub lag_ms: Option<u64>,
}

/// The ingest's self-report; [`NoIngest`] when no ingest runs in this process.
pub trait IngestProbe: Send + Sync + std::fmt::Debug {
    /// Current state.
    fn health(&self) -> IngestHealth;
}

/// No ingest in this process.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoIngest;

impl IngestProbe for NoIngest {
    fn health(&self) -> IngestHealth {
        IngestHealth::default()
    }
}

fn age_ms(t: Option<OffsetDateTime>) -> Option<u64> {
    t.map(|t| {
        u64::try_from((OffsetDateTime::now_utc() - t).whole_milliseconds().max(0))
            .unwrap_or(u64::MAX)
    })
}

impl IngestProbe for crate::ingest::Ingest {
    fn health(&self) -> IngestHealth {
        let s = self.stats();
        IngestHealth {
            running: true,
            batches: s.batches,
            events: s.events,
            failures: s.failures,
            last_commit_age_ms: age_ms(s.last_commit),
            lag_ms: age_ms(s.newest_event),
        }
    }
}

/// Last heartbeat of each worker, from `system.*.health` on the bus.
#[derive(Debug, Clone, Default)]
pub struct WorkerBoard {
    seen: Arc<Mutex<HashMap<String, OffsetDateTime>>>,
}

impl WorkerBoard {
    /// Follows heartbeats until `shutdown`.
    pub fn start(bus: &Bus, shutdown: CancellationToken) -> Self {
        let board = Self::default();
        let seen = board.seen.clone();
        let mut beats = bus.subscribe(&system::all_health());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    beat = beats.next() => {
                        let Some(beat) = beat else { break };
                        if let Some(worker) = beat.topic().tokens().nth(1) {
                            let mut seen = seen.lock();
                            if seen.len() < 1024 || seen.contains_key(worker) {
                                seen.insert(worker.to_owned(), beat.timestamp());
                            }
                        }
                    }
                }
            }
        });
        board
    }

    fn snapshot(&self) -> Vec<WorkerHealth> {
        let now = OffsetDateTime::now_utc();
        let mut v: Vec<WorkerHealth> = self
            .seen
            .lock()
            .iter()
            .map(|(name, at)| {
                let age = (now - *at).whole_seconds().max(0) as u64;
                WorkerHealth {
                    name: name.clone(),
                    last_heartbeat_s: age,
                    status: if age <= WORKER_STALE_AFTER.as_secs() {
                        "ok"
                    } else {
                        "stale"
                    },
                }
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

/// One worker's liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerHealth {
    /// Worker name.
    pub name: String,
    /// Seconds since its last heartbeat.
    pub last_heartbeat_s: u64,
    /// `ok` or `stale`.
    pub status: &'static str,
}

/// The host bus.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusHealth {
    /// `ok`, or `disabled` for the no-op bus.
    pub status: &'static str,
    /// Events this process dropped publishing.
    pub publish_dropped: u64,
}

/// Mesh links.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeshHealth {
    /// Whether this master has a mesh view.
    pub wired: bool,
    /// Links up.
    pub links_up: usize,
    /// Links known.
    pub links_total: usize,
}

/// Live streams.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveHealth {
    /// `bus`, or `polling` when the bus is disabled.
    pub driven_by: &'static str,
    /// Streams open.
    pub open_streams: usize,
}

/// Body of the health response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database is down.
    pub status: &'static str,
    /// Version of this binary.
    pub version: &'static str,
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// The host bus.
    pub bus: BusHealth,
    /// Mesh links.
    pub mesh: MeshHealth,
    /// Ingest progress.
    pub ingest: IngestHealth,
    /// Workers heard on the bus.
    pub workers: Vec<WorkerHealth>,
    /// Live streams.
    pub live: LiveHealth,
}

/// Health of the master; needs no authentication (load balancers and probes call it).
#[utoipa::path(
    get, path = "/health", tag = "system",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database is unavailable", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database_ok = match tokio::time::timeout(DATABASE_PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "health: database unavailable");
            false
        }
        Err(_) => {
            tracing::warn!("health: database probe timed out");
            false
        }
    };
    let (code, status, database) = if database_ok {
        (StatusCode::OK, "ok", "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded", "unavailable")
    };
    let links = state.mesh.links();
    let health = Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        database,
        bus: BusHealth {
            status: if state.bus.is_enabled() {
                "ok"
            } else {
                "disabled"
            },
            publish_dropped: state.bus.stats().publish_dropped,
        },
        mesh: MeshHealth {
            wired: state.mesh.is_wired(),
            links_up: links.iter().filter(|l| l.state == LinkState::Up).count(),
            links_total: links.len(),
        },
        ingest: state.ingest.health(),
        workers: state.workers.snapshot(),
        live: LiveHealth {
            driven_by: if state.hub.driven_by_bus() {
                "bus"
            } else {
                "polling"
            },
            open_streams: state.hub.open_streams(),
        },
    };
    (code, Json(health))
}
