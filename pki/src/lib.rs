//! DECNET certificate authority, enrollment tokens, fingerprints and pinned rustls configurations.
//!
//! The master owns a [`CertificateAuthority`]; agents generate their own [`AgentKey`] and send
//! only a CSR. Every TLS configuration pins the DECNET CA, and the master's mesh server also
//! pins each agent's leaf [`Fingerprint`] against a [`HostRegistry`].

mod ca;
mod cert;
mod csr;
mod error;
mod fingerprint;
mod host;
mod identity;
mod key;
mod registry;
mod rotation;
mod store;
pub mod tls;
mod token;

pub use ca::{
    AGENT_CERT_VALIDITY, CA_CERT_FILE, CA_KEY_FILE, CertificateAuthority, IssuedCert,
    MASTER_DNS_NAME, SERVER_CERT_VALIDITY,
};
pub use cert::{host_from_cert, peer_identity};
pub use error::{HostNameError, PkiError, RegistryError, TokenError};
pub use fingerprint::{Fingerprint, FingerprintParseError};
pub use host::{AGENT_DNS_SUFFIX, HostName};
pub use identity::{AGENT_CERT_FILE, AGENT_KEY_FILE, AgentIdentity, ServerIdentity};
pub use key::{AgentKey, NodeKey};
pub use registry::{HostRegistry, MemoryRegistry, PinDecision, Revocation};
pub use rotation::{CertValidity, RenewalRequest, needs_rotation};
pub use token::{EnrollmentToken, TOKEN_PREFIX, TokenHash, TokenRecord, TokenSecret};
