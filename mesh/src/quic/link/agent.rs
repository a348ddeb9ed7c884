//! The agent's side: dials the master forever, runs the session, control calls, durable
//! stream and certificate rotation over each connection.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use decnet_pki::{AgentIdentity, CertValidity, Fingerprint, MASTER_DNS_NAME};
use parking_lot::{Mutex, RwLock};
use quinn::{Connection, ConnectionError, Endpoint};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::DropGuard;
use super::backoff::{Backoff, Failure};
use super::state::{LinkState, refresh_rtt};
use crate::bus::{Broker, LocalClient};
use crate::quic::config::LinkTuning;
use crate::quic::durable::{self, DurableSource, DurableTuning};
use crate::quic::endpoint::{agent_client_config, client_endpoint_for, resolve};
use crate::quic::federation;
use crate::quic::proto::{
    FrameReader, Hello, Open, PROTOCOL_VERSION, ProtoError, ToAgent, codec::write_message,
};
use crate::quic::renew::{self, RenewError};
use crate::quic::rpc::{self, ControlHandler, NoControl};
use crate::quic::{MeshError, close, describe_close, stream_code};
use crate::topic::host as host_topic;

/// Settings of an agent's link to the master.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Master mesh addresses (`HOST:PORT`), tried in turn.
    pub masters: Vec<String>,
    /// Name the master's certificate is checked against.
    pub server_name: String,
    /// Version announced in HELLO.
    pub agent_version: String,
    /// Keep-alive, timeouts and backoff.
    pub tuning: LinkTuning,
    /// Durable stream settings.
    pub durable: DurableTuning,
    /// Where a renewed identity is stored (the agent's state directory).
    pub state_dir: Option<PathBuf>,
    /// How often to check whether the certificate is in its renewal window; `None` disables
    /// automatic rotation.
    pub rotation_check: Option<Duration>,
    /// Longest wait for the master's renewal answer.
    pub renew_timeout: Duration,
}

impl AgentConfig {
    /// Defaults for one master address.
    pub fn new(master: impl Into<String>) -> Self {
        AgentConfig {
            masters: vec![master.into()],
            server_name: MASTER_DNS_NAME.to_owned(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            tuning: LinkTuning::default(),
            durable: DurableTuning::default(),
            state_dir: None,
            rotation_check: Some(Duration::from_secs(3600)),
            renew_timeout: Duration::from_secs(30),
        }
    }
}

struct Inner {
    config: AgentConfig,
    identity: RwLock<Arc<AgentIdentity>>,
    client: LocalClient,
    handler: Arc<dyn ControlHandler>,
    source: Option<Arc<dyn DurableSource>>,
    state: watch::Sender<LinkState>,
    current: Mutex<Option<Connection>>,
    renewing: tokio::sync::Mutex<()>,
    cancel: CancellationToken,
}

/// The agent's link to the master. Cheap to clone; stops when the last clone is dropped or
/// [`AgentLink::shutdown`] is called.
#[derive(Clone)]
pub struct AgentLink {
    inner: Arc<Inner>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    _guard: Arc<DropGuard>,
}

impl std::fmt::Debug for AgentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentLink")
            .field("host", self.inner.identity.read().host())
            .field("state", &*self.inner.state.borrow())
            .finish()
    }
}

/// Builds an [`AgentLink`]; see [`AgentLink::builder`].
pub struct AgentLinkBuilder {
    config: AgentConfig,
    identity: AgentIdentity,
    broker: Broker,
    handler: Arc<dyn ControlHandler>,
    source: Option<Arc<dyn DurableSource>>,
}

impl std::fmt::Debug for AgentLinkBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentLinkBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AgentLinkBuilder {
    /// Serves the master's control calls with `handler` (default: refuse them all).
    pub fn handler(mut self, handler: Arc<dyn ControlHandler>) -> Self {
        self.handler = handler;
        self
    }

