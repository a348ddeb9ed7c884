//! The swarm side of the master: the CA, the enrollment endpoint, the QUIC mesh that agents
//! hold open, and the durable stream into ingest.
//!
//! The database is the registry's source of truth: on start every live host's certificate
//! fingerprints are pinned, enrollments pin new ones, and [`sync`] polls for revocations made
//! by another process (`decnet-master hosts revoke`) so a revoked link closes within a second.

mod authority;
mod deployer;
mod fleet_sync;
mod sync;
pub mod tokens;
mod view;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use decnet_mesh::bus::Broker;
use decnet_mesh::enroll::EnrollmentServer;
use decnet_mesh::quic::{CaRenewer, MasterConfig, MasterMesh};
use decnet_pki::{
    AGENT_CERT_VALIDITY, CertificateAuthority, Fingerprint, HostName, MASTER_DNS_NAME,
    MemoryRegistry, SERVER_CERT_VALIDITY, ServerIdentity,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::ingest::{Ingest, MeshSink};
use crate::store::Store;
use crate::store::hosts;

pub use authority::DbAuthority;
pub use deployer::MeshDeployer;
pub use view::SwarmView;

/// File in the PKI directory telling CLI commands how agents reach this master.
pub const ENROLLMENT_FILE: &str = "enrollment.json";

/// What enrollment tokens point agents at: the master's enrollment addresses and CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// `HOST:PORT` of the master's enrollment endpoint(s).
    pub master_addrs: Vec<String>,
    /// SHA-256 of the CA certificate agents pin.
    pub ca_fingerprint: Fingerprint,
}

