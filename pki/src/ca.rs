//! The deployment's certificate authority, kept by the master.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use rand::RngCore;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
    SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::OffsetDateTime;

use crate::cert;
use crate::csr::verify_csr;
use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::host::HostName;
use crate::key::NodeKey;
use crate::store;

/// File name of the CA certificate (PEM) in the CA directory.
pub const CA_CERT_FILE: &str = "ca.crt";
/// File name of the CA private key (PEM, mode 0600) in the CA directory.
pub const CA_KEY_FILE: &str = "ca.key";

/// DNS name every master mesh/enrollment certificate carries; agents dial it by this name.
pub const MASTER_DNS_NAME: &str = "master.decnet";

/// Suggested lifetime of agent certificates (renewed in their last third, see `CertValidity`).
pub const AGENT_CERT_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);
/// Suggested lifetime of the master's server certificate.
pub const SERVER_CERT_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);

/// Lifetime of the CA certificate.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Backdating absorbs clock skew between master and agents.
const BACKDATE: Duration = Duration::from_secs(300);

/// A certificate issued by the CA.
#[derive(Clone)]
pub struct IssuedCert {
    /// DER encoding.
    pub der: CertificateDer<'static>,
    /// PEM encoding.
    pub pem: String,
    /// SHA-256 of `der`; the value pinned in the host registry.
    pub fingerprint: Fingerprint,
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    fn from_rcgen(cert: &Certificate) -> Self {
        let der = cert.der().clone();
        Self {
            fingerprint: Fingerprint::of_der(&der),
            pem: cert.pem(),
            der,
        }
    }
}

/// The DECNET CA: an ECDSA P-256 key and its self-signed certificate.
pub struct CertificateAuthority {
    key: KeyPair,
    /// Re-created from the stored certificate; used only as the issuer template for signing.
    issuer: Certificate,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    fingerprint: Fingerprint,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| PkiError::Random(e.to_string()))?;
    // Positive and without a leading zero byte, so the DER INTEGER keeps all 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn validity_window(validity: Duration) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - BACKDATE, now + validity)
}

