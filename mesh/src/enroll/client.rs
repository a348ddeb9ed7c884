//! The agent's side of enrollment.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use decnet_pki::{AgentIdentity, EnrollmentToken, MASTER_DNS_NAME, NodeKey, PkiError, TokenError};
use quinn::ConnectionError;

use super::{EnrollReply, EnrollRequest, Refusal};
use crate::quic::endpoint::{client_endpoint_for, enrollment_client, resolve};
use crate::quic::proto::{FrameReader, codec::write_message};
use crate::quic::{LinkTuning, MeshError};

/// How to reach the master.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// Overrides the token's master addresses (`HOST:PORT`).
    pub master: Option<String>,
    /// Version reported to the master.
    pub agent_version: String,
    /// Longest wait per master address, handshake and answer included.
    pub timeout: Duration,
    /// Name the master's certificate is checked against.
    pub server_name: String,
}

impl Default for EnrollOptions {
    fn default() -> Self {
        EnrollOptions {
            master: None,
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            timeout: Duration::from_secs(10),
            server_name: MASTER_DNS_NAME.to_owned(),
        }
    }
}

/// Why enrollment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The token is unusable before anything is sent (e.g. expired).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The master refused.
    #[error("enrollment refused: {0}")]
    Refused(Refusal),
    /// The TLS handshake failed, e.g. the server's CA does not match the token's fingerprint.
    #[error("TLS handshake with {addr} failed: {reason}")]
    Handshake {
        /// Master address.
        addr: String,
        /// What the TLS stack reported.
        reason: String,
    },
    /// No master address answered.
    #[error("no master reachable: {0}")]
    Unreachable(String),
    /// The answer broke the protocol.
    #[error("enrollment protocol error: {0}")]
    Protocol(String),
    /// The certificate received does not fit the key, the CA or the token.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The issued identity does not match the token.
    #[error("the master answered with {0}")]
    Mismatch(String),
    /// Local setup failed.
    #[error(transparent)]
    Mesh(#[from] MeshError),
}

impl EnrollError {
    /// True when the master presented a chain without the token's CA (wrong master or an
    /// intercepted connection).
    pub fn is_ca_pin_mismatch(&self) -> bool {
        matches!(self, EnrollError::Handshake { reason, .. } if reason.contains("does not contain the DECNET CA"))
    }
}

/// What a successful enrollment gives the agent.
#[derive(Debug)]
pub struct Enrolled {
    /// Key and certificates (not yet stored; see [`AgentIdentity::store`]).
    pub identity: AgentIdentity,
    /// Mesh addresses the master told the agent to dial; empty when it named none.
    pub mesh_addrs: Vec<String>,
}

/// Enrolls with `token`: generates the key here, sends only the CSR, and returns the identity
/// (not yet stored; see [`AgentIdentity::store`]).
pub async fn enroll(
    token: &EnrollmentToken,
    options: &EnrollOptions,
) -> Result<AgentIdentity, EnrollError> {
    enroll_with_details(token, options)
        .await
        .map(|enrolled| enrolled.identity)
}

/// Like [`enroll`], also returning the mesh addresses the master advertised.
pub async fn enroll_with_details(
    token: &EnrollmentToken,
    options: &EnrollOptions,
) -> Result<Enrolled, EnrollError> {
    token.check_not_expired(SystemTime::now())?;
    let key = NodeKey::generate()?;
    let csr_pem = key.csr(&token.host_name)?;
    let request = EnrollRequest {
        secret: Bytes::copy_from_slice(token.secret.as_bytes()),
        host_name: token.host_name.to_string(),
        csr_pem,
        agent_version: options.agent_version.clone(),
    };
    let addrs = match &options.master {
        Some(m) => vec![m.clone()],
        None => token.master_addrs.clone(),
    };
    let mut unreachable = Vec::new();
    for addr in &addrs {
        match exchange(addr, token, options, &request).await {
            Ok(EnrollReply::Issued {
                cert_pem,
                ca_pem,
                mesh_addrs,
            }) => {
                let identity = AgentIdentity::new(key, &cert_pem, &ca_pem)?;
                if identity.ca_fingerprint() != token.ca_fingerprint {
                    return Err(EnrollError::Mismatch(format!(
                        "a CA certificate other than the token's ({})",
                        identity.ca_fingerprint()
                    )));
                }
                if identity.host() != &token.host_name {
                    return Err(EnrollError::Mismatch(format!(
                        "a certificate for host {}",
                        identity.host()
                    )));
                }
                return Ok(Enrolled {
                    identity,
                    mesh_addrs,
                });
            }
            Ok(EnrollReply::Refused(r)) => return Err(EnrollError::Refused(r)),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Unreachable(why)) => {
                tracing::warn!(master = %addr, reason = %why, "enrollment endpoint unreachable");
                unreachable.push(format!("{addr}: {why}"));
            }
        }
    }
    Err(EnrollError::Unreachable(unreachable.join("; ")))
}

enum Attempt {
    Unreachable(String),
    Fatal(EnrollError),
}

async fn exchange(
    addr: &str,
    token: &EnrollmentToken,
    options: &EnrollOptions,
    request: &EnrollRequest,
) -> Result<EnrollReply, Attempt> {
    let fatal = |e: EnrollError| Attempt::Fatal(e);
    let remote = resolve(addr)
        .await
        .map_err(|e| Attempt::Unreachable(e.to_string()))?;
    let endpoint = client_endpoint_for(remote).map_err(|e| fatal(e.into()))?;
    let config = enrollment_client(token.ca_fingerprint, &LinkTuning::default())
        .map_err(|e| fatal(e.into()))?;
    let run = async {
        let connecting = endpoint
            .connect_with(config, remote, &options.server_name)
            .map_err(|e| Attempt::Unreachable(e.to_string()))?;
        let conn = connecting.await.map_err(|e| match e {
            ConnectionError::TimedOut => Attempt::Unreachable("no answer".into()),
            ConnectionError::TransportError(t) => fatal(EnrollError::Handshake {
                addr: addr.to_owned(),
                reason: t.to_string(),
            }),
            other => fatal(EnrollError::Handshake {
                addr: addr.to_owned(),
                reason: other.to_string(),
            }),
        })?;
        let protocol = |e: String| fatal(EnrollError::Protocol(e));
        let (mut send, recv) = conn.open_bi().await.map_err(|e| protocol(e.to_string()))?;
        write_message(&mut send, request)
            .await
            .map_err(|e| protocol(e.to_string()))?;
        let _ = send.finish();
        let reply = FrameReader::new(recv)
            .message::<EnrollReply>()
            .await
            .map_err(|e| protocol(e.to_string()));
        conn.close(quinn::VarInt::from_u32(0), b"done");
        reply
    };
    let result = tokio::time::timeout(options.timeout, run)
        .await
        .unwrap_or_else(|_| {
            Err(Attempt::Unreachable(format!(
                "no answer within {:?}",
                options.timeout
            )))
        });
    endpoint.wait_idle().await;
    result
}