    /// Streams `source` (the outbox) to the master's sink.
    pub fn durable(mut self, source: Arc<dyn DurableSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Starts dialling. Must run inside a tokio runtime.
    pub fn start(self) -> Result<AgentLink, MeshError> {
        if self.config.masters.is_empty() {
            return Err(MeshError::Config("no master address configured".into()));
        }
        // Fail now, not on every dial, if the identity cannot make a client configuration.
        agent_client_config(&self.identity, &self.config.tuning)?;
        let cancel = CancellationToken::new();
        let inner = Arc::new(Inner {
            client: self.broker.client("mesh-link"),
            config: self.config,
            identity: RwLock::new(Arc::new(self.identity)),
            handler: self.handler,
            source: self.source,
            state: watch::Sender::new(LinkState::Connecting { attempt: 0 }),
            current: Mutex::new(None),
            renewing: tokio::sync::Mutex::new(()),
            cancel: cancel.clone(),
        });
        let task = tokio::spawn(run(inner.clone()));
        Ok(AgentLink {
            inner,
            task: Arc::new(Mutex::new(Some(task))),
            _guard: Arc::new(DropGuard(cancel)),
        })
    }
}

impl AgentLink {
    /// Starts building a link for `identity` that federates `broker`.
    pub fn builder(
        config: AgentConfig,
        identity: AgentIdentity,
        broker: Broker,
    ) -> AgentLinkBuilder {
        AgentLinkBuilder {
            config,
            identity,
            broker,
            handler: Arc::new(NoControl),
            source: None,
        }
    }

    /// The link state.
    pub fn state(&self) -> watch::Receiver<LinkState> {
        self.inner.state.subscribe()
    }

    /// The identity the next dial will use.
    pub fn identity(&self) -> Arc<AgentIdentity> {
        self.inner.identity.read().clone()
    }

    /// Renews the certificate over the live link: new key and CSR, certificate from the
    /// master, stored in the state directory if one is configured. The current connection
    /// stays up; the new certificate is used from the next dial on.
    pub async fn renew_certificate(&self) -> Result<Fingerprint, RenewError> {
        self.inner.renew().await
    }

    /// Closes the current connection so the link redials at once (e.g. to present a renewed
    /// certificate now).
    pub fn redial(&self) {
        if let Some(conn) = self.inner.current.lock().as_ref() {
            conn.close(close::REDIAL, b"agent redials");
        }
    }

