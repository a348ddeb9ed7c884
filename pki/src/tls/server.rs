//! Master-side configurations.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::version::TLS13;

use super::verifier::PinnedClientVerifier;
use super::{alpn_list, provider};
use crate::error::PkiError;
use crate::identity::ServerIdentity;
use crate::registry::HostRegistry;

/// Mesh server: client certificates are mandatory, must chain to the DECNET CA and must be
/// pinned in `registry`; anything else fails the handshake and is logged.
pub fn mesh_server_config(
    identity: &ServerIdentity,
    registry: Arc<dyn HostRegistry>,
    alpn: &[&[u8]],
) -> Result<ServerConfig, PkiError> {
    let provider = provider();
    let verifier =
        PinnedClientVerifier::new(identity.ca_der().clone(), registry, provider.clone())?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(identity.chain(), identity.key().private_key_der())?;
    config.alpn_protocols = alpn_list(alpn);
    Ok(config)
}

/// Enrollment server: presents the CA-signed chain (leaf then CA, so agents can pin the CA by
/// fingerprint) and asks for no client certificate; the token secret authenticates the agent.
pub fn enrollment_server_config(
    identity: &ServerIdentity,
    alpn: &[&[u8]],
) -> Result<ServerConfig, PkiError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13])?
        .with_no_client_auth()
        .with_single_cert(identity.chain(), identity.key().private_key_der())?;
    config.alpn_protocols = alpn_list(alpn);
    Ok(config)
}
