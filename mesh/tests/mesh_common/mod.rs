//! Shared fixtures of the mesh tests: a deployment (CA, master identity, pin registry), fast
//! link timings, a global log capture, waiting helpers.
// Fixture helpers are not `#[test]` functions, so clippy's test exemptions miss them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use decnet_mesh::bus::Broker;
use decnet_mesh::quic::{AgentConfig, AgentLink, LinkState, LinkTuning, MasterConfig, MasterMesh};
use decnet_pki::{
    AgentIdentity, CertificateAuthority, HostName, MemoryRegistry, NodeKey, ServerIdentity,
};
use tokio::sync::watch;

pub const DAY: Duration = Duration::from_secs(86400);

/// A CA, the master's server identity (valid for 127.0.0.1 too) and its pin registry.
pub struct Deployment {
    pub ca: Arc<CertificateAuthority>,
    pub server: ServerIdentity,
    pub registry: Arc<MemoryRegistry>,
}

impl Deployment {
    pub fn new() -> Self {
        init();
        let ca = CertificateAuthority::generate("test").unwrap();
        let server = ServerIdentity::generate(&ca, &["127.0.0.1".into()], DAY).unwrap();
        Deployment {
            ca: Arc::new(ca),
            server,
            registry: Arc::new(MemoryRegistry::new()),
        }
    }

    /// An agent identity signed by the CA but not pinned.
    pub fn issue(&self, name: &str) -> AgentIdentity {
        let host: HostName = name.parse().unwrap();
        let key = NodeKey::generate().unwrap();
        let issued = self
            .ca
            .issue_from_csr(&key.csr(&host).unwrap(), &host, DAY)
            .unwrap();
        AgentIdentity::new(key, &issued.pem, self.ca.cert_pem()).unwrap()
    }

    /// An agent identity signed and pinned.
    pub fn enroll(&self, name: &str) -> AgentIdentity {
        let id = self.issue(name);
        self.registry.allow(id.host(), id.fingerprint()).unwrap();
        id
    }

    pub fn master_config(&self) -> MasterConfig {
        MasterConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tuning: fast_tuning(),
            ..MasterConfig::default()
        }
    }

    /// A master on an ephemeral loopback port federating `broker`.
    pub fn master(&self, broker: &Broker) -> MasterMesh {
        MasterMesh::builder(
            self.master_config(),
            &self.server,
            self.registry.clone(),
            broker.clone(),
        )
        .start()
        .unwrap()
    }
}

/// Timings that make tests fast but keep every mechanism (keep-alive, idle, backoff) active.
pub fn fast_tuning() -> LinkTuning {
    LinkTuning {
        keep_alive: Duration::from_millis(250),
        idle_timeout: Duration::from_secs(2),
        silence_redial: Duration::from_millis(1500),
        dial_timeout: Duration::from_secs(1),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        stable_after: Duration::from_secs(2),
        rtt_refresh: Duration::from_millis(100),
        hello_timeout: Duration::from_secs(2),
    }
}

pub fn agent_config(master: SocketAddr) -> AgentConfig {
    let mut c = AgentConfig::new(master.to_string());
    c.tuning = fast_tuning();
    c.agent_version = "test-agent-1.0".into();
    c
}

/// Starts an agent link with no control handler and no durable source.
pub fn agent(identity: AgentIdentity, master: SocketAddr, broker: &Broker) -> AgentLink {
    AgentLink::builder(agent_config(master), identity, broker.clone())
        .start()
        .unwrap()
}

/// Waits up to `within` for `rx` to satisfy `pred`.
pub async fn wait_state(
    rx: &mut watch::Receiver<LinkState>,
    within: Duration,
    pred: impl FnMut(&LinkState) -> bool,
) -> LinkState {
    let current = rx.borrow().clone();
    tokio::time::timeout(within, rx.wait_for(pred))
        .await
        .unwrap_or_else(|_| panic!("link state not reached within {within:?}; last {current:?}"))
        .unwrap()
        .clone()
}

pub async fn wait_up(rx: &mut watch::Receiver<LinkState>) -> LinkState {
    wait_state(rx, Duration::from_secs(10), LinkState::is_up).await
}

/// Polls `cond` every 10 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        // Also shown when a test fails (libtest captures stderr of the test thread only).
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the crypto provider and a global log capture (once per process).
pub fn init() {
    decnet_runtime::crypto::install_crypto_provider();
    if std::env::var(roles::ROLE).is_ok() {
        // Helper processes log to stderr, which the test inherits.
        let filter = std::env::var("DECNET_MESH_LOG").unwrap_or_else(|_| "warn".to_owned());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    });
}

/// Everything logged so far in this process.
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).into_owned())
        .unwrap_or_default()
}

pub mod roles;
pub mod sink;
