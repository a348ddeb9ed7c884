//! Private keys generated on the node that uses them.

use std::fmt;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::PkiError;
use crate::host::HostName;

/// An ECDSA P-256 private key that never leaves the host it was generated on.
pub struct NodeKey {
    pair: KeyPair,
}

/// The agent's key; agents send only CSRs made with it, never the key itself.
pub type AgentKey = NodeKey;

impl NodeKey {
    /// Generates a fresh P-256 key from the operating system's RNG.
    pub fn generate() -> Result<Self, PkiError> {
        Ok(Self {
            pair: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
        })
    }

    /// Parses a PKCS#8 PEM key; only P-256 keys are accepted.
    pub fn from_pem(pem: &str) -> Result<Self, PkiError> {
        let pair = KeyPair::from_pem(pem).map_err(|e| PkiError::BadKey(e.to_string()))?;
        if pair.algorithm() != &PKCS_ECDSA_P256_SHA256 {
            return Err(PkiError::BadKey(
                "only ECDSA P-256 keys are supported".into(),
            ));
        }
        Ok(Self { pair })
    }

    /// PKCS#8 PEM encoding; write it only to a 0600 file.
    pub fn to_pem(&self) -> String {
        self.pair.serialize_pem()
    }

    /// DER SubjectPublicKeyInfo of the public half.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key_der()
    }

    /// PEM certificate signing request with subject CN = `host`.
    pub fn csr(&self, host: &HostName) -> Result<String, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host.as_str());
        params.distinguished_name = dn;
        Ok(params.serialize_request(&self.pair)?.pem()?)
    }

    /// The key in the form rustls wants.
    pub fn private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pair.serialize_der()))
    }

    pub(crate) fn key_pair(&self) -> &KeyPair {
        &self.pair
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material, even in debug logs.
        f.debug_struct("NodeKey").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_the_public_key() {
        let key = NodeKey::generate().unwrap();
        let again = NodeKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(key.public_key_der(), again.public_key_der());
    }

    #[test]
    fn rejects_non_p256_keys() {
        let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        assert!(matches!(
            NodeKey::from_pem(&ed.serialize_pem()),
            Err(PkiError::BadKey(_))
        ));
        assert!(NodeKey::from_pem("not a key").is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = NodeKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("PRIVATE"));
        assert!(!shown.contains(&key.to_pem()[30..60]));
    }

    #[test]
    fn csr_is_pem() {
        let key = NodeKey::generate().unwrap();
        let csr = key.csr(&"sensor-01".parse().unwrap()).unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        assert!(!csr.contains("PRIVATE"));
    }
}
