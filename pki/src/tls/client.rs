//! Agent-side configurations.

use std::sync::Arc;

use rustls::version::TLS13;
use rustls::{ClientConfig, RootCertStore};

use super::verifier::CaPinnedServerVerifier;
use super::{alpn_list, provider};
use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::identity::AgentIdentity;

/// Mesh client: trusts only the DECNET CA and presents the agent certificate.
///
/// Connect with server name [`crate::MASTER_DNS_NAME`] unless the master certificate was
/// issued for another name.
pub fn mesh_client_config(
    identity: &AgentIdentity,
    alpn: &[&[u8]],
) -> Result<ClientConfig, PkiError> {
    let mut roots = RootCertStore::empty();
    roots.add(identity.ca_der().clone())?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![identity.cert_der().clone()],
            identity.key().private_key_der(),
        )?;
    config.alpn_protocols = alpn_list(alpn);
    Ok(config)
}

/// Enrollment client: before it has a CA certificate, the agent trusts a server only if the
/// chain it presents contains the CA whose SHA-256 is `ca_fingerprint` and the leaf verifies
/// against that CA. No system roots are consulted.
pub fn enrollment_client_config(
    ca_fingerprint: Fingerprint,
    alpn: &[&[u8]],
) -> Result<ClientConfig, PkiError> {
    let provider = provider();
    let verifier = CaPinnedServerVerifier::new(ca_fingerprint, provider.clone());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = alpn_list(alpn);
    Ok(config)
}
