//! The master's control calls on this agent: status, worker start/stop, deploy, teardown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use decnet_mesh::quic::{
    ControlHandler, ControlRequest, ControlResponse, HostStatus, RemoteError, WorkerAction,
    WorkerOutcome, WorkerStatus,
};

use crate::deckies::{self, Deckies};
use crate::desired::DesiredFleet;
use crate::docker::fleet::ContainerFleet;

/// Serves control calls against the agent's workers.
pub struct AgentControl {
    deckies: Arc<Deckies>,
    desired: DesiredFleet,
    data_root: PathBuf,
    containers: Option<ContainerFleet>,
    started: Instant,
}

impl AgentControl {
    /// Control over `deckies`; deployments are recorded in `desired`, decky files go under
    /// `data_root`.
    pub fn new(deckies: Arc<Deckies>, desired: DesiredFleet, data_root: PathBuf) -> Self {
        AgentControl {
            deckies,
            desired,
            data_root,
            containers: None,
            started: Instant::now(),
        }
    }

    /// Deploys go to container deckies (`run --driver docker`) instead of in-process ones.
    pub fn with_containers(mut self, containers: ContainerFleet) -> Self {
        self.containers = Some(containers);
        self
    }
}

#[async_trait]
impl ControlHandler for AgentControl {
    async fn handle(&self, request: ControlRequest) -> Result<ControlResponse, RemoteError> {
        match request {
            ControlRequest::Status => Ok(ControlResponse::Status(HostStatus {
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                uptime_s: self.started.elapsed().as_secs(),
                deckies: {
                    let mut rows = self.deckies.status().await;
                    if let Some(c) = &self.containers {
                        rows.extend(c.status().await);
                    }
                    rows
                },
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
            ControlRequest::Deploy { spec } => {
                let text = std::str::from_utf8(&spec)
                    .map_err(|_| RemoteError::Failed("the fleet file is not UTF-8".into()))?;
                if let Some(containers) = &self.containers {
                    let deckies = containers
                        .deploy(text)
                        .await
                        .map_err(|e| RemoteError::Failed(format!("{e:#}")))?;
                    tracing::info!(
                        ?deckies,
                        "container deckies deployed on the master's request"
                    );
                    return Ok(ControlResponse::Deployed { deckies });
                }
                let specs = crate::fleet::from_text(text, &self.data_root)
                    .map_err(|e| RemoteError::Failed(format!("{e:#}")))?;
                let deckies = self.deckies.apply(specs).await;
                if let Err(e) = self.desired.deployed(text, &deckies) {
                    tracing::error!(error = %format!("{e:#}"), "deployed, but not recorded: an agent restart will not bring these deckies back");
                }
                tracing::info!(?deckies, "deployed on the master's request");
                Ok(ControlResponse::Deployed { deckies })
            }
            ControlRequest::Teardown { decky } => {
                if let Some(containers) = &self.containers {
                    match containers.teardown(&decky).await {
                        Ok(true) => {
                            tracing::info!(%decky, "container decky torn down on the master's request");
                            return Ok(ControlResponse::TornDown { decky });
                        }
                        Ok(false) => {}
                        Err(e) => return Err(RemoteError::Failed(format!("{e:#}"))),
                    }
                }
                if self.deckies.remove(&decky).await {
                    if let Err(e) = self.desired.removed(&decky) {
                        tracing::error!(error = %format!("{e:#}"), %decky, "torn down, but not recorded");
                    }
                    tracing::info!(%decky, "torn down on the master's request");
                    Ok(ControlResponse::TornDown { decky })
                } else {
                    Err(RemoteError::Failed(format!("no decky named {decky}")))
                }
            }
        }
    }
}
