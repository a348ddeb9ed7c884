//! Certificate rotation: deciding when to renew, and the renew path on both sides.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ca::{CertificateAuthority, IssuedCert};
use crate::cert;
use crate::error::PkiError;
use crate::identity::AgentIdentity;
use crate::key::NodeKey;

/// The validity window of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertValidity {
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

fn from_unix(secs: i64) -> SystemTime {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

impl CertValidity {
    /// Reads the validity window of a DER certificate.
    pub fn of_der(der: &[u8]) -> Result<Self, PkiError> {
        let c = cert::parse(der)?;
        Ok(Self {
            not_before: from_unix(c.validity().not_before.timestamp()),
            not_after: from_unix(c.validity().not_after.timestamp()),
        })
    }

    /// Total lifetime.
    pub fn lifetime(&self) -> Duration {
        self.not_after
            .duration_since(self.not_before)
            .unwrap_or(Duration::ZERO)
    }

    /// Validity left at `now` (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.not_after.duration_since(now).unwrap_or(Duration::ZERO)
    }

    /// The default renewal window: the last third of the lifetime.
    pub fn default_rotation_window(&self) -> Duration {
        self.lifetime() / 3
    }

    /// True when less than `window` of validity remains at `now`.
    pub fn needs_rotation(&self, now: SystemTime, window: Duration) -> bool {
        self.remaining(now) < window
    }
}

/// True when the certificate has less than `window` of validity left at `now`.
pub fn needs_rotation(
    cert_der: &[u8],
    now: SystemTime,
    window: Duration,
) -> Result<bool, PkiError> {
    Ok(CertValidity::of_der(cert_der)?.needs_rotation(now, window))
}

/// A fresh key and its CSR; the key stays on the agent until the new certificate arrives.
pub struct RenewalRequest {
    /// The new private key.
    pub key: NodeKey,
    /// PEM CSR to send to the master over the existing mesh link.
    pub csr_pem: String,
}

impl fmt::Debug for RenewalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewalRequest").finish_non_exhaustive()
    }
}

impl AgentIdentity {
    /// Generates a new key and CSR for the same host; the old identity keeps working meanwhile.
    pub fn renewal_request(&self) -> Result<RenewalRequest, PkiError> {
        let key = NodeKey::generate()?;
        let csr_pem = key.csr(self.host())?;
        Ok(RenewalRequest { key, csr_pem })
    }

    /// The identity made of the renewal key and the certificate the CA issued for it.
    pub fn renewed(&self, request: RenewalRequest, cert_pem: &str) -> Result<Self, PkiError> {
        let next = Self::new(request.key, cert_pem, self.ca_pem())?;
        if next.host() != self.host() {
            return Err(PkiError::BadCertificate(format!(
                "renewed certificate is for host {}, expected {}",
                next.host(),
                self.host()
            )));
        }
        Ok(next)
    }
}

impl CertificateAuthority {
    /// Issues a replacement for `current_cert_der` (which must be one of this CA's agent
    /// certificates) to the key in `csr_pem`, for the same host.
    ///
    /// The caller pins the new fingerprint next to the old one (see
    /// `MemoryRegistry::allow`) and retires the old one once the agent has switched.
    pub fn renew(
        &self,
        csr_pem: &str,
        current_cert_der: &[u8],
        validity: Duration,
    ) -> Result<IssuedCert, PkiError> {
        self.verify_issued(current_cert_der)?;
        let host = cert::host_from_cert(current_cert_der)?;
        self.issue_from_csr(csr_pem, &host, validity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::HostName;

    const DAY: Duration = Duration::from_secs(86400);

    fn enrolled(ca: &CertificateAuthority, validity: Duration) -> AgentIdentity {
        let host: HostName = "sensor-01".parse().unwrap();
        let key = NodeKey::generate().unwrap();
        let issued = ca
            .issue_from_csr(&key.csr(&host).unwrap(), &host, validity)
            .unwrap();
        AgentIdentity::new(key, &issued.pem, ca.cert_pem()).unwrap()
    }

    #[test]
    fn rotation_window() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let id = enrolled(&ca, 90 * DAY);
        let v = CertValidity::of_der(id.cert_der()).unwrap();
        let window = v.default_rotation_window();
        assert!(window > 29 * DAY && window < 31 * DAY, "{window:?}");
        let now = SystemTime::now();
        assert!(!needs_rotation(id.cert_der(), now, window).unwrap());
        assert!(!needs_rotation(id.cert_der(), now + 59 * DAY, window).unwrap());
        assert!(needs_rotation(id.cert_der(), now + 61 * DAY, window).unwrap());
        assert!(needs_rotation(id.cert_der(), now + 100 * DAY, window).unwrap());
        assert_eq!(v.remaining(now + 100 * DAY), Duration::ZERO);
    }

    #[test]
    fn renew_keeps_host_and_changes_key() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let old = enrolled(&ca, DAY);
        let request = old.renewal_request().unwrap();
        let issued = ca.renew(&request.csr_pem, old.cert_der(), DAY).unwrap();
        let new = old.renewed(request, &issued.pem).unwrap();
        assert_eq!(new.host(), old.host());
        assert_ne!(new.fingerprint(), old.fingerprint());
        assert_ne!(new.key().public_key_der(), old.key().public_key_der());
        assert_eq!(new.fingerprint(), issued.fingerprint);
    }

    #[test]
    fn renew_refuses_foreign_certificates() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let other = CertificateAuthority::generate("t").unwrap();
        let foreign = enrolled(&other, DAY);
        let request = foreign.renewal_request().unwrap();
        assert!(matches!(
            ca.renew(&request.csr_pem, foreign.cert_der(), DAY),
            Err(PkiError::WrongIssuer(_))
        ));
    }

    #[test]
    fn renew_refuses_a_csr_for_another_host() {
        let ca = CertificateAuthority::generate("t").unwrap();
        let old = enrolled(&ca, DAY);
        let key = NodeKey::generate().unwrap();
        let csr = key.csr(&"sensor-02".parse().unwrap()).unwrap();
        assert!(matches!(
            ca.renew(&csr, old.cert_der(), DAY),
            Err(PkiError::CsrNameMismatch { .. })
        ));
    }
}
