//! The master's side: accepts agents, keeps the table of connected hosts, closes revoked
//! links, and is the entry point for federated subscriptions and control calls.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use decnet_pki::{
    Fingerprint, HostName, HostRegistry, MemoryRegistry, PinDecision, ServerIdentity,
};
use parking_lot::Mutex;
use quinn::{Connection, Endpoint};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::DropGuard;
use super::state::LinkState;
use crate::bus::{Broker, LocalClient, Subscription};
use crate::quic::config::{DEFAULT_MESH_PORT, LinkTuning};
use crate::quic::durable::{DurableTuning, EventSink};
use crate::quic::endpoint::master_endpoint;
use crate::quic::federation::Interest;
use crate::quic::proto::{ControlRequest, ControlResponse, WorkerAction, WorkerOutcome};
use crate::quic::renew::CertificateRenewer;
use crate::quic::rpc::{self, RpcError};
use crate::quic::{MeshError, close, describe_close};
use crate::topic::Pattern;

const REVOKED: &str = "certificate revoked";

/// Settings of the master's mesh endpoint.
#[derive(Debug, Clone)]
pub struct MasterConfig {
    /// UDP address to listen on (default `0.0.0.0:8443`).
    pub listen: SocketAddr,
    /// Version sent to agents in WELCOME.
    pub master_version: String,
    /// Keep-alive, idle timeout and RTT refresh.
    pub tuning: LinkTuning,
    /// Durable stream settings.
    pub durable: DurableTuning,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            listen: (Ipv4Addr::UNSPECIFIED, DEFAULT_MESH_PORT).into(),
            master_version: env!("CARGO_PKG_VERSION").to_owned(),
            tuning: LinkTuning::default(),
            durable: DurableTuning::default(),
        }
    }
}

/// One connected agent, as the master's host registry shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedHost {
    /// Host name from the agent certificate.
    pub host: HostName,
    /// Fingerprint of the certificate the agent connected with.
    pub fingerprint: Fingerprint,
    /// Version from the agent's HELLO.
    pub agent_version: String,
    /// When this connection was greeted.
    pub connected_since: SystemTime,
    /// Latest smoothed round-trip time.
    pub rtt: Duration,
    /// The agent's UDP address as seen by the master.
    pub remote: SocketAddr,
}

pub(super) struct HostLink {
    pub(super) generation: u64,
    pub(super) conn: Connection,
    pub(super) info: Mutex<ConnectedHost>,
}

/// A connection past the TLS handshake, greeted or not: what revocation must be able to close.
pub(super) struct LiveConn {
    pub(super) host: HostName,
    pub(super) fingerprint: Fingerprint,
    pub(super) conn: Connection,
    /// Why this end closed it; a local close otherwise only reads "closed".
    pub(super) closed_for: Option<&'static str>,
}

impl LiveConn {
    pub(super) fn close(&mut self, code: quinn::VarInt, why: &'static str) {
        self.closed_for.get_or_insert(why);
        self.conn.close(code, why.as_bytes());
    }
}

pub(super) struct Inner {
    pub(super) endpoint: Endpoint,
    pub(super) config: MasterConfig,
    pub(super) registry: Arc<MemoryRegistry>,
    pub(super) broker: Broker,
    pub(super) interest: Arc<Interest>,
    pub(super) subscriber: LocalClient,
    pub(super) renewer: Option<Arc<dyn CertificateRenewer>>,
    pub(super) sink: Option<Arc<dyn EventSink>>,
    pub(super) links: Mutex<HashMap<HostName, Arc<HostLink>>>,
    pub(super) live: Mutex<HashMap<u64, LiveConn>>,
    pub(super) states: Mutex<HashMap<HostName, watch::Sender<LinkState>>>,
    pub(super) next_generation: AtomicU64,
    pub(super) cancel: CancellationToken,
}

/// The master's mesh endpoint. Cheap to clone; stops when the last clone is dropped or
/// [`MasterMesh::shutdown`] is called.
#[derive(Clone)]
pub struct MasterMesh {
    inner: Arc<Inner>,
    _guard: Arc<DropGuard>,
}

impl std::fmt::Debug for MasterMesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterMesh")
            .field("listen", &self.inner.endpoint.local_addr().ok())
            .field("hosts", &self.inner.links.lock().len())
            .finish()
    }
}

