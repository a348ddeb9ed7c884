//! An in-memory [`EnrollmentAuthority`] for tests and the embedded development master.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use decnet_pki::{CertificateAuthority, MemoryRegistry, TokenError, TokenHash, TokenRecord};
use parking_lot::Mutex;

use super::Refusal;
use super::server::{Enrollment, EnrollmentAuthority, Issued};

struct Slot {
    record: TokenRecord,
    used: bool,
}

/// Tokens held in memory (hashed, single-use), certificates issued by an in-memory CA and
/// pinned in a [`MemoryRegistry`].
pub struct MemoryAuthority {
    ca: Arc<CertificateAuthority>,
    registry: Arc<MemoryRegistry>,
    validity: Duration,
    tokens: Mutex<HashMap<[u8; 32], Slot>>,
}

impl std::fmt::Debug for MemoryAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAuthority")
            .field("tokens", &self.tokens.lock().len())
            .finish_non_exhaustive()
    }
}

impl MemoryAuthority {
    /// Issues certificates valid for `validity` and pins them in `registry`.
    pub fn new(
        ca: Arc<CertificateAuthority>,
        registry: Arc<MemoryRegistry>,
        validity: Duration,
    ) -> Self {
        MemoryAuthority {
            ca,
            registry,
            validity,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Stores an outstanding token (only its hash).
    pub fn add_token(&self, record: TokenRecord) {
        self.tokens.lock().insert(
            *record.hash.as_bytes(),
            Slot {
                record,
                used: false,
            },
        );
    }

    /// Whether the token with `hash` was consumed; `None` if unknown.
    pub fn is_used(&self, hash: &TokenHash) -> Option<bool> {
        self.tokens.lock().get(hash.as_bytes()).map(|s| s.used)
    }
}

#[async_trait]
impl EnrollmentAuthority for MemoryAuthority {
    async fn enroll(&self, request: &Enrollment) -> Result<Issued, Refusal> {
        let hash = request.secret.hash();
        // Held across issuance so that two racing uses of one token cannot both succeed.
        let mut tokens = self.tokens.lock();
        let slot = tokens
            .get_mut(hash.as_bytes())
            .ok_or(Refusal::UnknownToken)?;
        if slot.used {
            tracing::warn!(host = %request.host, peer = %request.peer, "enrollment token replayed");
            return Err(Refusal::AlreadyUsed);
        }
        match slot
            .record
            .verify(&request.host, &request.secret, SystemTime::now())
        {
            Ok(()) => {}
            Err(TokenError::Expired(_)) => return Err(Refusal::Expired),
            Err(TokenError::HostMismatch { expected, .. }) => {
                return Err(Refusal::NameMismatch {
                    token_host: expected,
                });
            }
            Err(_) => return Err(Refusal::UnknownToken),
        }
        let issued = self
            .ca
            .issue_from_csr(&request.csr_pem, &request.host, self.validity)
            .map_err(|e| Refusal::BadCsr(e.to_string()))?;
        self.registry
            .allow(&request.host, issued.fingerprint)
            .map_err(|e| Refusal::Unavailable(e.to_string()))?;
        slot.used = true;
        Ok(Issued {
            cert_pem: issued.pem,
            ca_pem: self.ca.cert_pem().to_owned(),
            mesh_addrs: Vec::new(),
        })
    }
}