impl Enrollment {
    /// Reads what the running (or last) master wrote into `pki_dir`.
    pub fn load(pki_dir: &Path) -> anyhow::Result<Self> {
        let path = pki_dir.join(ENROLLMENT_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (start the master once so it creates its CA and mesh endpoint)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is corrupt", path.display()))
    }

    fn save(&self, pki_dir: &Path) -> anyhow::Result<()> {
        let path = pki_dir.join(ENROLLMENT_FILE);
        let tmp = pki_dir.join(format!("{ENROLLMENT_FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

/// Where and how the swarm endpoints run.
#[derive(Debug, Clone)]
pub struct SwarmSettings {
    /// Mesh UDP address.
    pub listen: SocketAddr,
    /// Enrollment UDP address; `None` is the mesh IP with the mesh port + 1 (or any port when
    /// the mesh port is 0).
    pub enroll_listen: Option<SocketAddr>,
    /// Mesh `HOST:PORT`s as agents reach them; empty means the bound mesh address.
    pub advertise: Vec<String>,
    /// The CA's directory.
    pub pki_dir: PathBuf,
    /// Name of this deployment, written into the CA's subject.
    pub deployment: String,
}

/// The running swarm endpoints. Stop with [`Swarm::shutdown`].
pub struct Swarm {
    mesh: MasterMesh,
    enroll: EnrollmentServer,
    enrollment: Arc<Enrollment>,
    cancel: CancellationToken,
    tasks: parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Swarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swarm")
            .field("enrollment", &self.enrollment)
            .finish_non_exhaustive()
    }
}

impl Swarm {
    /// Loads or creates the CA, pins the enrolled hosts and starts both endpoints.
    pub async fn start(
        settings: &SwarmSettings,
        store: &Store,
        broker: &Broker,
        ingest: Ingest,
    ) -> anyhow::Result<Swarm> {
        let ca = Arc::new(
            CertificateAuthority::load_or_create(&settings.pki_dir, &settings.deployment)
                .with_context(|| format!("mesh.pki_dir {}", settings.pki_dir.display()))?,
        );
        let identity =
            ServerIdentity::generate(&ca, &[MASTER_DNS_NAME.to_owned()], SERVER_CERT_VALIDITY)
                .context("cannot issue the mesh server certificate")?;
        let registry = Arc::new(MemoryRegistry::new());
        let pinned = pin_enrolled_hosts(store, &registry).await?;
        let renewer = Arc::new(sync::PersistingRenewer::new(
            CaRenewer::new(ca.clone(), registry.clone(), AGENT_CERT_VALIDITY),
            store.clone(),
            registry.clone(),
        ));
        let config = MasterConfig {
            listen: settings.listen,
            ..MasterConfig::default()
        };
        let mesh = MasterMesh::builder(config, &identity, registry.clone(), broker.clone())
            .renewer(renewer)
            .sink(Arc::new(MeshSink::new(ingest)))
            .start()
            .with_context(|| format!("mesh.listen {}: cannot start the mesh", settings.listen))?;
        let mesh_addr = mesh.local_addr()?;
        let mesh_addrs = if settings.advertise.is_empty() {
            vec![mesh_addr.to_string()]
        } else {
            settings.advertise.clone()
        };
        let enroll_listen = settings.enroll_listen.unwrap_or_else(|| {
            // A free port for a free port; otherwise the documented "mesh port + 1".
            let port = match settings.listen.port() {
                0 => 0,
                p => p.saturating_add(1),
            };
            SocketAddr::new(settings.listen.ip(), port)
        });
        let authority = Arc::new(DbAuthority::new(
            store.clone(),
            ca.clone(),
            registry.clone(),
            mesh_addrs.clone(),
        ));
        let enroll = EnrollmentServer::start(enroll_listen, &identity, authority)
            .with_context(|| format!("cannot start the enrollment endpoint on {enroll_listen}"))?;
        let enroll_port = enroll.local_addr()?.port();
        let enrollment = Arc::new(Enrollment {
            master_addrs: mesh_addrs
                .iter()
                .map(|addr| with_port(addr, enroll_port))
                .collect(),
            ca_fingerprint: ca.fingerprint(),
        });
        enrollment.save(&settings.pki_dir)?;
        let cancel = CancellationToken::new();
        let tasks = vec![
            tokio::spawn(sync::run(
                store.clone(),
                mesh.clone(),
                registry.clone(),
                cancel.clone(),
            )),
            tokio::spawn(fleet_sync::run(store.clone(), mesh.clone(), cancel.clone())),
        ];
        tracing::info!(
            mesh = %mesh_addr,
            enroll = ?enroll.local_addr().ok(),
            ca = %ca.fingerprint(),
            hosts = pinned,
            "swarm endpoints running"
        );
        Ok(Swarm {
            mesh,
            enroll,
            enrollment,
            cancel,
            tasks: parking_lot::Mutex::new(tasks),
        })
    }

    /// What tokens carry.
    pub fn enrollment(&self) -> Arc<Enrollment> {
        self.enrollment.clone()
    }

    /// The mesh, for subscriptions and control calls.
    pub fn mesh(&self) -> &MasterMesh {
        &self.mesh
    }

    /// The API's view of the links.
    pub fn view(&self) -> Arc<SwarmView> {
        Arc::new(SwarmView::new(self.mesh.clone()))
    }

    /// Deployments over the mesh; `embedded` is the host of `decnet-master up`'s own agent.
    pub fn deployer(&self, embedded: Option<HostName>) -> Arc<MeshDeployer> {
        Arc::new(MeshDeployer::new(self.mesh.clone(), embedded))
    }

    /// Closes the endpoints and stops the background sync (waiting for it, so nothing
    /// touches the database after this returns).
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for task in tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
        }
        self.enroll.shutdown().await;
        self.mesh.shutdown().await;
    }
}

/// `HOST:PORT` with the port replaced.
fn with_port(addr: &str, port: u16) -> String {
    match addr.rsplit_once(':') {
        Some((host, _)) => format!("{host}:{port}"),
        None => format!("{addr}:{port}"),
    }
}

async fn pin_enrolled_hosts(store: &Store, registry: &MemoryRegistry) -> anyhow::Result<usize> {
    let mut pinned = 0;
    for host in hosts::list(store).await? {
        if host.revoked_at.is_some() {
            continue;
        }
        let Ok(name) = host.name.parse::<HostName>() else {
            tracing::warn!(host = %host.name, "stored host name is invalid; not pinned");
            continue;
        };
        for fp in &host.cert_fingerprints {
            match fp.parse::<Fingerprint>() {
                Ok(fp) => {
                    registry
                        .allow(&name, fp)
                        .with_context(|| format!("pinning host {name}"))?;
                }
                Err(e) => tracing::warn!(host = %name, error = %e, "stored fingerprint is invalid"),
            }
        }
        pinned += 1;
    }
    Ok(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_replaced_in_names_and_ipv6() {
        assert_eq!(
            with_port("master.example:8443", 8444),
            "master.example:8444"
        );
        assert_eq!(with_port("[::1]:8443", 9), "[::1]:9");
        assert_eq!(with_port("10.0.0.1:1", 2), "10.0.0.1:2");
    }
}
