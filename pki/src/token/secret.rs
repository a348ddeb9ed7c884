//! The token secret and what the master stores about it: only a hash.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::TokenError;
use crate::host::HostName;

/// The 32 random bytes that authenticate an enrolling agent.
#[derive(Clone)]
pub struct TokenSecret(pub(super) [u8; 32]);

impl TokenSecret {
    /// 32 bytes from the operating system's RNG.
    pub fn generate() -> Result<Self, TokenError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Wraps raw bytes received on the wire.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Raw bytes, to send to the master during enrollment.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash the master stores instead of the secret.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

impl PartialEq for TokenSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenSecret {}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// SHA-256 of a token secret, the only form in which the master keeps it.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Wraps a stored 32-byte hash.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw hash, e.g. for a `bytea` column.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time check that `secret` hashes to this value.
    pub fn matches(&self, secret: &TokenSecret) -> bool {
        self.0.ct_eq(&secret.hash().0).into()
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenHash {}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({self})")
    }
}

impl FromStr for TokenHash {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| TokenError::BadField {
            field: "hash",
            reason: e.to_string(),
        })?;
        Ok(Self(out))
    }
}

/// What the master persists for an outstanding token: no secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Host the token enrolls.
    pub host_name: HostName,
    /// SHA-256 of the secret.
    pub hash: TokenHash,
    /// End of validity.
    pub expires_at: SystemTime,
}

impl TokenRecord {
    /// Accepts `secret` for `host` at `now`; single use is the caller's job (mark it consumed).
    pub fn verify(
        &self,
        host: &HostName,
        secret: &TokenSecret,
        now: SystemTime,
    ) -> Result<(), TokenError> {
        // Compare the secret first so a wrong guess learns nothing from the other checks.
        if !self.hash.matches(secret) {
            return Err(TokenError::SecretMismatch);
        }
        if &self.host_name != host {
            return Err(TokenError::HostMismatch {
                expected: self.host_name.to_string(),
                presented: host.to_string(),
            });
        }
        check_expiry(self.expires_at, now)
    }
}

pub(crate) fn check_expiry(expires_at: SystemTime, now: SystemTime) -> Result<(), TokenError> {
    if now >= expires_at {
        return Err(TokenError::Expired(format_time(expires_at)));
    }
    Ok(())
}

fn format_time(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{:?}", t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprint;
    use crate::token::EnrollmentToken;
    use std::time::Duration;

    const MIN15: Duration = Duration::from_secs(900);

    fn token(now: SystemTime) -> EnrollmentToken {
        EnrollmentToken::generate(
            vec!["master.example.org:8443".into()],
            Fingerprint::of_der(b"ca"),
            "sensor-01".parse().unwrap(),
            MIN15,
            now,
        )
        .unwrap()
    }

    #[test]
    fn record_verification() {
        let now = SystemTime::now();
        let t = token(now);
        let record = t.record();
        assert_eq!(record.hash, t.secret.hash());
        assert_ne!(record.hash.as_bytes(), t.secret.as_bytes());
        record.verify(&t.host_name, &t.secret, now).unwrap();
        let other = TokenSecret::generate().unwrap();
        assert_eq!(
            record.verify(&t.host_name, &other, now),
            Err(TokenError::SecretMismatch)
        );
        assert!(matches!(
            record.verify(&"sensor-02".parse().unwrap(), &t.secret, now),
            Err(TokenError::HostMismatch { .. })
        ));
        assert!(matches!(
            record.verify(&t.host_name, &t.secret, now + MIN15),
            Err(TokenError::Expired(_))
        ));
        let shown = record.hash.to_string();
        assert_eq!(shown.parse::<TokenHash>().unwrap(), record.hash);
        assert!(!format!("{t:?}").contains(&hex::encode(t.secret.as_bytes())));
    }
}
