//! The host bus: an in-process broker, a UNIX-socket server exposing it, a
//! reconnecting socket client, and [`Bus`], the one handle every worker takes.
//!
//! [`Bus`] is in-process ([`Bus::local`]), over the socket ([`Bus::connect`])
//! or disabled ([`Bus::disabled`], for `bus.enabled = false`): publishing on a
//! disabled bus succeeds and drops the event, subscribing gives a stream that
//! stays pending. Workers must stay correct with it — the database is the
//! source of truth, the bus only cuts latency.

pub mod broker;
pub mod client;
pub mod feed;
pub mod frame;
pub mod health;
mod index;
pub mod server;
mod sink;
pub mod wire;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use broker::{
    Broker, BrokerConfig, BrokerStats, ClientStats, DEFAULT_QUEUE_CAPACITY, LocalClient,
    SubscriberStats,
};
pub use client::{ClientConfig, SocketClient};
pub use feed::{Feed, Subscription};
pub use server::{BusServer, ServerConfig, ServerStats};
pub use sink::ClientId;

use crate::envelope::{EnvelopeError, EventKind, Payload};
use crate::topic::{Pattern, Topic, TopicError};

/// Socket path used when none is configured and `/run/decnet` is usable.
pub const DEFAULT_SOCKET_PATH: &str = "/run/decnet/bus.sock";

/// File name of the development fallback socket inside the data directory.
pub const FALLBACK_SOCKET_NAME: &str = "bus.sock";

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A topic or pattern is invalid.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// The envelope or payload breaks a rule.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The socket client is not connected to its server.
    #[error("not connected to the bus server")]
    NotConnected,
    /// The connection ended before the server answered.
    #[error("bus connection closed")]
    Closed,
    /// Socket-level failure.
    #[error("bus I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Another process is already serving the socket path.
    #[error("a bus server is already listening on {0}")]
    InUse(PathBuf),
}

/// The `bus` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// `bus.enabled = false` gives every worker a no-op bus.
    pub enabled: bool,
    /// Socket path; defaults to [`DEFAULT_SOCKET_PATH`] or the data directory fallback.
    pub socket: Option<PathBuf>,
    /// Capacity of each subscriber queue.
    pub queue_capacity: usize,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            enabled: true,
            socket: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

fn writable_dir(dir: &Path) -> bool {
    dir.is_dir() && nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

impl BusConfig {
    /// Where a server should listen: the configured path, else
    /// [`DEFAULT_SOCKET_PATH`] when `/run/decnet` is writable, else
    /// `<data_dir>/bus.sock`.
    pub fn server_socket_path(&self, data_dir: &Path) -> PathBuf {
        if let Some(p) = &self.socket {
            return p.clone();
        }
        let default = PathBuf::from(DEFAULT_SOCKET_PATH);
        match default.parent() {
            Some(dir) if writable_dir(dir) => default,
            _ => data_dir.join(FALLBACK_SOCKET_NAME),
        }
    }

    /// Where a client should connect: the configured path, else
    /// [`DEFAULT_SOCKET_PATH`] when it exists, else `<data_dir>/bus.sock`.
    pub fn client_socket_path(&self, data_dir: &Path) -> PathBuf {
        if let Some(p) = &self.socket {
            return p.clone();
        }
        let default = PathBuf::from(DEFAULT_SOCKET_PATH);
        if default.exists() {
            default
        } else {
            data_dir.join(FALLBACK_SOCKET_NAME)
        }
    }
}

#[derive(Clone)]
enum Kind {
    Local(LocalClient),
    Socket(SocketClient),
    Disabled(Arc<str>),
}

/// A worker's handle on the host bus. Cheap to clone; clones share one
/// publisher identity, so they never receive each other's events.
#[derive(Clone)]
pub struct Bus {
    kind: Kind,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Local(_) => "local",
            Kind::Socket(_) => "socket",
            Kind::Disabled(_) => "disabled",
        };
        f.debug_struct("Bus")
            .field("kind", &kind)
            .field("name", &self.name())
            .finish()
    }
}

impl From<LocalClient> for Bus {
    fn from(c: LocalClient) -> Self {
        Bus {
            kind: Kind::Local(c),
        }
    }
}

impl From<SocketClient> for Bus {
    fn from(c: SocketClient) -> Self {
        Bus {
            kind: Kind::Socket(c),
        }
    }
}

