//! [`Deployer`] over the mesh: deploy and teardown requests become control calls on the
//! target agent; their progress is kept for `GET /deckies/deploy/{id}`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use decnet_mesh::quic::{ControlRequest, ControlResponse, MasterMesh};
use decnet_pki::HostName;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::deploy::{
    DeployError, DeployState, Deployer, Operation, Request, Spec, Target, Tracking, TrackingBook,
};

/// How long an agent may take to apply a deployment.
const DEPLOY_DEADLINE: Duration = Duration::from_secs(120);

/// Dispatches over the mesh.
#[derive(Clone)]
pub struct MeshDeployer {
    mesh: MasterMesh,
    embedded: Option<HostName>,
    book: TrackingBook,
}

impl std::fmt::Debug for MeshDeployer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshDeployer")
            .field("embedded", &self.embedded)
            .finish_non_exhaustive()
    }
}

impl MeshDeployer {
    /// Dispatches through `mesh`; [`Target::Embedded`] means the host `embedded` (the agent
    /// `decnet-master up` runs), when there is one.
    pub fn new(mesh: MasterMesh, embedded: Option<HostName>) -> Self {
        MeshDeployer {
            mesh,
            embedded,
            book: TrackingBook::default(),
        }
    }
}

#[async_trait]
impl Deployer for MeshDeployer {
    async fn submit(&self, request: Request) -> Result<Tracking, DeployError> {
        let host = match &request.target {
            Target::Embedded => self.embedded.clone().ok_or_else(|| {
                DeployError("this master runs no embedded agent; name a host".into())
            })?,
            Target::Host(name) => name
                .parse::<HostName>()
                .map_err(|e| DeployError(format!("host {name:?}: {e}")))?,
        };
        let calls: Vec<ControlRequest> = match (request.operation, &request.spec) {
            (Operation::Deploy, Some(Spec::Ini(text))) => vec![ControlRequest::Deploy {
                spec: Bytes::from(text.clone().into_bytes()),
            }],
            (Operation::Deploy, Some(Spec::Json(_))) => {
                return Err(DeployError(
                    "JSON fleet specs are not accepted by agents yet; send an INI fleet file"
                        .into(),
                ));
            }
            (Operation::Deploy, None) => return Err(DeployError("no fleet to deploy".into())),
            (Operation::Teardown, _) => request
                .deckies
                .iter()
                .map(|d| ControlRequest::Teardown { decky: d.clone() })
                .collect(),
        };
        let connected = self.mesh.host(&host).is_some();
        let tracking = Tracking {
            id: request.id,
            operation: request.operation,
            target: request.target.clone(),
            deckies: request.deckies.clone(),
            state: if connected {
                DeployState::Dispatched
            } else {
                DeployState::NotConnected
            },
            message: if connected {
                format!("sent to {host}")
            } else {
                format!("host {host} is not connected; nothing was dispatched")
            },
            requested_at: OffsetDateTime::now_utc(),
        };
        self.book.record(&tracking);
        if !connected {
            return Ok(tracking);
        }
        tracing::info!(id = %request.id, %host, operation = ?request.operation, by = %request.requested_by, "dispatching");
        let this = self.clone();
        let id = request.id;
        tokio::spawn(async move {
            this.book
                .update(id, DeployState::Running, format!("{host} is applying it"));
            let mut done = Vec::new();
            for call in calls {
                match this.mesh.call(&host, call, DEPLOY_DEADLINE).await {
                    Ok(ControlResponse::Deployed { deckies }) => done.extend(deckies),
                    Ok(ControlResponse::TornDown { decky }) => done.push(decky),
                    Ok(other) => {
                        this.book.update(
                            id,
                            DeployState::Failed,
                            format!("unexpected answer: {other:?}"),
                        );
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(%id, %host, error = %e, "deployment failed");
                        this.book.update(id, DeployState::Failed, e.to_string());
                        return;
                    }
                }
            }
            this.book.update(
                id,
                DeployState::Succeeded,
                format!("done on {host}: {}", done.join(", ")),
            );
        });
        Ok(tracking)
    }

    async fn status(&self, id: Uuid) -> Option<Tracking> {
        self.book.get(id)
    }
}
