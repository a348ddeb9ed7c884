//! The master's control calls on this agent: status, worker start/stop, deploy, teardown.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use decnet_mesh::quic::{
    ControlHandler, ControlRequest, ControlResponse, HostStatus, RemoteError, WorkerAction,
    WorkerOutcome, WorkerStatus,
};

use crate::deckies::{self, Deckies};

/// Serves control calls against the agent's workers.
pub struct AgentControl {
    deckies: Arc<Deckies>,
    started: Instant,
}

impl AgentControl {
    /// Control over `deckies`.
    pub fn new(deckies: Arc<Deckies>) -> Self {
        AgentControl {
            deckies,
            started: Instant::now(),
        }
    }
}

#[async_trait]
impl ControlHandler for AgentControl {
    async fn handle(&self, request: ControlRequest) -> Result<ControlResponse, RemoteError> {
        match request {
            ControlRequest::Status => Ok(ControlResponse::Status(HostStatus {
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                uptime_s: self.started.elapsed().as_secs(),
                deckies: self.deckies.status().await,
                workers: vec![WorkerStatus {
                    name: deckies::WORKER.to_owned(),
                    running: self.deckies.is_running().await,
                }],
            })),
            ControlRequest::Worker {
                name,
                action,
                requested_by,
            } => {
                let outcome = if name == deckies::WORKER {
                    self.deckies.control(action == WorkerAction::Start).await
                } else {
                    WorkerOutcome::UnknownWorker
                };
                tracing::info!(worker = %name, ?action, %requested_by, ?outcome, "worker control from the master");
                Ok(ControlResponse::Worker { name, outcome })
            }
            ControlRequest::Deploy { .. } | ControlRequest::Teardown { .. } => {
                Err(RemoteError::Unsupported)
            }
        }
    }
}