/// Builds a [`MasterMesh`]; see [`MasterMesh::builder`].
pub struct MasterMeshBuilder<'a> {
    config: MasterConfig,
    identity: &'a ServerIdentity,
    registry: Arc<MemoryRegistry>,
    broker: Broker,
    renewer: Option<Arc<dyn CertificateRenewer>>,
    sink: Option<Arc<dyn EventSink>>,
}

impl std::fmt::Debug for MasterMeshBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterMeshBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MasterMeshBuilder<'_> {
    /// Serves certificate renewals over the mesh.
    pub fn renewer(mut self, renewer: Arc<dyn CertificateRenewer>) -> Self {
        self.renewer = Some(renewer);
        self
    }

    /// Accepts durable event streams into `sink`; without one they are refused.
    pub fn sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Binds the UDP socket and starts accepting agents. Must run inside a tokio runtime.
    pub fn start(self) -> Result<MasterMesh, MeshError> {
        let registry_dyn: Arc<dyn HostRegistry> = self.registry.clone();
        let endpoint = master_endpoint(
            self.config.listen,
            self.identity,
            registry_dyn,
            &self.config.tuning,
        )?;
        let cancel = CancellationToken::new();
        let inner = Arc::new(Inner {
            endpoint,
            subscriber: self.broker.client("mesh-subscriber"),
            config: self.config,
            registry: self.registry,
            broker: self.broker,
            interest: Arc::new(Interest::default()),
            renewer: self.renewer,
            sink: self.sink,
            links: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            cancel: cancel.clone(),
        });
        // Subscribe before accepting, so no revocation can fall between the two.
        let revocations = inner.registry.subscribe();
        tokio::spawn(watch_revocations(inner.clone(), revocations));
        tokio::spawn(super::accept::accept_loop(inner.clone()));
        tracing::info!(listen = ?inner.endpoint.local_addr().ok(), "mesh master listening");
        Ok(MasterMesh {
            inner,
            _guard: Arc::new(DropGuard(cancel)),
        })
    }
}

impl MasterMesh {
    /// Starts building the master endpoint for `identity`, pinning agents in `registry` and
    /// federating `broker`.
    pub fn builder(
        config: MasterConfig,
        identity: &ServerIdentity,
        registry: Arc<MemoryRegistry>,
        broker: Broker,
    ) -> MasterMeshBuilder<'_> {
        MasterMeshBuilder {
            config,
            identity,
            registry,
            broker,
            renewer: None,
            sink: None,
        }
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> Result<SocketAddr, MeshError> {
        Ok(self.inner.endpoint.local_addr()?)
    }

    /// Every connected host, sorted by name.
    pub fn hosts(&self) -> Vec<ConnectedHost> {
        let mut v: Vec<ConnectedHost> = self
            .inner
            .links
            .lock()
            .values()
            .map(|l| l.info.lock().clone())
            .collect();
        v.sort_by(|a, b| a.host.cmp(&b.host));
        v
    }

    /// One connected host.
    pub fn host(&self, host: &HostName) -> Option<ConnectedHost> {
        self.inner
            .links
            .lock()
            .get(host)
            .map(|l| l.info.lock().clone())
    }

    /// The link state of `host` (`Down` until it first connects).
    pub fn link_state(&self, host: &HostName) -> watch::Receiver<LinkState> {
        self.inner.state_of(host).subscribe()
    }

    /// Subscribes on the master's broker and makes every agent forward matching events
    /// until the subscription is dropped.
    pub fn subscribe(&self, pattern: &Pattern) -> Subscription {
        self.inner
            .interest
            .subscribe(&self.inner.subscriber, pattern)
    }

    /// Like [`MasterMesh::subscribe`], for a client that also publishes (it keeps its own
    /// identity, so it still never receives its own events).
    pub fn subscribe_as(&self, client: &LocalClient, pattern: &Pattern) -> Subscription {
        self.inner.interest.subscribe(client, pattern)
    }

    /// Patterns agents currently forward.
    pub fn interest(&self) -> Vec<Pattern> {
        self.inner.interest.patterns()
    }

    /// Forwarded events dropped because no master subscriber wanted them (any more).
    pub fn unwanted_events(&self) -> u64 {
        self.inner.interest.unwanted()
    }

    /// Calls `host`'s control handler and waits at most `deadline` for the answer.
    pub async fn call(
        &self,
        host: &HostName,
        request: ControlRequest,
        deadline: Duration,
    ) -> Result<ControlResponse, RpcError> {
        let conn = self.inner.links.lock().get(host).map(|l| l.conn.clone());
        match conn {
            Some(conn) => rpc::call(&conn, request, deadline).await,
            None if self.inner.registry.fingerprints(host).is_empty() => {
                Err(RpcError::UnknownHost(host.clone()))
            }
            None => Err(RpcError::NotConnected(host.clone())),
        }
    }

