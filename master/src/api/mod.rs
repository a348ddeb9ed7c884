//! The REST API under `/api/v1`: routes, auth extractors, hardening, OpenAPI document.
//!
//! Every route is registered through utoipa's router, so the OpenAPI document and the
//! router cannot disagree; `master/tests/api_matrix.rs` drives every documented route
//! with every role.

mod attackers;
mod auth;
mod coalesce;
mod credentials;
mod deckies;
pub mod deploy;
mod error;
mod events;
pub mod extract;
mod fleet_ini;
pub mod health;
mod hosts;
pub mod mesh;
pub mod openapi;
mod security;
mod sessions;
mod stats;
mod stream;
mod users;
mod views;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use decnet_mesh::bus::Bus;
use decnet_runtime::config::Secret;
use tokio_util::sync::{CancellationToken, DropGuard};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Gate;
use crate::auth::jwt::JwtKeys;
use crate::config::ApiConfig;
use crate::sse::Hub;
use crate::store::Store;

pub use deploy::{Deployer, RecordingDeployer};
pub use error::{ApiError, ErrorBody};
pub use health::{IngestProbe, NoIngest, WorkerBoard};
pub use mesh::{MeshView, NoMesh};

/// How often expired revocations are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub use crate::swarm::Enrollment;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Token verification, login throttling, stream tickets.
    pub gate: Arc<Gate>,
    /// The master's host bus (the no-op bus when disabled).
    pub bus: Bus,
    /// Live events for streams.
    pub hub: Hub,
    /// Worker heartbeats.
    pub workers: WorkerBoard,
    /// Mesh link state.
    pub mesh: Arc<dyn MeshView>,
    /// Deployment dispatch.
    pub deployer: Arc<dyn Deployer>,
    /// Ingest self-report.
    pub ingest: Arc<dyn IngestProbe>,
    /// Enrollment parameters; `None` when this master has no mesh endpoint yet.
    pub enrollment: Option<Arc<Enrollment>>,
    /// API settings.
    pub settings: Arc<ApiConfig>,
    /// Identical reads in flight.
    pub reads: Arc<coalesce::Coalescer>,
    /// Stops the background tasks when the last clone is dropped.
    _tasks: Arc<DropGuard>,
}

/// Assembles an [`AppState`]; see [`AppState::builder`].
#[derive(Debug)]
pub struct AppStateBuilder {
    store: Store,
    keys: JwtKeys,
    api: ApiConfig,
    bus: Bus,
    mesh: Arc<dyn MeshView>,
    deployer: Arc<dyn Deployer>,
    ingest: Arc<dyn IngestProbe>,
    enrollment: Option<Arc<Enrollment>>,
    shutdown: CancellationToken,
}

impl AppState {
    /// A state with the no-op bus, no mesh, the recording deployer and no ingest probe.
    pub fn builder(store: Store, jwt_secret: &Secret, api: &ApiConfig) -> AppStateBuilder {
        AppStateBuilder {
            store,
            keys: JwtKeys::new(jwt_secret, api.token_ttl),
            api: api.clone(),
            bus: Bus::disabled("api"),
            mesh: Arc::new(NoMesh),
            deployer: Arc::new(RecordingDeployer::default()),
            ingest: Arc::new(NoIngest),
            enrollment: None,
            shutdown: CancellationToken::new(),
        }
    }
}

impl AppStateBuilder {
    /// The master bus (live streams and worker health follow it).
    pub fn bus(mut self, bus: Bus) -> Self {
        self.bus = bus;
        self
    }

    /// The mesh view.
    pub fn mesh(mut self, mesh: Arc<dyn MeshView>) -> Self {
        self.mesh = mesh;
        self
    }

    /// The deployment dispatcher.
    pub fn deployer(mut self, deployer: Arc<dyn Deployer>) -> Self {
        self.deployer = deployer;
        self
    }

    /// The ingest probe.
    pub fn ingest(mut self, ingest: Arc<dyn IngestProbe>) -> Self {
        self.ingest = ingest;
        self
    }

    /// Enrollment parameters.
    pub fn enrollment(mut self, enrollment: Enrollment) -> Self {
        self.enrollment = Some(Arc::new(enrollment));
        self
    }

    /// Stops the background tasks when cancelled (they also stop with the last state clone).
    pub fn shutdown(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// Starts the background tasks (live hub, worker board, revocation pruning).
    pub fn build(self) -> AppState {
        let tasks = self.shutdown.child_token();
        let pool = self.store.pool().clone();
        let hub = Hub::start(
            pool.clone(),
            self.bus.clone(),
            self.api.sse_max_per_user,
            tasks.clone(),
        );
        let workers = WorkerBoard::start(&self.bus, tasks.clone());
        let prune = tasks.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRUNE_EVERY);
            loop {
                tokio::select! {
                    () = prune.cancelled() => break,
                    _ = every.tick() => {
                        match crate::auth::accounts::prune_revoked(&pool).await {
                            Ok(0) => {}
                            Ok(n) => tracing::debug!(n, "pruned expired token revocations"),
                            Err(error) => tracing::warn!(%error, "pruning token revocations failed"),
                        }
                    }
                }
            }
        });
        AppState {
            store: self.store,
            gate: Arc::new(Gate::new(self.keys)),
            bus: self.bus,
            hub,
            workers,
            mesh: self.mesh,
            deployer: self.deployer,
            ingest: self.ingest,
            enrollment: self.enrollment,
            settings: Arc::new(self.api),
            reads: Arc::default(),
            _tasks: Arc::new(tasks.drop_guard()),
        }
    }
}

fn routes() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(hosts::routes())
        .merge(workers::routes())
        .merge(deckies::routes())
        .merge(events::routes())
        .merge(attackers::routes())
        .merge(sessions::routes())
        .merge(credentials::routes())
        .merge(stats::routes())
        .merge(stream::routes())
        .merge(health::routes())
        .routes(routes!(openapi::openapi_json));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/api/v1", v1)
}

/// The OpenAPI document of every route.
pub fn document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The API router.
pub fn router(state: AppState) -> Router {
    let (api, doc) = routes().split_for_parts();
    let json = doc
        .to_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"OpenAPI rendering failed: {e}"}}"#));
    let limit = state.settings.request_timeout;
    let mut router = api
        .fallback(crate::web_assets::serve)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(axum::middleware::from_fn(move |req, next| {
            security::timeout(limit, req, next)
        }))
        .layer(Extension(openapi::Document(Arc::from(json))))
        .layer(TraceLayer::new_for_http());
    if let Some(cors) = security::cors(&state.settings.cors_allowed_origins) {
        router = router.layer(cors);
    }
    router
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}
