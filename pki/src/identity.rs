//! TLS identities: an agent's key, certificate and CA certificate, and the master's server identity.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::ca::{CA_CERT_FILE, CertificateAuthority, IssuedCert};
use crate::cert;
use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::host::HostName;
use crate::key::NodeKey;
use crate::store;

/// File name of the agent's private key (mode 0600) in its state directory.
pub const AGENT_KEY_FILE: &str = "agent.key";
/// File name of the agent's certificate in its state directory.
pub const AGENT_CERT_FILE: &str = "agent.crt";

fn cert_from_pem(pem: &str, what: &str) -> Result<CertificateDer<'static>, PkiError> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| PkiError::BadCertificate(format!("{what} PEM: {e}")))
}

/// Everything an enrolled agent needs to join the mesh.
pub struct AgentIdentity {
    host: HostName,
    key: NodeKey,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
}

impl fmt::Debug for AgentIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentIdentity")
            .field("host", &self.host)
            .field("fingerprint", &self.fingerprint())
            .field("ca_fingerprint", &self.ca_fingerprint())
            .finish_non_exhaustive()
    }
}

impl AgentIdentity {
    /// Assembles an identity, checking that the key matches the certificate, that the CA signed
    /// it and that it is an agent certificate.
    pub fn new(key: NodeKey, cert_pem: &str, ca_pem: &str) -> Result<Self, PkiError> {
        let cert_der = cert_from_pem(cert_pem, "agent certificate")?;
        let ca_der = cert_from_pem(ca_pem, "CA certificate")?;
        if cert::spki_der(&cert_der)? != key.public_key_der() {
            return Err(PkiError::KeyMismatch("of the agent".into()));
        }
        cert::verify_issued_by(&cert_der, &ca_der)?;
        let host = cert::host_from_cert(&cert_der)?;
        Ok(Self {
            host,
            key,
            cert_der,
            cert_pem: cert_pem.to_owned(),
            ca_der,
            ca_pem: ca_pem.to_owned(),
        })
    }

    /// Loads the identity stored in `dir` by [`AgentIdentity::store`].
    pub fn load(dir: &Path) -> Result<Self, PkiError> {
        store::recover_pair(dir, AGENT_KEY_FILE, AGENT_CERT_FILE)?;
        let key_path = dir.join(AGENT_KEY_FILE);
        let key =
            NodeKey::from_pem(&store::read_private(&key_path)?).map_err(|e| PkiError::BadFile {
                path: key_path.clone(),
                what: e.to_string(),
            })?;
        let cert_pem = store::read_public(&dir.join(AGENT_CERT_FILE))?;
        let ca_pem = store::read_public(&dir.join(CA_CERT_FILE))?;
        Self::new(key, &cert_pem, &ca_pem).map_err(|e| PkiError::BadFile {
            path: dir.to_path_buf(),
            what: e.to_string(),
        })
    }

    /// Writes key (0600), certificate and CA certificate under `dir` (created 0700).
    ///
    /// Replacing an older identity is crash-safe: a later [`AgentIdentity::load`] sees either
    /// the old key and certificate or the new ones, never a mix.
    pub fn store(&self, dir: &Path) -> Result<(), PkiError> {
        store::ensure_private_dir(dir)?;
        store::write_atomic(
            &dir.join(CA_CERT_FILE),
            self.ca_pem.as_bytes(),
            store::CERT_MODE,
        )?;
        store::commit_pair(
            dir,
            AGENT_KEY_FILE,
            self.key.to_pem().as_bytes(),
            AGENT_CERT_FILE,
            self.cert_pem.as_bytes(),
        )
    }

    /// The host this identity belongs to (from the certificate).
    pub fn host(&self) -> &HostName {
        &self.host
    }

    /// The agent's private key.
    pub fn key(&self) -> &NodeKey {
        &self.key
    }

    /// The agent certificate (DER).
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The agent certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate (DER).
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Fingerprint of the agent certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert_der)
    }

    /// Fingerprint of the CA certificate; compare it with the enrollment token's.
    pub fn ca_fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.ca_der)
    }

    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

/// The master's TLS server identity for the mesh and enrollment endpoints.
pub struct ServerIdentity {
    key: NodeKey,
    cert: IssuedCert,
    ca_der: CertificateDer<'static>,
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("fingerprint", &self.cert.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// Generates a key on the master and has the local CA sign it for `names`.
    pub fn generate(
        ca: &CertificateAuthority,
        names: &[String],
        validity: Duration,
    ) -> Result<Self, PkiError> {
        let key = NodeKey::generate()?;
        let cert = ca.issue_master_server_cert(&key, names, validity)?;
        Ok(Self {
            key,
            cert,
            ca_der: ca.cert_der().clone(),
        })
    }

    /// The server certificate.
    pub fn cert(&self) -> &IssuedCert {
        &self.cert
    }

    /// The CA certificate the server chain ends with.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The server's private key.
    pub fn key(&self) -> &NodeKey {
        &self.key
    }

    /// Leaf then CA: clients pinning the CA by fingerprint find it in the chain.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.cert.der.clone(), self.ca_der.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrolled(ca: &CertificateAuthority, name: &str) -> AgentIdentity {
        let host: HostName = name.parse().unwrap();
        let key = NodeKey::generate().unwrap();
        let issued = ca
            .issue_from_csr(&key.csr(&host).unwrap(), &host, Duration::from_secs(3600))
            .unwrap();
        AgentIdentity::new(key, &issued.pem, ca.cert_pem()).unwrap()
    }

    #[test]
    fn new_checks_key_and_issuer() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let id = enrolled(&ca, "sensor-01");
        assert_eq!(id.host().as_str(), "sensor-01");
        assert_eq!(id.ca_fingerprint(), ca.fingerprint());

        let wrong_key = NodeKey::generate().unwrap();
        assert!(matches!(
            AgentIdentity::new(wrong_key, id.cert_pem(), ca.cert_pem()),
            Err(PkiError::KeyMismatch(_))
        ));

        let other = CertificateAuthority::generate("t").unwrap();
        let key = NodeKey::from_pem(&id.key().to_pem()).unwrap();
        assert!(matches!(
            AgentIdentity::new(key, id.cert_pem(), other.cert_pem()),
            Err(PkiError::WrongIssuer(_))
        ));
    }

    #[test]
    fn server_identity_is_not_an_agent_identity() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let server = ServerIdentity::generate(&ca, &[], Duration::from_secs(60)).unwrap();
        let key = NodeKey::from_pem(&server.key().to_pem()).unwrap();
        assert!(AgentIdentity::new(key, &server.cert().pem, ca.cert_pem()).is_err());
        assert_eq!(server.chain().len(), 2);
    }
}
