//! CA-side validation of certificate signing requests.

use rcgen::{PKCS_ECDSA_P256_SHA256, PublicKeyData, SubjectPublicKeyInfo};
use rustls::pki_types::CertificateSigningRequestDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::error::PkiError;
use crate::host::HostName;

/// Upper bound on a PEM CSR; a P-256 CSR is ~500 bytes, anything huge is hostile.
const MAX_CSR_PEM: usize = 16 * 1024;

/// A CSR whose signature and subject were checked: safe to sign.
pub(crate) struct VerifiedCsr {
    pub(crate) public_key: SubjectPublicKeyInfo,
}

/// Parses `csr_pem`, verifies its self-signature and that its CN is exactly `expected`.
pub(crate) fn verify_csr(csr_pem: &str, expected: &HostName) -> Result<VerifiedCsr, PkiError> {
    if csr_pem.len() > MAX_CSR_PEM {
        return Err(PkiError::BadCsr(format!(
            "{} bytes is larger than the {MAX_CSR_PEM} byte limit",
            csr_pem.len()
        )));
    }
    let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
        .map_err(|e| PkiError::BadCsr(format!("no PEM CERTIFICATE REQUEST block: {e}")))?;
    let (rest, csr) = X509CertificationRequest::from_der(der.as_ref())
        .map_err(|e| PkiError::BadCsr(e.to_string()))?;
    if !rest.is_empty() {
        return Err(PkiError::BadCsr("trailing data after the CSR".into()));
    }
    csr.verify_signature()
        .map_err(|e| PkiError::BadCsr(format!("signature does not verify: {e}")))?;

    let subject = &csr.certification_request_info.subject;
    let mut cns = subject.iter_common_name();
    let cn = cns
        .next()
        .ok_or_else(|| PkiError::BadCsr("subject has no common name".into()))?;
    if cns.next().is_some() {
        return Err(PkiError::BadCsr(
            "subject has more than one common name".into(),
        ));
    }
    let cn = cn
        .as_str()
        .map_err(|_| PkiError::BadCsr("common name is not a string".into()))?;
    if cn != expected.as_str() {
        return Err(PkiError::CsrNameMismatch {
            expected: expected.to_string(),
            found: cn.chars().take(80).collect(),
        });
    }

    let public_key = SubjectPublicKeyInfo::from_der(csr.certification_request_info.subject_pki.raw)
        .map_err(|e| PkiError::BadCsr(format!("public key: {e}")))?;
    if public_key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err(PkiError::BadCsr(
            "only ECDSA P-256 keys are accepted".into(),
        ));
    }
    Ok(VerifiedCsr { public_key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::NodeKey;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn host(s: &str) -> HostName {
        s.parse().unwrap()
    }

    #[test]
    fn accepts_a_matching_csr() {
        let key = NodeKey::generate().unwrap();
        let csr = key.csr(&host("sensor-01")).unwrap();
        let v = verify_csr(&csr, &host("sensor-01")).unwrap();
        assert_eq!(v.public_key.der_bytes(), key.key_pair().public_key_raw());
    }

    #[test]
    fn refuses_a_name_mismatch() {
        let key = NodeKey::generate().unwrap();
        let csr = key.csr(&host("sensor-01")).unwrap();
        match verify_csr(&csr, &host("sensor-02")) {
            Err(PkiError::CsrNameMismatch { expected, found }) => {
                assert_eq!(expected, "sensor-02");
                assert_eq!(found, "sensor-01");
            }
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn refuses_a_tampered_csr() {
        let key = NodeKey::generate().unwrap();
        let csr = key.csr(&host("sensor-01")).unwrap();
        let der = CertificateSigningRequestDer::from_pem_slice(csr.as_bytes()).unwrap();
        let mut bytes = der.as_ref().to_vec();
        // Flip a byte inside the CN value ("sensor-01" -> "sensor-11") so parsing still works.
        let pos = bytes.windows(9).position(|w| w == b"sensor-01").unwrap();
        bytes[pos + 7] = b'1';
        let pem = pem_of(&bytes);
        let err = verify_csr(&pem, &host("sensor-11")).err().unwrap();
        assert!(
            matches!(err, PkiError::BadCsr(ref m) if m.contains("signature")),
            "{err}"
        );
    }

    #[test]
    fn refuses_non_p256_keys() {
        let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "sensor-01");
        let csr = params.serialize_request(&ed).unwrap().pem().unwrap();
        let err = verify_csr(&csr, &host("sensor-01")).err().unwrap();
        assert!(
            matches!(err, PkiError::BadCsr(ref m) if m.contains("P-256")),
            "{err}"
        );
    }

    #[test]
    fn refuses_garbage_and_oversize() {
        assert!(verify_csr("hello", &host("a")).is_err());
        let huge = "A".repeat(MAX_CSR_PEM + 1);
        assert!(verify_csr(&huge, &host("a")).is_err());
        let not_a_csr = pem_of(b"\x30\x03\x02\x01\x00");
        assert!(verify_csr(&not_a_csr, &host("a")).is_err());
    }

    fn pem_of(der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN CERTIFICATE REQUEST-----\n{b64}\n-----END CERTIFICATE REQUEST-----\n")
    }
}
