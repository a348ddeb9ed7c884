//! SHA-256 certificate fingerprints.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a certificate's DER encoding, shown as 64 lowercase hex digits.
///
/// Equality is constant-time so that pin checks leak nothing about how close a guess was.
#[derive(Clone, Copy)]
pub struct Fingerprint([u8; 32]);

/// Why a string is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SHA-256 fingerprint: {0}")]
pub struct FingerprintParseError(&'static str);

impl Fingerprint {
    /// Fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// Wraps a raw 32-byte digest.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32-byte digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex form (same as `Display`).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Fingerprint {}

impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintParseError;

    /// Accepts 64 hex digits in either case, or the colon-separated form `openssl` prints.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let compact: String = if s.contains(':') {
            let parts: Vec<&str> = s.split(':').collect();
            if parts.len() != 32 || parts.iter().any(|p| p.len() != 2) {
                return Err(FingerprintParseError(
                    "colon-separated form must have 32 two-digit groups",
                ));
            }
            parts.concat()
        } else {
            s.to_owned()
        };
        if compact.len() != 64 {
            return Err(FingerprintParseError("expected 64 hex digits"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(&compact, &mut out)
            .map_err(|_| FingerprintParseError("not hexadecimal"))?;
        Ok(Self(out))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // SHA-256 of the empty input.
        let fp = Fingerprint::of_der(b"");
        assert_eq!(
            fp.to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parses_uppercase_and_colons() {
        let fp = Fingerprint::of_der(b"x");
        let upper = fp.to_string().to_uppercase();
        assert_eq!(upper.parse::<Fingerprint>().unwrap(), fp);
        let colons = fp
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), fp);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn one_bit_difference_is_unequal() {
        let mut b = *Fingerprint::of_der(b"x").as_bytes();
        let a = Fingerprint::from_bytes(b);
        b[31] ^= 1;
        assert_ne!(a, Fingerprint::from_bytes(b));
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 32]>()) {
            let fp = Fingerprint::from_bytes(bytes);
            let shown = fp.to_string();
            prop_assert_eq!(shown.len(), 64);
            prop_assert!(shown.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
            prop_assert_eq!(shown.parse::<Fingerprint>().unwrap(), fp);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,100}") {
            let _ = s.parse::<Fingerprint>();
        }
    }
}
