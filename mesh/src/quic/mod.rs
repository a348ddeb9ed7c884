//! The QUIC mTLS mesh: one connection per agent to the master, carrying federated pub/sub,
//! control calls and the durable event stream.
//!
//! # Link
//!
//! [`AgentLink`] dials the master (ALPN `decnet-mesh/1`, UDP port [`DEFAULT_MESH_PORT`] unless
//! configured) with its agent certificate and redials forever: a refused or closed connection
//! backs off exponentially with jitter up to [`LinkTuning::backoff_max`]; an unanswered dial
//! retries after the initial delay (see [`link::backoff`]). QUIC keep-alives run every
//! [`LinkTuning::keep_alive`]; a connection silent for [`LinkTuning::idle_timeout`] is dead,
//! and the agent already redials when the master acknowledged nothing for
//! [`LinkTuning::silence_redial`]: after a partition heals, a fresh connection resumes within
//! one dial, where QUIC's backed-off retransmissions could stay idle about as long as the
//! partition lasted.
//! [`MasterMesh`] accepts agents whose certificate chains to the DECNET CA *and* is pinned in
//! the host registry; it keeps a live table of connected hosts ([`ConnectedHost`]) and closes
//! a host's connection as soon as the registry announces its revocation. Both ends publish a
//! [`LinkState`] on a `watch` channel.
//!
//! Certificates rotate without dropping the link: [`AgentLink::renew_certificate`] sends a CSR
//! over the live connection to the master's [`CertificateRenewer`]; the new identity is stored
//! and used from the next dial on, while the current connection stays up.
//!
//! # Federated pub/sub
//!
//! Interest flows from master to agents, events the other way:
//!
//! * [`MasterMesh::subscribe`] subscribes on the master's broker *and* registers the pattern
//!   as interest. The first subscriber of a pattern sends `SUBSCRIBE(pattern)` to every
//!   connected agent (and to every agent that connects later); dropping the last one sends
//!   `UNSUBSCRIBE`. Plain broker subscriptions stay local: federation is opt-in per
//!   subscription, so a master worker listening on, say, `system.*.control` is never fed
//!   agents' events by accident.
//! * Each agent's link adds the pattern to its own [`bus::Feed`](crate::bus::Feed) on the
//!   agent broker and forwards what matches; the master drops any forwarded event that matches
//!   no current interest and republishes the rest on its broker with the link's own client.
//! * Events published on the master to `host.{id}.…` reach that agent: each master-side link
//!   subscribes to `host.{id}.>` with its own client and the agent republishes what arrives.
//!
//! Loops are impossible by construction. A remote event is republished under the client id of
//! the link it arrived on, and the broker never delivers a client's own events to that
//! client's feeds, so it cannot go back over the link it came from. On an agent, events from
//! the master are republished by the link's client, the very client whose feed selects what to
//! forward, so an agent never forwards an event that arrived from the master. Nothing reaches
//! a host that it did not ask for (`host.{id}.>`), and nothing leaves a host without interest.
//!
//! # Control calls
//!
//! [`MasterMesh::call`] opens one bidirectional stream per call, sends a typed CBOR
//! [`ControlRequest`] with its deadline and waits for the [`ControlResponse`] the agent's
//! [`ControlHandler`] returns. Past the deadline the caller gets [`RpcError::Deadline`] and the
//! agent abandons the handler.
//!
//! # Durable events
//!
//! The agent streams its outbox ([`DurableSource`]) on a dedicated stream in batches with
//! sequence numbers, several batches in flight; the master hands batches to an [`EventSink`]
//! and acknowledges cumulatively only after the sink committed. The agent then trims its
//! outbox. After any reconnect it resumes at its first unacknowledged record: redelivery is
//! possible, loss is not.

pub mod config;
pub mod durable;
pub mod endpoint;
pub mod federation;
pub mod link;
pub mod partition;
pub mod proto;
pub mod renew;
pub mod rpc;

use decnet_pki::PkiError;
use quinn::VarInt;

pub use config::{DEFAULT_ENROLL_PORT, DEFAULT_MESH_PORT, LinkTuning};
pub use durable::{DurableSource, DurableTuning, EventSink, SinkError, SourceError};
pub use link::agent::{AgentConfig, AgentLink, AgentLinkBuilder};
pub use link::master::{ConnectedHost, MasterConfig, MasterMesh, MasterMeshBuilder};
pub use link::state::LinkState;
pub use proto::{
    ControlRequest, ControlResponse, DeckyStatus, HostStatus, RemoteError, WorkerAction,
    WorkerOutcome, WorkerStatus,
};
pub use renew::{CaRenewer, CertificateRenewer, RenewError};
pub use rpc::{ControlHandler, RpcError};

/// Why the mesh could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// Settings that cannot work.
    #[error("mesh configuration: {0}")]
    Config(String),
    /// Building the TLS configuration failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Binding a UDP socket failed.
    #[error("mesh socket: {0}")]
    Io(#[from] std::io::Error),
    /// A master address could not be resolved.
    #[error("cannot resolve the master address {0}")]
    Resolve(String),
}

/// QUIC application close codes of a mesh connection.
pub(crate) mod close {
    use super::VarInt;

    /// Orderly shutdown of either end.
    pub(crate) const SHUTDOWN: VarInt = VarInt::from_u32(0);
    /// The peer's certificate was revoked.
    pub(crate) const REVOKED: VarInt = VarInt::from_u32(1);
    /// A newer connection of the same host took over.
    pub(crate) const REPLACED: VarInt = VarInt::from_u32(2);
    /// The peer broke the protocol.
    pub(crate) const PROTOCOL: VarInt = VarInt::from_u32(3);
    /// The agent found its connection unusable and redials.
    pub(crate) const REDIAL: VarInt = VarInt::from_u32(4);

    /// Operator-readable meaning of a close code.
    pub(crate) fn describe(code: VarInt) -> &'static str {
        match code.into_inner() {
            0 => "shut down",
            1 => "certificate revoked",
            2 => "replaced by a newer connection",
            3 => "protocol violation",
            4 => "redial",
            _ => "unknown reason",
        }
    }
}

/// QUIC stream error codes (reset / stop).
pub(crate) mod stream_code {
    use super::VarInt;

    /// The stream's peer broke the protocol.
    pub(crate) const PROTOCOL: VarInt = VarInt::from_u32(1);
    /// This end does not serve that kind of stream.
    pub(crate) const UNSUPPORTED: VarInt = VarInt::from_u32(2);
    /// The caller gave up (deadline).
    pub(crate) const CANCELLED: VarInt = VarInt::from_u32(3);
}

/// Operator-readable text of a connection error, decoding mesh close codes.
pub(crate) fn describe_close(e: &quinn::ConnectionError) -> String {
    match e {
        quinn::ConnectionError::ApplicationClosed(c) => {
            format!("closed by peer: {}", close::describe(c.error_code))
        }
        other => other.to_string(),
    }
}