    /// Starts or stops worker `name` on `host` and returns what happened.
    pub async fn worker(
        &self,
        host: &HostName,
        name: &str,
        action: WorkerAction,
        requested_by: &str,
        deadline: Duration,
    ) -> Result<WorkerOutcome, RpcError> {
        let request = ControlRequest::Worker {
            name: name.to_owned(),
            action,
            requested_by: requested_by.to_owned(),
        };
        match self.call(host, request, deadline).await? {
            ControlResponse::Worker { outcome, .. } => Ok(outcome),
            other => Err(RpcError::Protocol(format!(
                "unexpected answer to a worker call: {other:?}"
            ))),
        }
    }

    /// Closes `host`'s connection (its agent will redial); false if it was not connected.
    pub fn disconnect(&self, host: &HostName) -> bool {
        let generation = self.inner.links.lock().get(host).map(|l| l.generation);
        let Some(generation) = generation else {
            return false;
        };
        if let Some(live) = self.inner.live.lock().get_mut(&generation) {
            live.close(close::SHUTDOWN, "disconnected by the master");
        }
        true
    }

    /// Closes every connection and the endpoint, waiting up to a second for agents to be told.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner
            .endpoint
            .close(close::SHUTDOWN, b"master shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.endpoint.wait_idle()).await;
    }
}

impl Inner {
    pub(super) fn state_of(&self, host: &HostName) -> watch::Sender<LinkState> {
        self.states
            .lock()
            .entry(host.clone())
            .or_insert_with(|| watch::Sender::new(LinkState::down("not connected yet")))
            .clone()
    }

    /// Greets a connection: it becomes the host's link, replacing an older one.
    pub(super) fn register(&self, link: Arc<HostLink>) {
        let info = link.info.lock().clone();
        let old = self.links.lock().insert(info.host.clone(), link.clone());
        if let Some(old) = old
            && old.generation != link.generation
        {
            tracing::info!(host = %info.host, "a newer connection replaces the host's previous one");
            match self.live.lock().get_mut(&old.generation) {
                Some(live) => live.close(close::REPLACED, "replaced by a newer connection"),
                None => old.conn.close(close::REPLACED, b"replaced"),
            }
        }
        self.state_of(&info.host).send_replace(LinkState::Up {
            since: info.connected_since,
            rtt: info.rtt,
        });
        if let Some(r) = &self.renewer {
            r.connected(&info.host, &info.fingerprint);
        }
        tracing::info!(host = %info.host, fingerprint = %info.fingerprint, agent_version = %info.agent_version, remote = %info.remote, "agent connected");
    }

    pub(super) fn unregister(
        &self,
        host: &HostName,
        generation: u64,
        err: &quinn::ConnectionError,
    ) {
        let closed_for = self
            .live
            .lock()
            .remove(&generation)
            .and_then(|l| l.closed_for);
        let reason = closed_for.map_or_else(|| describe_close(err), str::to_owned);
        let reason = reason.as_str();
        let mut links = self.links.lock();
        if links.get(host).is_some_and(|l| l.generation == generation) {
            links.remove(host);
            drop(links);
            self.state_of(host).send_replace(LinkState::down(reason));
            tracing::info!(%host, %reason, "agent disconnected");
        }
    }

    pub(super) fn close_if_not_pinned(&self) {
        for live in self.live.lock().values_mut() {
            if !matches!(
                self.registry.lookup(&live.fingerprint),
                PinDecision::Allowed { .. }
            ) {
                tracing::warn!(host = %live.host, fingerprint = %live.fingerprint, "closing the link of a certificate that is no longer pinned");
                live.close(close::REVOKED, REVOKED);
            }
        }
    }
}

async fn watch_revocations(inner: Arc<Inner>, mut rx: broadcast::Receiver<decnet_pki::Revocation>) {
    loop {
        let received = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            r = rx.recv() => r,
        };
        match received {
            Ok(rev) => {
                for live in inner.live.lock().values_mut() {
                    if live.host == rev.host && rev.fingerprints.contains(&live.fingerprint) {
                        tracing::warn!(host = %live.host, fingerprint = %live.fingerprint, "certificate revoked: closing its live link");
                        live.close(close::REVOKED, REVOKED);
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "missed revocation announcements; re-checking every live link"
                );
                inner.close_if_not_pinned();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
