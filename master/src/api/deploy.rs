//! Dispatching deployments and teardowns to agents.
//!
//! The mesh/agent side implements [`Deployer`]. Until then [`RecordingDeployer`] keeps each
//! request in memory and says plainly that nothing was dispatched (`not_connected`).

use std::collections::HashMap;

use parking_lot::Mutex;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a deployment goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", content = "host", rename_all = "snake_case")]
pub enum Target {
    /// The agent embedded in `decnet-master up`.
    Embedded,
    /// An enrolled agent host, by name.
    Host(String),
}

/// What to deploy.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// A fleet INI file, as uploaded.
    Ini(String),
    /// A JSON fleet spec, as uploaded.
    Json(serde_json::Value),
}

/// What is asked of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Deploy (or replace) deckies.
    Deploy,
    /// Remove a decky.
    Teardown,
}

/// Progress of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    /// Recorded, but no agent connection could take it: nothing was dispatched.
    NotConnected,
    /// Sent to the agent.
    Dispatched,
    /// The agent is applying it.
    Running,
    /// Done.
    Succeeded,
    /// The agent gave up.
    Failed,
}

/// A deployment or teardown request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Tracking id.
    pub id: Uuid,
    /// Deploy or teardown.
    pub operation: Operation,
    /// Where.
    pub target: Target,
    /// Deckies concerned.
    pub deckies: Vec<String>,
    /// The spec (deploy only).
    pub spec: Option<Spec>,
    /// Who asked.
    pub requested_by: String,
}

/// Where a request stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tracking {
    /// Tracking id.
    pub id: Uuid,
    /// Deploy or teardown.
    pub operation: Operation,
    /// Where.
    pub target: Target,
    /// Deckies concerned.
    pub deckies: Vec<String>,
    /// Progress.
    pub state: DeployState,
    /// Human-readable status.
    pub message: String,
    /// When it was asked (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: OffsetDateTime,
}

/// Dispatching failed outright.
#[derive(Debug, thiserror::Error)]
#[error("deployment dispatch failed: {0}")]
pub struct DeployError(pub String);

/// Sends deployments and teardowns to agents and tracks them.
#[async_trait::async_trait]
pub trait Deployer: Send + Sync + std::fmt::Debug {
    /// Accepts a request; answers at once with its tracking state.
    async fn submit(&self, request: Request) -> Result<Tracking, DeployError>;

    /// Where a request stands.
    async fn status(&self, id: Uuid) -> Option<Tracking>;
}

/// Requests remembered; the oldest are forgotten past this.
const KEEP: usize = 1000;

/// The tracking states of recent requests, bounded to the latest [`KEEP`]. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct TrackingBook {
    requests: std::sync::Arc<Mutex<HashMap<Uuid, Tracking>>>,
}

impl TrackingBook {
    /// Records `tracking`, forgetting the oldest request when full (ids are UUIDv7).
    pub fn record(&self, tracking: &Tracking) {
        let mut map = self.requests.lock();
        if map.len() >= KEEP
            && let Some(oldest) = map.keys().min().copied()
        {
            map.remove(&oldest);
        }
        map.insert(tracking.id, tracking.clone());
    }

    /// Moves request `id` to `state` with `message`.
    pub fn update(&self, id: Uuid, state: DeployState, message: String) {
        if let Some(t) = self.requests.lock().get_mut(&id) {
            t.state = state;
            t.message = message;
        }
    }

    /// Where request `id` stands.
    pub fn get(&self, id: Uuid) -> Option<Tracking> {
        self.requests.lock().get(&id).cloned()
    }
}

/// Records requests without dispatching them (no agent link exists yet).
#[derive(Debug, Default)]
pub struct RecordingDeployer {
    book: TrackingBook,
}

#[async_trait::async_trait]
impl Deployer for RecordingDeployer {
    async fn submit(&self, request: Request) -> Result<Tracking, DeployError> {
        let tracking = Tracking {
            id: request.id,
            operation: request.operation,
            target: request.target,
            deckies: request.deckies,
            state: DeployState::NotConnected,
            message: "recorded but not dispatched: no agent connection is available \
                      to this master yet"
                .into(),
            requested_at: OffsetDateTime::now_utc(),
        };
        self.book.record(&tracking);
        Ok(tracking)
    }

    async fn status(&self, id: Uuid) -> Option<Tracking> {
        self.book.get(id)
    }
}
