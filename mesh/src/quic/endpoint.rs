//! quinn endpoints and configurations built from the PKI's rustls configurations.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use decnet_pki::tls::{
    ALPN_ENROLL, ALPN_MESH, enrollment_client_config, enrollment_server_config, mesh_client_config,
    mesh_server_config,
};
use decnet_pki::{AgentIdentity, Fingerprint, HostRegistry, ServerIdentity};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ClientConfig, Connection, Endpoint, ServerConfig};
use rustls::pki_types::CertificateDer;

use super::MeshError;
use super::config::LinkTuning;

fn tls_err(e: impl std::fmt::Display) -> MeshError {
    MeshError::Config(format!("TLS configuration unusable for QUIC: {e}"))
}

/// The master's mesh endpoint: mTLS with registry pinning, ALPN `decnet-mesh/1`.
pub fn master_endpoint(
    listen: SocketAddr,
    identity: &ServerIdentity,
    registry: Arc<dyn HostRegistry>,
    tuning: &LinkTuning,
) -> Result<Endpoint, MeshError> {
    let tls = mesh_server_config(identity, registry, &[ALPN_MESH])?;
    let crypto = QuicServerConfig::try_from(Arc::new(tls)).map_err(tls_err)?;
    let mut config = ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(tuning.transport()?);
    Ok(Endpoint::server(config, listen)?)
}

/// The agent's client configuration for its current identity.
pub fn agent_client_config(
    identity: &AgentIdentity,
    tuning: &LinkTuning,
) -> Result<ClientConfig, MeshError> {
    let tls = mesh_client_config(identity, &[ALPN_MESH])?;
    let crypto = QuicClientConfig::try_from(Arc::new(tls)).map_err(tls_err)?;
    let mut config = ClientConfig::new(Arc::new(crypto));
    config.transport_config(tuning.transport()?);
    Ok(config)
}

/// The master's enrollment endpoint: server certificate only, ALPN `decnet-enroll/1`.
pub fn enrollment_endpoint(
    listen: SocketAddr,
    identity: &ServerIdentity,
    tuning: &LinkTuning,
) -> Result<Endpoint, MeshError> {
    let tls = enrollment_server_config(identity, &[ALPN_ENROLL])?;
    let crypto = QuicServerConfig::try_from(Arc::new(tls)).map_err(tls_err)?;
    let mut config = ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(tuning.transport()?);
    Ok(Endpoint::server(config, listen)?)
}

/// The enrolling agent's client configuration, pinned to the CA fingerprint of its token.
pub fn enrollment_client(
    ca_fingerprint: Fingerprint,
    tuning: &LinkTuning,
) -> Result<ClientConfig, MeshError> {
    let tls = enrollment_client_config(ca_fingerprint, &[ALPN_ENROLL])?;
    let crypto = QuicClientConfig::try_from(Arc::new(tls)).map_err(tls_err)?;
    let mut config = ClientConfig::new(Arc::new(crypto));
    config.transport_config(tuning.transport()?);
    Ok(config)
}

/// A client endpoint on an ephemeral port of the family of `remote`.
pub fn client_endpoint_for(remote: SocketAddr) -> Result<Endpoint, MeshError> {
    let bind: SocketAddr = match remote {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    Ok(Endpoint::client(bind)?)
}

/// The certificate chain the peer presented, when it presented one.
pub fn peer_chain(conn: &Connection) -> Option<Vec<CertificateDer<'static>>> {
    conn.peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()
        .map(|b| *b)
}

/// Resolves `HOST:PORT` (a name or an address) to its first socket address.
pub async fn resolve(addr: &str) -> Result<SocketAddr, MeshError> {
    if let Ok(a) = addr.parse() {
        return Ok(a);
    }
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| MeshError::Resolve(format!("{addr}: {e}")))?
        .next()
        .ok_or_else(|| MeshError::Resolve(format!("{addr}: no address")))
}
