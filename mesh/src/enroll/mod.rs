//! Agent enrollment: a one-time token buys a certificate for a key that never leaves the agent.
//!
//! # Transport
//!
//! QUIC on UDP, ALPN `decnet-enroll/1`, by default on port [`DEFAULT_ENROLL_PORT`] next to
//! the mesh port. It is a separate endpoint because the mesh endpoint demands a client
//! certificate in the handshake, which an enrolling agent does not have yet; using QUIC for
//! both keeps a single transport stack (and a single firewall rule family: UDP). The agent
//! trusts the master only if the chain it presents contains the CA whose fingerprint the token
//! carries ([`decnet_pki::tls::enrollment_client_config`]); nothing is sent before that check.
//!
//! # Exchange
//!
//! One bidirectional stream, one frame each way (length-prefixed CBOR, as on the mesh):
//! [`EnrollRequest`] `{secret, host_name, csr_pem, agent_version}` and [`EnrollReply`]
//! (`Issued {cert_pem, ca_pem, mesh_addrs}` or a typed [`Refusal`]). The master's
//! [`EnrollmentAuthority`] verifies the token (hash, expiry, host, single use) and issues the
//! certificate; every refusal, a replayed token in particular, is logged with the peer address.

mod client;
mod memory;
mod server;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use crate::quic::DEFAULT_ENROLL_PORT;
pub use client::{EnrollError, EnrollOptions, Enrolled, enroll, enroll_with_details};
pub use memory::MemoryAuthority;
pub use server::{Enrollment, EnrollmentAuthority, EnrollmentServer, Issued};

/// What the agent sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The token's 32-byte secret.
    pub secret: Bytes,
    /// Host name asked for (validated by the master: it may be anything on the wire).
    pub host_name: String,
    /// PEM CSR made with the agent's new key.
    pub csr_pem: String,
    /// Agent software version, for the master's records.
    pub agent_version: String,
}

/// The master's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnrollReply {
    /// Enrolled.
    Issued {
        /// The agent certificate (PEM).
        cert_pem: String,
        /// The CA certificate (PEM).
        ca_pem: String,
        /// Mesh addresses (`HOST:PORT`) the agent should dial; empty from older masters.
        #[serde(default)]
        mesh_addrs: Vec<String>,
    },
    /// Not enrolled, and why.
    Refused(Refusal),
}

/// Why the master refused an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The token's lifetime is over.
    #[error("the enrollment token has expired")]
    Expired,
    /// The token was already used (a replay).
    #[error("the enrollment token was already used")]
    AlreadyUsed,
    /// No outstanding token has this secret.
    #[error("unknown enrollment token")]
    UnknownToken,
    /// The host name is not valid.
    #[error("invalid host name: {0}")]
    BadName(String),
    /// The token was issued for another host name.
    #[error("the token is for host {token_host}, not for the host asked for")]
    NameMismatch {
        /// Host the token enrolls.
        token_host: String,
    },
    /// The CSR is unusable (bad signature, wrong name, unsupported key).
    #[error("the certificate request was rejected: {0}")]
    BadCsr(String),
    /// The master could not enroll now (database down, ...); try again later.
    #[error("the master cannot enroll right now: {0}")]
    Unavailable(String),
}
