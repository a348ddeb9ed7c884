//! TLS for the emulators: per-decky certificates and a SANS-IO rustls layer.
//!
//! * [`cert`]: the certificate a decky presents, derived from its seed
//!   (or loaded from `tls_cert`/`tls_key`), and the rustls configuration.
//! * [`layer`]: [`layer::TlsLayer`] drives rustls's `ServerConnection` over
//!   byte buffers inside a session's `feed`, and [`layer::TlsSession`] wraps a
//!   whole session with it, so https needs no special runtime support.
//!
//! rustls always runs with the ring provider. Known gap (detection
//! technique 13): the ClientHello answer (cipher and extension order, JARM)
//! is rustls's, not OpenSSL's, whatever product the decky claims.

pub mod cert;
pub mod layer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::persona::Persona;
use crate::spec::{ConfigTable, SpecError};

/// Why a TLS identity cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating the seeded certificate failed.
    #[error("cannot generate the certificate: {0}")]
    Generate(String),
    /// `tls_cert` or `tls_key` cannot be used.
    #[error("{0}")]
    Load(String),
    /// rustls refused the certificate or key.
    #[error("rustls refused the certificate: {0}")]
    Config(String),
}

/// A service's TLS identity as configured.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    /// The name in the certificate.
    pub cn: String,
    /// The server configuration to open connections with.
    pub config: Arc<rustls::ServerConfig>,
}

/// Reads `tls_cn`, `tls_cert` and `tls_key` from a service table: the given
/// certificate and key when both are set, else the decky's seeded certificate
/// for `tls_cn` (default `default_cn`).
pub fn identity_from_config(
    table: &mut ConfigTable,
    persona: &Persona,
    default_cn: &str,
    alpn: &[&[u8]],
) -> Result<TlsIdentity, SpecError> {
    let cn = table
        .str("tls_cn")?
        .unwrap_or_else(|| default_cn.to_owned());
    if cn.is_empty()
        || cn.len() > 253
        || !cn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.*".contains(&b))
    {
        return Err(SpecError::invalid(
            table.key_path("tls_cn"),
            format!("{cn:?} is not a DNS name"),
        ));
    }
    let cert_path = table.str("tls_cert")?.map(PathBuf::from);
    let key_path = table.str("tls_key")?.map(PathBuf::from);
    let ck = match (cert_path, key_path) {
        (Some(c), Some(k)) => cert::load(&c, &k)
            .map_err(|e| SpecError::invalid(table.key_path("tls_cert"), e.to_string()))?,
        (None, None) => cert::generate(persona.seed(), &cn, SystemTime::now())
            .map_err(|e| SpecError::invalid(table.key_path("tls_cn"), e.to_string()))?,
        (Some(_), None) => {
            return Err(SpecError::invalid(
                table.key_path("tls_key"),
                "is required with tls_cert",
            ));
        }
        (None, Some(_)) => {
            return Err(SpecError::invalid(
                table.key_path("tls_cert"),
                "is required with tls_key",
            ));
        }
    };
    let config = cert::server_config(&ck, alpn)
        .map_err(|e| SpecError::invalid(table.key_path("tls_cert"), e.to_string()))?;
    Ok(TlsIdentity { cn, config })
}
