//! Certificate verifiers: CA chain plus fingerprint pin (server side), CA pinned by
//! fingerprint (enrollment client side).

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError, RootCertStore,
    SignatureScheme,
};

use crate::cert::host_from_cert;
use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::registry::{HostRegistry, PinDecision};

/// Verifies client chains against the DECNET CA, then pins the leaf against a host registry.
pub struct PinnedClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    registry: Arc<dyn HostRegistry>,
}

impl fmt::Debug for PinnedClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedClientVerifier")
            .finish_non_exhaustive()
    }
}

fn claimed_host(der: &[u8]) -> String {
    host_from_cert(der).map_or_else(|_| "?".to_owned(), |h| h.to_string())
}

impl PinnedClientVerifier {
    /// A verifier trusting only `ca` and consulting `registry` for every leaf.
    pub fn new(
        ca: CertificateDer<'static>,
        registry: Arc<dyn HostRegistry>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, PkiError> {
        let mut roots = RootCertStore::empty();
        roots.add(ca)?;
        let inner =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        Ok(Self { inner, registry })
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let fingerprint = Fingerprint::of_der(end_entity);
        if let Err(e) = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            tracing::warn!(%fingerprint, reason = %e, "mesh client rejected: certificate does not verify against the DECNET CA");
            return Err(e);
        }
        match self.registry.lookup(&fingerprint) {
            PinDecision::Allowed { host } => match host_from_cert(end_entity) {
                Ok(named) if named == host => Ok(ClientCertVerified::assertion()),
                named => {
                    let named = named.map_or_else(|e| e.to_string(), |h| h.to_string());
                    tracing::warn!(%fingerprint, %host, certificate_host = %named, reason = "host mismatch", "mesh client rejected: certificate names another host than its pin");
                    Err(Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    ))
                }
            },
            PinDecision::Unknown => {
                tracing::warn!(%fingerprint, certificate_host = %claimed_host(end_entity), reason = "unknown", "mesh client rejected: CA-signed certificate is not registered");
                Err(Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
            PinDecision::Revoked => {
                tracing::warn!(%fingerprint, certificate_host = %claimed_host(end_entity), reason = "revoked", "mesh client rejected: certificate is revoked");
                Err(Error::InvalidCertificate(CertificateError::Revoked))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The server's chain does not contain the CA the enrollment token pins.
#[derive(thiserror::Error)]
#[error(
    "the server's certificate chain does not contain the DECNET CA {expected} named in the token (it presented {}); wrong master address, or the connection is intercepted",
    presented.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
)]
pub struct CaPinMismatch {
    /// Fingerprint from the token.
    pub expected: Fingerprint,
    /// Fingerprints of the certificates the server sent.
    pub presented: Vec<Fingerprint>,
}

// rustls shows certificate errors with `{:?}`; make that the readable message.
impl fmt::Debug for CaPinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Trusts a server only if its chain contains the CA with the pinned fingerprint and the leaf
/// verifies (signature, validity, serverAuth, name) against that CA.
pub struct CaPinnedServerVerifier {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for CaPinnedServerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaPinnedServerVerifier")
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

impl CaPinnedServerVerifier {
    /// A verifier pinned to the CA with SHA-256 fingerprint `pin`.
    pub fn new(pin: Fingerprint, provider: Arc<CryptoProvider>) -> Self {
        Self { pin, provider }
    }
}

impl ServerCertVerifier for CaPinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(ca) = intermediates
            .iter()
            .find(|c| Fingerprint::of_der(c) == self.pin)
        else {
            let mismatch = CaPinMismatch {
                expected: self.pin,
                presented: std::iter::once(end_entity)
                    .chain(intermediates)
                    .map(|c| Fingerprint::of_der(c))
                    .collect(),
            };
            tracing::warn!(expected = %self.pin, presented = ?mismatch.presented, "enrollment server rejected: CA fingerprint does not match the token");
            return Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(mismatch)),
            )));
        };
        // The pinned CA becomes the only trust anchor; webpki then checks the leaf chains to it.
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| Error::General(e.to_string()))?;
        webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .inspect_err(|e| {
                tracing::warn!(ca = %self.pin, reason = %e, "enrollment server rejected: certificate does not verify against the pinned CA");
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