    /// Stops the link, telling the master.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        if let Some(conn) = self.inner.current.lock().take() {
            conn.close(close::SHUTDOWN, b"agent shutting down");
        }
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Inner {
    async fn renew(&self) -> Result<Fingerprint, RenewError> {
        // One renewal at a time: two would each pin a certificate and keep only one.
        let _one = self.renewing.lock().await;
        let conn = self
            .current
            .lock()
            .clone()
            .ok_or(RenewError::NotConnected)?;
        let identity = self.identity.read().clone();
        let request = identity.renewal_request()?;
        let cert_pem =
            renew::request(&conn, request.csr_pem.clone(), self.config.renew_timeout).await?;
        let next = identity.renewed(request, &cert_pem)?;
        if let Some(dir) = &self.config.state_dir {
            next.store(dir)?;
        }
        let fingerprint = next.fingerprint();
        *self.identity.write() = Arc::new(next);
        tracing::info!(host = %identity.host(), %fingerprint, "agent certificate renewed; used from the next connection on");
        Ok(fingerprint)
    }
}

/// Why a dial produced no connection, and whether the master answered at all.
struct DialFailure {
    reason: String,
    failure: Failure,
}

fn classify(e: &ConnectionError) -> Failure {
    match e {
        ConnectionError::TimedOut => Failure::Silent,
        _ => Failure::Answered,
    }
}

async fn dial(
    inner: &Inner,
    target: &str,
    endpoint: &mut Option<Endpoint>,
) -> Result<Connection, DialFailure> {
    let answered = |reason: String| DialFailure {
        reason,
        failure: Failure::Answered,
    };
    let addr = resolve(target).await.map_err(|e| answered(e.to_string()))?;
    let ep = match endpoint {
        Some(ep) if ep.local_addr().is_ok_and(|l| l.is_ipv4() == addr.is_ipv4()) => ep.clone(),
        _ => {
            let ep = client_endpoint_for(addr).map_err(|e| answered(e.to_string()))?;
            *endpoint = Some(ep.clone());
            ep
        }
    };
    let identity = inner.identity.read().clone();
    let config = agent_client_config(&identity, &inner.config.tuning)
        .map_err(|e| answered(e.to_string()))?;
    let connecting = ep
        .connect_with(config, addr, &inner.config.server_name)
        .map_err(|e| answered(e.to_string()))?;
    match tokio::time::timeout(inner.config.tuning.dial_timeout, connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(DialFailure {
            reason: format!("{target}: {}", describe_close(&e)),
            failure: classify(&e),
        }),
        Err(_) => Err(DialFailure {
            reason: format!(
                "{target}: no answer within {:?}",
                inner.config.tuning.dial_timeout
            ),
            failure: Failure::Silent,
        }),
    }
}

async fn run(inner: Arc<Inner>) {
    let tuning = inner.config.tuning.clone();
    let mut backoff = Backoff::new(tuning.backoff_initial, tuning.backoff_max);
    let mut endpoint: Option<Endpoint> = None;
    let mut attempt = 0u32;
    let mut target_index = 0usize;
    loop {
        attempt = attempt.saturating_add(1);
        inner.state.send_replace(LinkState::Connecting { attempt });
        let target = inner.config.masters[target_index % inner.config.masters.len()].clone();
        let dialled = tokio::select! {
            _ = inner.cancel.cancelled() => break,
            d = dial(&inner, &target, &mut endpoint) => d,
        };
        let failure = match dialled {
            Ok(conn) => {
                let started = Instant::now();
                let (reason, failure, greeted) = serve(&inner, conn).await;
                if greeted {
                    attempt = 0;
                }
                tracing::info!(master = %target, %reason, "mesh link down");
                inner.state.send_replace(LinkState::down(reason));
                if greeted && started.elapsed() >= tuning.stable_after {
                    Failure::AfterStableLink
                } else {
                    failure
                }
            }
            Err(f) => {
                tracing::debug!(master = %target, reason = %f.reason, "mesh dial failed");
                inner.state.send_replace(LinkState::down(f.reason));
                target_index = target_index.wrapping_add(1);
                f.failure
            }
        };
        if inner.cancel.is_cancelled() {
            break;
        }
        let delay = backoff.next_delay(failure);
        tokio::select! {
            _ = inner.cancel.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    if let Some(ep) = endpoint {
        ep.close(close::SHUTDOWN, b"agent shutting down");
    }
    inner.state.send_replace(LinkState::down("shut down"));
}

/// Greets the master and runs everything over `conn` until it ends; returns why, how to back
/// off, and whether the session was ever greeted.
async fn serve(inner: &Arc<Inner>, conn: Connection) -> (String, Failure, bool) {
    let greeting = async {
        let (mut send, recv) = conn
            .open_bi()
            .await
            .map_err(|e| ProtoError::Read(quinn::ReadError::ConnectionLost(e)))?;
        let hello = Open::Session(Hello {
            protocol: PROTOCOL_VERSION,
            agent_version: inner.config.agent_version.clone(),
        });
        write_message(&mut send, &hello).await?;
        let mut reader = FrameReader::new(recv);
        match reader.message::<ToAgent>().await? {
            ToAgent::Welcome(w) if w.protocol == PROTOCOL_VERSION => Ok((send, reader)),
            ToAgent::Welcome(_) => Err(ProtoError::Unexpected(
                "a master speaking another protocol version",
            )),
            _ => Err(ProtoError::Unexpected("a session frame before WELCOME")),
        }
    };
    let (send, reader) =
        match tokio::time::timeout(inner.config.tuning.hello_timeout, greeting).await {
            Ok(Ok(session)) => session,
            Ok(Err(e)) => {
                let reason = conn
                    .close_reason()
                    .map_or_else(|| e.to_string(), |c| describe_close(&c));
                let failure = conn
                    .close_reason()
                    .map_or(Failure::Answered, |c| classify(&c));
                conn.close(close::PROTOCOL, b"no welcome");
                return (reason, failure, false);
            }
            Err(_) => {
                conn.close(close::PROTOCOL, b"no welcome");
                return (
                    "the master did not answer HELLO".into(),
                    Failure::Silent,
                    false,
                );
            }
        };
    *inner.current.lock() = Some(conn.clone());
    inner.state.send_replace(LinkState::Up {
        since: SystemTime::now(),
        rtt: conn.rtt(),
    });
    tracing::info!(master = %conn.remote_address(), "mesh link up");

    let identity = inner.identity.read().clone();
    let own = host_topic::of(identity.host());
    let mut tasks: JoinSet<String> = JoinSet::new();
    match own {
        Ok(own) => {
            let (commands_tx, commands_rx) = mpsc::unbounded_channel();
            let feed = inner.client.feed();
            tasks.spawn(async move {
                match federation::agent_writer(send, feed, commands_rx).await {
                    Ok(()) => "session closed".to_owned(),
                    Err(e) => format!("session: {e}"),
                }
            });
            let client = inner.client.clone();
            tasks.spawn(async move {
                match federation::agent_reader(reader, client, own, commands_tx).await {
                    Ok(()) => "the master ended the session".to_owned(),
                    Err(e) => format!("session: {e}"),
                }
            });
        }
        Err(e) => {
            tasks.spawn(async move { format!("host name unusable in topics: {e}") });
        }
    }
    tasks.spawn(accept_calls(
        conn.clone(),
        inner.handler.clone(),
        inner.config.tuning.hello_timeout,
    ));
    if let Some(source) = inner.source.clone() {
        tasks.spawn(durable_loop(
            conn.clone(),
            source,
            inner.config.durable.clone(),
        ));
    }
    if let Some(every) = inner.config.rotation_check {
        tasks.spawn(rotation_loop(inner.clone(), every));
    }

    let health = health_loop(conn.clone(), inner.state.clone(), &inner.config.tuning);
    tokio::pin!(health);
    let (reason, failure) = tokio::select! {
        e = conn.closed() => (describe_close(&e), classify(&e)),
        why = &mut health => {
            conn.close(close::REDIAL, why.as_bytes());
            (why, Failure::Silent)
        }
        Some(ended) = tasks.join_next() => {
            let why = ended.unwrap_or_else(|e| format!("link task failed: {e}"));
            conn.close(close::REDIAL, why.as_bytes());
            (why, Failure::Answered)
        }
        _ = inner.cancel.cancelled() => {
            conn.close(close::SHUTDOWN, b"agent shutting down");
            ("shut down".to_owned(), Failure::Answered)
        }
    };
    tasks.abort_all();
    inner.current.lock().take();
    (reason, failure, true)
}

async fn accept_calls(
    conn: Connection,
    handler: Arc<dyn ControlHandler>,
    open_timeout: Duration,
) -> String {
    loop {
        let (mut send, recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(e) => return describe_close(&e),
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let mut reader = FrameReader::new(recv);
            match tokio::time::timeout(open_timeout, reader.message::<Open>()).await {
                Ok(Ok(Open::Control(call))) => rpc::serve(handler, send, call).await,
                Ok(Ok(_)) => {
                    let _ = send.reset(stream_code::UNSUPPORTED);
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "bad control call from the master");
                    let _ = send.reset(stream_code::PROTOCOL);
                }
                Err(_) => {
                    let _ = send.reset(stream_code::PROTOCOL);
                }
            }
        });
    }
}

async fn durable_loop(
    conn: Connection,
    source: Arc<dyn DurableSource>,
    tuning: DurableTuning,
) -> String {
    loop {
        let result = durable::send_stream(&conn, &source, &tuning).await;
        if let Some(e) = conn.close_reason() {
            return describe_close(&e);
        }
        match result {
            Ok(()) => tracing::warn!("durable stream ended; reopening"),
            Err(e) => tracing::warn!(error = %e, "durable stream failed; reopening"),
        }
        tokio::time::sleep(tuning.reopen_delay).await;
    }
}

/// Refreshes the RTT and watches for a stalled path: the agent's keep-alives make the master
/// acknowledge something at least every `keep_alive`, so no acknowledgement for
/// `silence_redial` means nothing the agent sends gets through. QUIC alone would wait for its
/// next retransmission, whose exponential backoff can leave a healed link idle for about as
/// long as the partition lasted (the master's own packets arriving again do not help: they
/// acknowledge nothing new); a fresh connection resumes within one dial instead.
async fn health_loop(
    conn: Connection,
    state: watch::Sender<LinkState>,
    tuning: &LinkTuning,
) -> String {
    let every =
        (tuning.silence_redial / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut acks = conn.stats().frame_rx.acks;
    let mut progressed = Instant::now();
    let mut rtt_refreshed = Instant::now();
    loop {
        tick.tick().await;
        let now = conn.stats().frame_rx.acks;
        if now != acks {
            acks = now;
            progressed = Instant::now();
        } else if progressed.elapsed() >= tuning.silence_redial {
            return format!(
                "the master acknowledged nothing for {:?}",
                progressed.elapsed()
            );
        }
        if rtt_refreshed.elapsed() >= tuning.rtt_refresh {
            refresh_rtt(&state, conn.rtt());
            rtt_refreshed = Instant::now();
        }
    }
}

async fn rotation_loop(inner: Arc<Inner>, every: Duration) -> String {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let identity = inner.identity.read().clone();
        let due = CertValidity::of_der(identity.cert_der())
            .map(|v| v.needs_rotation(SystemTime::now(), v.default_rotation_window()));
        match due {
            Ok(true) => match inner.renew().await {
                Ok(fp) => {
                    tracing::info!(fingerprint = %fp, "rotated the agent certificate before expiry")
                }
                Err(e) => tracing::warn!(error = %e, "certificate rotation failed; will retry"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the agent certificate's validity"),
        }
    }
}
