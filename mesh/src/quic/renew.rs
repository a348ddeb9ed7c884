//! Certificate rotation over the live link: the agent sends a CSR, the master's CA side
//! issues the replacement, both fingerprints stay pinned until the agent reconnects with
//! the new one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use decnet_pki::{CertificateAuthority, Fingerprint, HostName, MemoryRegistry, PkiError};
use parking_lot::Mutex;
use quinn::{Connection, SendStream};
use rustls::pki_types::CertificateDer;

use super::proto::{FrameReader, Open, ProtoError, RenewReply, RenewRequest, codec::write_message};

/// The master's CA side of rotation, implemented by the master (database, audit).
#[async_trait]
pub trait CertificateRenewer: Send + Sync + 'static {
    /// Issues a replacement for `current` (the certificate the agent is connected with) to the
    /// key of `csr_pem`; returns the new certificate as PEM, or a reason to refuse.
    async fn renew(
        &self,
        host: &HostName,
        current: &CertificateDer<'static>,
        csr_pem: &str,
    ) -> Result<String, String>;

    /// Called whenever `host` connects with `fingerprint`; a chance to retire the certificate
    /// it replaced.
    fn connected(&self, _host: &HostName, _fingerprint: &Fingerprint) {}
}

/// [`CertificateRenewer`] backed by an in-memory CA and registry: pins the new certificate
/// next to the old one and retires the old one once the agent has connected with the new.
pub struct CaRenewer {
    ca: Arc<CertificateAuthority>,
    registry: Arc<MemoryRegistry>,
    validity: Duration,
    /// Host → fingerprints replaced by a renewal and not retired yet.
    replaced: Mutex<HashMap<HostName, Vec<Fingerprint>>>,
}

impl std::fmt::Debug for CaRenewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaRenewer")
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl CaRenewer {
    /// Issues certificates valid for `validity`.
    pub fn new(
        ca: Arc<CertificateAuthority>,
        registry: Arc<MemoryRegistry>,
        validity: Duration,
    ) -> Self {
        CaRenewer {
            ca,
            registry,
            validity,
            replaced: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl CertificateRenewer for CaRenewer {
    async fn renew(
        &self,
        host: &HostName,
        current: &CertificateDer<'static>,
        csr_pem: &str,
    ) -> Result<String, String> {
        let issued = self
            .ca
            .renew(csr_pem, current, self.validity)
            .map_err(|e| e.to_string())?;
        self.registry
            .allow(host, issued.fingerprint)
            .map_err(|e| e.to_string())?;
        self.replaced
            .lock()
            .entry(host.clone())
            .or_default()
            .push(Fingerprint::of_der(current));
        tracing::info!(%host, fingerprint = %issued.fingerprint, "renewed agent certificate");
        Ok(issued.pem)
    }

    fn connected(&self, host: &HostName, fingerprint: &Fingerprint) {
        let mut replaced = self.replaced.lock();
        let Some(old) = replaced.get(host) else {
            return;
        };
        if old.contains(fingerprint) {
            return;
        }
        for fp in old {
            if self.registry.retire(host, fp) {
                tracing::info!(%host, fingerprint = %fp, "retired the certificate replaced by rotation");
            }
        }
        replaced.remove(host);
    }
}

/// Why a renewal did not produce a new identity.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    /// The link is down; renew once it is up.
    #[error("the mesh link is not up")]
    NotConnected,
    /// The master refused.
    #[error("the master refused the renewal: {0}")]
    Refused(String),
    /// Key, CSR, certificate or storage trouble on the agent.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The exchange failed.
    #[error("renewal exchange failed: {0}")]
    Link(String),
    /// No answer in time.
    #[error("no renewal answer within {0:?}")]
    Deadline(Duration),
}

/// Agent side: asks the master to sign `csr_pem`; returns the certificate PEM.
pub(crate) async fn request(
    conn: &Connection,
    csr_pem: String,
    deadline: Duration,
) -> Result<String, RenewError> {
    let exchange = async {
        let (mut send, recv) = conn
            .open_bi()
            .await
            .map_err(|e| RenewError::Link(e.to_string()))?;
        write_message(&mut send, &Open::Renew(RenewRequest { csr_pem }))
            .await
            .map_err(|e| RenewError::Link(e.to_string()))?;
        let _ = send.finish();
        let mut reader = FrameReader::new(recv);
        match reader.message::<RenewReply>().await {
            Ok(RenewReply::Issued { cert_pem }) => Ok(cert_pem),
            Ok(RenewReply::Refused { reason }) => Err(RenewError::Refused(reason)),
            Err(e) => Err(RenewError::Link(e.to_string())),
        }
    };
    tokio::time::timeout(deadline, exchange)
        .await
        .unwrap_or(Err(RenewError::Deadline(deadline)))
}

/// Master side: answers one renewal stream.
pub(crate) async fn serve(
    renewer: Option<Arc<dyn CertificateRenewer>>,
    host: &HostName,
    current: &CertificateDer<'static>,
    mut send: SendStream,
    request: RenewRequest,
) -> Result<(), ProtoError> {
    let reply = match renewer {
        None => RenewReply::Refused {
            reason: "this master does not renew certificates over the mesh".into(),
        },
        Some(r) => match r.renew(host, current, &request.csr_pem).await {
            Ok(cert_pem) => RenewReply::Issued { cert_pem },
            Err(reason) => {
                tracing::warn!(%host, %reason, "certificate renewal refused");
                RenewReply::Refused { reason }
            }
        },
    };
    write_message(&mut send, &reply).await?;
    let _ = send.finish();
    Ok(())
}