impl Bus {
    /// A new in-process client of `broker`.
    pub fn local(broker: &Broker, name: &str) -> Bus {
        broker.client(name).into()
    }

    /// A socket client of the server at `path`; connects (and reconnects) in
    /// the background. Must be called inside a tokio runtime.
    pub fn connect(path: impl Into<PathBuf>, name: &str) -> Bus {
        SocketClient::connect(ClientConfig::new(path, name)).into()
    }

    /// The no-op bus of `bus.enabled = false`.
    pub fn disabled(name: &str) -> Bus {
        Bus {
            kind: Kind::Disabled(Arc::from(name)),
        }
    }

    /// The client name.
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::Local(c) => c.name(),
            Kind::Socket(c) => c.name(),
            Kind::Disabled(n) => n,
        }
    }

    /// False for the no-op bus.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.kind, Kind::Disabled(_))
    }

    /// Encodes `payload` as CBOR and publishes it. Waits only when a socket
    /// client's send buffer is full, never for a subscriber.
    pub async fn publish<T: Serialize + ?Sized>(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: &T,
    ) -> Result<(), BusError> {
        if !self.is_enabled() {
            return Ok(());
        }
        self.publish_payload(topic, kind, Payload::encode(payload)?)
            .await
    }

    /// Publishes an encoded payload; see [`Bus::publish`].
    pub async fn publish_payload(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: Payload,
    ) -> Result<(), BusError> {
        match &self.kind {
            Kind::Local(c) => c.publish_payload(topic, kind, payload).map(drop),
            Kind::Socket(c) => c.publish_payload(topic, kind, payload).await,
            Kind::Disabled(_) => Ok(()),
        }
    }

    /// Publishes without ever waiting: a socket client with a full send
    /// buffer drops the event and counts it in [`ClientStats::publish_dropped`].
    pub fn try_publish_payload(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: Payload,
    ) -> Result<(), BusError> {
        match &self.kind {
            Kind::Local(c) => c.publish_payload(topic, kind, payload).map(drop),
            Kind::Socket(c) => c.try_publish_payload(topic, kind, payload),
            Kind::Disabled(_) => Ok(()),
        }
    }

    /// Subscribes to `pattern`; dropping the subscription unsubscribes.
    pub fn subscribe(&self, pattern: &Pattern) -> Subscription {
        match &self.kind {
            Kind::Local(c) => c.subscribe(pattern),
            Kind::Socket(c) => c.subscribe(pattern),
            Kind::Disabled(_) => Subscription::pending(pattern.clone()),
        }
    }

    /// Waits until the server has handled everything sent so far (socket
    /// client); immediate otherwise.
    pub async fn flush(&self) -> Result<(), BusError> {
        match &self.kind {
            Kind::Socket(c) => c.flush().await,
            Kind::Local(_) | Kind::Disabled(_) => Ok(()),
        }
    }

    /// This client's counters.
    pub fn stats(&self) -> ClientStats {
        match &self.kind {
            Kind::Local(c) => c.stats(),
            Kind::Socket(c) => c.stats(),
            Kind::Disabled(n) => ClientStats {
                name: n.to_string(),
                ..ClientStats::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = BusConfig {
            socket: Some(dir.path().join("x.sock")),
            ..BusConfig::default()
        };
        assert_eq!(
            explicit.server_socket_path(Path::new("/nope")),
            dir.path().join("x.sock")
        );
        assert_eq!(
            explicit.client_socket_path(Path::new("/nope")),
            dir.path().join("x.sock")
        );
        let default = BusConfig::default();
        let server = default.server_socket_path(dir.path());
        let run_usable = writable_dir(Path::new("/run/decnet"));
        if run_usable {
            assert_eq!(server, PathBuf::from(DEFAULT_SOCKET_PATH));
        } else {
            assert_eq!(server, dir.path().join(FALLBACK_SOCKET_NAME));
        }
    }

    #[test]
    fn config_parses_enabled_false() {
        let cfg: BusConfig = toml_like();
        assert!(!cfg.enabled);
        assert_eq!(cfg.queue_capacity, DEFAULT_QUEUE_CAPACITY);
    }

    fn toml_like() -> BusConfig {
        let v = ciborium::Value::Map(vec![(
            ciborium::Value::Text("enabled".into()),
            ciborium::Value::Bool(false),
        )]);
        v.deserialized().unwrap()
    }
}