impl CertificateAuthority {
    /// Creates a new CA in memory with CN `DECNET CA <deployment>`.
    pub fn generate(deployment: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "DECNET");
        dn.push(DnType::CommonName, format!("DECNET CA {deployment}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(random_serial()?);
        (params.not_before, params.not_after) = validity_window(CA_VALIDITY);
        let issuer = params.self_signed(&key)?;
        let cert_der = issuer.der().clone();
        Ok(Self {
            fingerprint: Fingerprint::of_der(&cert_der),
            cert_pem: issuer.pem(),
            cert_der,
            issuer,
            key,
        })
    }

    /// Rebuilds a CA from its PEM certificate and PEM key, checking that they belong together.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| PkiError::BadKey(e.to_string()))?;
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| PkiError::BadCertificate(format!("CA certificate PEM: {e}")))?;
        let parsed = cert::parse(&cert_der)?;
        if !parsed.is_ca() {
            return Err(PkiError::BadCertificate("not a CA certificate".into()));
        }
        if parsed.public_key().raw != key.public_key_der().as_slice() {
            return Err(PkiError::KeyMismatch("of the CA".into()));
        }
        let params = CertificateParams::from_ca_cert_der(&cert_der)?;
        let issuer = params.self_signed(&key)?;
        Ok(Self {
            fingerprint: Fingerprint::of_der(&cert_der),
            cert_pem: cert_pem.to_owned(),
            cert_der,
            issuer,
            key,
        })
    }

    /// Loads the CA from `dir`, creating it (dir 0700, key 0600) on first start.
    pub fn load_or_create(dir: &Path, deployment: &str) -> Result<Self, PkiError> {
        store::ensure_private_dir(dir)?;
        store::recover_pair(dir, CA_KEY_FILE, CA_CERT_FILE)?;
        let has_key = store::exists(&dir.join(CA_KEY_FILE))?;
        let has_cert = store::exists(&dir.join(CA_CERT_FILE))?;
        match (has_key, has_cert) {
            (true, true) => Self::load(dir),
            (false, false) => {
                let ca = Self::generate(deployment)?;
                store::commit_pair(
                    dir,
                    CA_KEY_FILE,
                    ca.key.serialize_pem().as_bytes(),
                    CA_CERT_FILE,
                    ca.cert_pem.as_bytes(),
                )?;
                tracing::info!(dir = %dir.display(), fingerprint = %ca.fingerprint, "created DECNET CA");
                Ok(ca)
            }
            (true, false) => Err(PkiError::IncompleteState {
                dir: dir.to_path_buf(),
                present: CA_KEY_FILE,
                missing: CA_CERT_FILE,
            }),
            (false, true) => Err(PkiError::IncompleteState {
                dir: dir.to_path_buf(),
                present: CA_CERT_FILE,
                missing: CA_KEY_FILE,
            }),
        }
    }

    /// Loads an existing CA from `dir`; the key file must not be accessible by group or others.
    pub fn load(dir: &Path) -> Result<Self, PkiError> {
        let key_path = dir.join(CA_KEY_FILE);
        let cert_path = dir.join(CA_CERT_FILE);
        let key_pem = store::read_private(&key_path)?;
        let cert_pem = store::read_public(&cert_path)?;
        Self::from_pem(&cert_pem, &key_pem).map_err(|e| PkiError::BadFile {
            path: dir.to_path_buf(),
            what: e.to_string(),
        })
    }

    /// SHA-256 of the CA certificate's DER, as carried in enrollment tokens.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The CA certificate (DER).
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA certificate (PEM), sent to agents at enrollment.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs an agent certificate for `host` from the agent's PEM CSR.
    ///
    /// The CSR's signature must verify and its CN must equal `host`. The certificate gets
    /// CN = host, SAN DNS `<host>.agents.decnet` and the clientAuth EKU only.
    pub fn issue_from_csr(
        &self,
        csr_pem: &str,
        host: &HostName,
        validity: Duration,
    ) -> Result<IssuedCert, PkiError> {
        let csr = verify_csr(csr_pem, host)?;
        self.sign_agent(&csr.public_key, host, validity)
    }

    pub(crate) fn sign_agent(
        &self,
        public_key: &impl PublicKeyData,
        host: &HostName,
        validity: Duration,
    ) -> Result<IssuedCert, PkiError> {
        let mut params = self.leaf_params(validity)?;
        params
            .distinguished_name
            .push(DnType::CommonName, host.as_str());
        params.subject_alt_names = vec![SanType::DnsName(host.agent_dns_name().try_into()?)];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(public_key, &self.issuer, &self.key)?;
        let issued = IssuedCert::from_rcgen(&cert);
        tracing::info!(%host, fingerprint = %issued.fingerprint, "issued agent certificate");
        Ok(issued)
    }

    /// Signs the master's mesh/enrollment server certificate for a key generated on the master.
    ///
    /// SANs: `master.decnet` plus each of `names` (IP addresses become IP SANs). EKUs: serverAuth
    /// and clientAuth.
    pub fn issue_master_server_cert(
        &self,
        key: &NodeKey,
        names: &[String],
        validity: Duration,
    ) -> Result<IssuedCert, PkiError> {
        let mut params = self.leaf_params(validity)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "DECNET master");
        let mut sans = vec![SanType::DnsName(MASTER_DNS_NAME.try_into()?)];
        for name in names.iter().filter(|n| n.as_str() != MASTER_DNS_NAME) {
            sans.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(name.as_str().try_into()?),
            });
        }
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(key.key_pair(), &self.issuer, &self.key)?;
        Ok(IssuedCert::from_rcgen(&cert))
    }

    fn leaf_params(&self, validity: Duration) -> Result<CertificateParams, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        (params.not_before, params.not_after) = validity_window(validity);
        Ok(params)
    }

    /// Checks that `cert_der` was signed by this CA (not that it is still valid or pinned).
    pub fn verify_issued(&self, cert_der: &[u8]) -> Result<(), PkiError> {
        cert::verify_issued_by(cert_der, &self.cert_der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::host_from_cert;

    #[test]
    fn ca_certificate_shape() {
        let ca = CertificateAuthority::generate("prod").unwrap();
        let c = cert::parse(ca.cert_der()).unwrap();
        assert!(c.is_ca());
        let cn = c.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), "DECNET CA prod");
        let years = (c.validity().not_after.timestamp() - c.validity().not_before.timestamp())
            / (365 * 24 * 3600);
        assert!(years >= 9, "{years}");
        assert_eq!(ca.fingerprint(), Fingerprint::of_der(ca.cert_der()));
        assert_eq!(ca.fingerprint().to_string().len(), 64);
    }

    #[test]
    fn agent_certificate_shape() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let key = NodeKey::generate().unwrap();
        let host: HostName = "sensor-01".parse().unwrap();
        let issued = ca
            .issue_from_csr(&key.csr(&host).unwrap(), &host, Duration::from_secs(86400))
            .unwrap();
        assert_eq!(host_from_cert(&issued.der).unwrap(), host);
        let c = cert::parse(&issued.der).unwrap();
        assert!(!c.is_ca());
        let eku = c.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert_eq!(c.public_key().raw, key.public_key_der().as_slice());
        ca.verify_issued(&issued.der).unwrap();
        assert_eq!(issued.fingerprint, Fingerprint::of_der(&issued.der));
    }

    #[test]
    fn master_certificate_shape() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let key = NodeKey::generate().unwrap();
        let issued = ca
            .issue_master_server_cert(
                &key,
                &["10.0.0.1".into(), "mesh.example.org".into()],
                Duration::from_secs(86400),
            )
            .unwrap();
        let c = cert::parse(&issued.der).unwrap();
        let eku = c.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && eku.server_auth);
        let san = format!("{:?}", c.subject_alternative_name().unwrap().unwrap().value);
        assert!(san.contains("master.decnet"), "{san}");
        assert!(san.contains("mesh.example.org"), "{san}");
        // A master certificate never passes for an agent one.
        assert!(host_from_cert(&issued.der).is_err());
    }

    #[test]
    fn other_ca_is_not_the_issuer() {
        let ca = CertificateAuthority::generate("a").unwrap();
        let other = CertificateAuthority::generate("a").unwrap();
        let key = NodeKey::generate().unwrap();
        let host: HostName = "h".parse().unwrap();
        let issued = other
            .issue_from_csr(&key.csr(&host).unwrap(), &host, Duration::from_secs(60))
            .unwrap();
        assert!(matches!(
            ca.verify_issued(&issued.der),
            Err(PkiError::WrongIssuer(_))
        ));
    }

    #[test]
    fn reloaded_ca_issues_chains_that_verify() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let again = CertificateAuthority::from_pem(ca.cert_pem(), &ca.key.serialize_pem()).unwrap();
        assert_eq!(again.fingerprint(), ca.fingerprint());
        let key = NodeKey::generate().unwrap();
        let host: HostName = "h".parse().unwrap();
        let issued = again
            .issue_from_csr(&key.csr(&host).unwrap(), &host, Duration::from_secs(60))
            .unwrap();
        ca.verify_issued(&issued.der).unwrap();
    }

    #[test]
    fn from_pem_rejects_a_foreign_key() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let other = CertificateAuthority::generate("t").unwrap();
        assert!(matches!(
            CertificateAuthority::from_pem(ca.cert_pem(), &other.key.serialize_pem()),
            Err(PkiError::KeyMismatch(_))
        ));
    }
}
