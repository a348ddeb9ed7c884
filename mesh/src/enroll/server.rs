//! The master's enrollment endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use decnet_pki::{HostName, ServerIdentity, TokenSecret};
use quinn::{Endpoint, Incoming};
use tokio_util::sync::CancellationToken;

use super::{EnrollReply, EnrollRequest, Refusal};
use crate::quic::link::DropGuard;
use crate::quic::proto::{FrameReader, codec::write_message};
use crate::quic::{LinkTuning, MeshError, endpoint::enrollment_endpoint};

/// A request that passed the wire checks (well-formed secret and host name).
#[derive(Debug)]
pub struct Enrollment {
    /// The token secret presented.
    pub secret: TokenSecret,
    /// The host asked for.
    pub host: HostName,
    /// PEM CSR made with the agent's key.
    pub csr_pem: String,
    /// Agent software version.
    pub agent_version: String,
    /// Where the request came from, for the audit log.
    pub peer: SocketAddr,
}

/// A successful enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The agent certificate (PEM).
    pub cert_pem: String,
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// Mesh addresses (`HOST:PORT`) the agent should dial from now on.
    pub mesh_addrs: Vec<String>,
}

/// Decides enrollments: checks the stored token hash, expiry, host and single use, issues
/// the certificate from the CSR and pins it. Implemented by the master over its database.
#[async_trait]
pub trait EnrollmentAuthority: Send + Sync + 'static {
    /// Enrolls or refuses; a used token must stay used even if this call is repeated.
    async fn enroll(&self, request: &Enrollment) -> Result<Issued, Refusal>;
}

/// Longest an enrolling peer may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The running enrollment endpoint; stops when dropped or shut down.
pub struct EnrollmentServer {
    endpoint: Endpoint,
    cancel: CancellationToken,
    _guard: DropGuard,
}

impl std::fmt::Debug for EnrollmentServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentServer")
            .field("listen", &self.endpoint.local_addr().ok())
            .finish()
    }
}

impl EnrollmentServer {
    /// Binds `listen` and serves enrollments decided by `authority`. Must run inside tokio.
    pub fn start(
        listen: SocketAddr,
        identity: &ServerIdentity,
        authority: Arc<dyn EnrollmentAuthority>,
    ) -> Result<Self, MeshError> {
        let endpoint = enrollment_endpoint(listen, identity, &LinkTuning::default())?;
        let cancel = CancellationToken::new();
        tokio::spawn(accept_loop(endpoint.clone(), authority, cancel.clone()));
        tracing::info!(listen = ?endpoint.local_addr().ok(), "enrollment endpoint listening");
        Ok(EnrollmentServer {
            endpoint,
            cancel: cancel.clone(),
            _guard: DropGuard(cancel),
        })
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> Result<SocketAddr, MeshError> {
        Ok(self.endpoint.local_addr()?)
    }

    /// Stops accepting and closes open connections.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.endpoint
            .close(quinn::VarInt::from_u32(0), b"shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}

async fn accept_loop(
    endpoint: Endpoint,
    authority: Arc<dyn EnrollmentAuthority>,
    cancel: CancellationToken,
) {
    loop {
        let incoming = tokio::select! {
            _ = cancel.cancelled() => break,
            i = endpoint.accept() => i,
        };
        let Some(incoming) = incoming else { break };
        tokio::spawn(serve(incoming, authority.clone()));
    }
    endpoint.close(quinn::VarInt::from_u32(0), b"shutting down");
}

async fn serve(incoming: Incoming, authority: Arc<dyn EnrollmentAuthority>) {
    let peer = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(%peer, error = %e, "enrollment handshake failed");
            return;
        }
    };
    let exchange = async {
        let (mut send, recv) = conn.accept_bi().await.map_err(|e| e.to_string())?;
        let mut reader = FrameReader::new(recv);
        let request: EnrollRequest = tokio::time::timeout(REQUEST_TIMEOUT, reader.message())
            .await
            .map_err(|_| "no request in time".to_owned())?
            .map_err(|e| e.to_string())?;
        let reply = decide(request, peer, authority.as_ref()).await;
        write_message(&mut send, &reply)
            .await
            .map_err(|e| e.to_string())?;
        let _ = send.finish();
        // Let the reply reach the agent before the connection goes; the agent closes it.
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, conn.closed()).await;
        Ok::<(), String>(())
    };
    if let Err(e) = exchange.await {
        tracing::warn!(%peer, error = %e, "enrollment exchange failed");
    }
    conn.close(quinn::VarInt::from_u32(0), b"done");
}

async fn decide(
    request: EnrollRequest,
    peer: SocketAddr,
    authority: &dyn EnrollmentAuthority,
) -> EnrollReply {
    let refused = |refusal: Refusal, host: &str| {
        tracing::warn!(%peer, host = %host.chars().take(80).collect::<String>(), reason = %refusal, "enrollment refused");
        EnrollReply::Refused(refusal)
    };
    let host: HostName = match request.host_name.parse() {
        Ok(h) => h,
        Err(e) => return refused(Refusal::BadName(e.to_string()), &request.host_name),
    };
    let Ok(secret) = <[u8; 32]>::try_from(&request.secret[..]) else {
        return refused(Refusal::UnknownToken, &request.host_name);
    };
    let enrollment = Enrollment {
        secret: TokenSecret::from_bytes(secret),
        host,
        csr_pem: request.csr_pem,
        agent_version: request.agent_version,
        peer,
    };
    match authority.enroll(&enrollment).await {
        Ok(issued) => {
            tracing::info!(%peer, host = %enrollment.host, agent_version = %enrollment.agent_version, "agent enrolled");
            EnrollReply::Issued {
                cert_pem: issued.cert_pem,
                ca_pem: issued.ca_pem,
                mesh_addrs: issued.mesh_addrs,
            }
        }
        Err(refusal) => refused(refusal, enrollment.host.as_str()),
    }
}
