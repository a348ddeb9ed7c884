//! Error types of the crate.

use std::path::PathBuf;

/// Anything that can go wrong in the PKI: certificates, keys, files and TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused to generate or sign something.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A certificate could not be parsed or lacks what DECNET requires.
    #[error("invalid certificate: {0}")]
    BadCertificate(String),
    /// A certificate signing request could not be parsed or its signature is wrong.
    #[error("invalid certificate signing request: {0}")]
    BadCsr(String),
    /// The CSR asks for a different host than the one being enrolled.
    #[error("CSR common name {found:?} does not match the requested host name {expected:?}")]
    CsrNameMismatch {
        /// Host name the caller is issuing for.
        expected: String,
        /// Common name found in the CSR.
        found: String,
    },
    /// A private key could not be parsed or uses an unsupported algorithm.
    #[error("invalid private key: {0}")]
    BadKey(String),
    /// A certificate was not issued by the expected CA.
    #[error("certificate was not issued by this CA: {0}")]
    WrongIssuer(String),
    /// The private key does not belong to the certificate it is stored with.
    #[error("the private key does not match the certificate {0}")]
    KeyMismatch(String),
    /// A file-system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A private key file can be read by other users.
    #[error(
        "{} is accessible by group or others (mode {mode:03o}); refusing to use it, run `chmod 600` on it",
        path.display()
    )]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A state directory holds only part of what belongs together.
    #[error("incomplete state in {}: {present} exists but {missing} does not", dir.display())]
    IncompleteState {
        /// Directory inspected.
        dir: PathBuf,
        /// File found.
        present: &'static str,
        /// File missing.
        missing: &'static str,
    },
    /// A file on disk does not hold what it should.
    #[error("{}: {what}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// rustls rejected a configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// rustls could not build a certificate verifier.
    #[error("TLS verifier: {0}")]
    Verifier(String),
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
    /// A host name is invalid.
    #[error(transparent)]
    HostName(#[from] HostNameError),
    /// An enrollment token is invalid.
    #[error(transparent)]
    Token(#[from] TokenError),
}

// rustls::client and rustls::server re-export the same builder error type.
impl From<rustls::server::VerifierBuilderError> for PkiError {
    fn from(e: rustls::server::VerifierBuilderError) -> Self {
        Self::Verifier(e.to_string())
    }
}

/// A host name that does not match `^[a-z0-9][a-z0-9-]{0,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host name {shown:?}: {reason} (expected ^[a-z0-9][a-z0-9-]{{0,62}}$)")]
pub struct HostNameError {
    /// The rejected input, truncated for display.
    pub shown: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// An enrollment token that cannot be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The string does not start with the token prefix.
    #[error("not a DECNET enrollment token: it must start with \"decnet1.\"")]
    BadPrefix,
    /// The string is far longer than any token.
    #[error("enrollment token is too long ({0} characters)")]
    TooLong(usize),
    /// The body is not valid base64url.
    #[error("enrollment token is not valid base64url: {0}")]
    BadBase64(String),
    /// The checksum does not match: the token was mistyped or truncated.
    #[error("enrollment token checksum mismatch: it was truncated or altered while copying")]
    BadChecksum,
    /// The body is not a valid token structure.
    #[error("enrollment token body is malformed: {0}")]
    BadBody(String),
    /// A field holds an invalid value.
    #[error("enrollment token field {field} is invalid: {reason}")]
    BadField {
        /// Field name.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The token's lifetime is over.
    #[error("enrollment token expired at {0}")]
    Expired(String),
    /// The presented secret does not hash to the stored hash.
    #[error("enrollment token secret does not match")]
    SecretMismatch,
    /// The token was issued for another host name.
    #[error("enrollment token was issued for host {expected:?}, not {presented:?}")]
    HostMismatch {
        /// Host the token was issued for.
        expected: String,
        /// Host the agent asked for.
        presented: String,
    },
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// A registry change that would break pinning invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The fingerprint was revoked and can never be allowed again.
    #[error("fingerprint {0} is revoked")]
    Revoked(String),
    /// The fingerprint is already pinned to another host.
    #[error("fingerprint {fingerprint} is already pinned to host {host}")]
    OtherHost {
        /// The fingerprint.
        fingerprint: String,
        /// Host that owns it.
        host: String,
    },
}
