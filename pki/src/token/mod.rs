//! Single-use enrollment tokens: one copy-pasteable string per host to enroll.
//!
//! Format: `decnet1.` + base64url(CBOR body ‖ first 4 bytes of SHA-256(CBOR body)). The token
//! is not signed: a forged secret fails the master's hash check and a forged CA fingerprint
//! fails the TLS pin, so the checksum only catches copy-paste damage with a clear message.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::TokenError;
use crate::fingerprint::Fingerprint;
use crate::host::HostName;

mod secret;

use secret::check_expiry;
pub use secret::{TokenHash, TokenRecord, TokenSecret};

/// Every token string starts with this (the digit is the format version).
pub const TOKEN_PREFIX: &str = "decnet1.";

const CHECKSUM_LEN: usize = 4;
const MAX_TOKEN_LEN: usize = 8 * 1024;
const MAX_ADDRS: usize = 16;
const MAX_ADDR_LEN: usize = 261;

/// Everything an agent needs to enroll, as one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentToken {
    /// Master enrollment endpoints, `HOST:PORT` (IPv6 as `[addr]:port`).
    pub master_addrs: Vec<String>,
    /// SHA-256 of the CA certificate; the enrollment TLS connection is pinned to it.
    pub ca_fingerprint: Fingerprint,
    /// Host the token enrolls.
    pub host_name: HostName,
    /// The secret; the master keeps only its hash.
    pub secret: TokenSecret,
    /// End of validity (whole seconds).
    pub expires_at: SystemTime,
}

/// Compact wire form; short keys keep the pasted string short.
#[derive(Serialize, Deserialize)]
struct Wire {
    a: Vec<String>,
    f: Bytes,
    h: String,
    s: Bytes,
    e: u64,
}

/// Serialises as a CBOR byte string rather than an array of integers.
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

fn bad(field: &'static str, reason: impl Into<String>) -> TokenError {
    TokenError::BadField {
        field,
        reason: reason.into(),
    }
}

/// Checks `HOST:PORT` shape: non-empty host, bracketed IPv6, non-zero port.
fn validate_addr(addr: &str) -> Result<(), TokenError> {
    if addr.is_empty() || addr.len() > MAX_ADDR_LEN {
        return Err(bad("master_addrs", "address length out of range"));
    }
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| bad("master_addrs", format!("{addr:?} is not HOST:PORT")))?;
    match port.parse::<u16>() {
        Ok(p) if p != 0 => {}
        _ => return Err(bad("master_addrs", format!("{addr:?} has an invalid port"))),
    }
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if !host_ok {
        return Err(bad("master_addrs", format!("{addr:?} has an invalid host")));
    }
    Ok(())
}

fn validate_addrs(addrs: &[String]) -> Result<(), TokenError> {
    if addrs.is_empty() {
        return Err(bad(
            "master_addrs",
            "at least one master address is required",
        ));
    }
    if addrs.len() > MAX_ADDRS {
        return Err(bad(
            "master_addrs",
            format!("more than {MAX_ADDRS} addresses"),
        ));
    }
    addrs.iter().try_for_each(|a| validate_addr(a))
}

fn to_unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(body);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

impl EnrollmentToken {
    /// A new token for `host_name`, valid for `ttl` from `now`, with a fresh random secret.
    pub fn generate(
        master_addrs: Vec<String>,
        ca_fingerprint: Fingerprint,
        host_name: HostName,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<Self, TokenError> {
        validate_addrs(&master_addrs)?;
        // Whole seconds, so the decoded token equals the encoded one.
        let expires_at = UNIX_EPOCH + Duration::from_secs(to_unix(now + ttl));
        Ok(Self {
            master_addrs,
            ca_fingerprint,
            host_name,
            secret: TokenSecret::generate()?,
            expires_at,
        })
    }

    /// The string printed for the operator.
    pub fn encode(&self) -> String {
        let wire = Wire {
            a: self.master_addrs.clone(),
            f: Bytes(self.ca_fingerprint.as_bytes().to_vec()),
            h: self.host_name.to_string(),
            s: Bytes(self.secret.0.to_vec()),
            e: to_unix(self.expires_at),
        };
        let mut body = Vec::with_capacity(160);
        // Serialising plain strings, byte strings and integers into a Vec cannot fail.
        if let Err(e) = ciborium::into_writer(&wire, &mut body) {
            tracing::error!(error = %e, "CBOR encoding of an enrollment token failed");
        }
        let sum = checksum(&body);
        body.extend_from_slice(&sum);
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(body))
    }

    /// Parses a token string (surrounding whitespace ignored) without checking expiry.
    pub fn decode(s: &str) -> Result<Self, TokenError> {
        let s = s.trim();
        if s.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong(s.len()));
        }
        let b64 = s.strip_prefix(TOKEN_PREFIX).ok_or(TokenError::BadPrefix)?;
        let raw = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|e| TokenError::BadBase64(e.to_string()))?;
        if raw.len() <= CHECKSUM_LEN {
            return Err(TokenError::BadBody("too short".into()));
        }
        let (body, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
        if !bool::from(checksum(body).ct_eq(sum)) {
            return Err(TokenError::BadChecksum);
        }
        let wire: Wire =
            ciborium::from_reader(body).map_err(|e| TokenError::BadBody(e.to_string()))?;
        validate_addrs(&wire.a)?;
        let fp: [u8; 32] = wire
            .f
            .0
            .try_into()
            .map_err(|_| bad("ca_fingerprint", "must be 32 bytes"))?;
        let secret: [u8; 32] = wire
            .s
            .0
            .try_into()
            .map_err(|_| bad("secret", "must be 32 bytes"))?;
        let host_name = wire
            .h
            .parse()
            .map_err(|e: crate::error::HostNameError| bad("host_name", e.to_string()))?;
        let expires_at = UNIX_EPOCH
            .checked_add(Duration::from_secs(wire.e))
            .ok_or_else(|| bad("expires_at", "out of range"))?;
        Ok(Self {
            master_addrs: wire.a,
            ca_fingerprint: Fingerprint::from_bytes(fp),
            host_name,
            secret: TokenSecret(secret),
            expires_at,
        })
    }

    /// Parses a token and rejects it if it has expired at `now`.
    pub fn decode_unexpired(s: &str, now: SystemTime) -> Result<Self, TokenError> {
        let token = Self::decode(s)?;
        token.check_not_expired(now)?;
        Ok(token)
    }

    /// Fails with [`TokenError::Expired`] once `now` reaches `expires_at`.
    pub fn check_not_expired(&self, now: SystemTime) -> Result<(), TokenError> {
        check_expiry(self.expires_at, now)
    }

    /// SHA-256 of the secret.
    pub fn hash(&self) -> TokenHash {
        self.secret.hash()
    }

    /// What the master stores for this token.
    pub fn record(&self) -> TokenRecord {
        TokenRecord {
            host_name: self.host_name.clone(),
            hash: self.hash(),
            expires_at: self.expires_at,
        }
    }
}

impl FromStr for EnrollmentToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s)
    }
}

impl fmt::Display for EnrollmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN15: Duration = Duration::from_secs(900);

    fn token(now: SystemTime) -> EnrollmentToken {
        EnrollmentToken::generate(
            vec!["master.example.org:8443".into(), "[::1]:8443".into()],
            Fingerprint::of_der(b"ca"),
            "sensor-01".parse().unwrap(),
            MIN15,
            now,
        )
        .unwrap()
    }

    #[test]
    fn round_trip() {
        let t = token(SystemTime::now());
        let s = t.encode();
        assert!(s.starts_with(TOKEN_PREFIX));
        assert!(s.len() < 250, "{} chars", s.len());
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        );
        assert_eq!(EnrollmentToken::decode(&s).unwrap(), t);
        assert_eq!(format!("  {s}\n").parse::<EnrollmentToken>().unwrap(), t);
    }

    #[test]
    fn expiry() {
        let now = SystemTime::now();
        let s = token(now).encode();
        assert!(EnrollmentToken::decode_unexpired(&s, now).is_ok());
        assert!(
            EnrollmentToken::decode_unexpired(&s, now + MIN15 - Duration::from_secs(2)).is_ok()
        );
        let err = EnrollmentToken::decode_unexpired(&s, now + MIN15 + Duration::from_secs(1));
        assert!(
            matches!(err, Err(TokenError::Expired(ref at)) if at.contains('T')),
            "{err:?}"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let s = token(SystemTime::now()).encode();
        let body = &s[TOKEN_PREFIX.len()..];
        for i in 0..body.len() {
            let mut chars: Vec<char> = body.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let altered: String = chars.into_iter().collect();
            let res = EnrollmentToken::decode(&format!("{TOKEN_PREFIX}{altered}"));
            assert!(res.is_err(), "change at {i} went unnoticed");
        }
        assert!(EnrollmentToken::decode(&s[..s.len() - 3]).is_err());
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            EnrollmentToken::decode("hello").err(),
            Some(TokenError::BadPrefix)
        );
        assert_eq!(
            EnrollmentToken::decode("decnet2.AAAA").err(),
            Some(TokenError::BadPrefix)
        );
        assert!(matches!(
            EnrollmentToken::decode("decnet1.!!!!"),
            Err(TokenError::BadBase64(_))
        ));
        assert!(matches!(
            EnrollmentToken::decode("decnet1.AAAAAAAAAA"),
            Err(TokenError::BadChecksum)
        ));
        let long = format!("decnet1.{}", "A".repeat(MAX_TOKEN_LEN));
        assert!(matches!(
            EnrollmentToken::decode(&long),
            Err(TokenError::TooLong(_))
        ));
    }

    #[test]
    fn body_with_valid_checksum_but_bad_fields() {
        let wire = Wire {
            a: vec!["nohost".into()],
            f: Bytes(vec![0; 32]),
            h: "ok".into(),
            s: Bytes(vec![0; 32]),
            e: 1,
        };
        let mut body = Vec::new();
        ciborium::into_writer(&wire, &mut body).unwrap();
        let sum = checksum(&body);
        body.extend_from_slice(&sum);
        let s = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(&body));
        assert!(matches!(
            EnrollmentToken::decode(&s),
            Err(TokenError::BadField {
                field: "master_addrs",
                ..
            })
        ));
    }

    #[test]
    fn address_validation() {
        for ok in ["a:1", "10.0.0.1:8443", "[::1]:8443", "master.decnet:65535"] {
            validate_addr(ok).unwrap();
        }
        for bad in [
            "", "a", ":1", "a:0", "a:65536", "::1:8443", "[zz]:1", "a b:1", "[::1:1",
        ] {
            assert!(validate_addr(bad).is_err(), "{bad}");
        }
        assert!(validate_addrs(&[]).is_err());
    }

    proptest! {
        #[test]
        fn prop_round_trip(
            addrs in proptest::collection::vec("[a-z0-9.-]{1,30}:[1-9][0-9]{0,3}", 1..5),
            fp in any::<[u8; 32]>(),
            host in "[a-z0-9][a-z0-9-]{0,62}",
            secret in any::<[u8; 32]>(),
            exp in 0u64..=u64::from(u32::MAX),
        ) {
            let t = EnrollmentToken {
                master_addrs: addrs,
                ca_fingerprint: Fingerprint::from_bytes(fp),
                host_name: host.parse().unwrap(),
                secret: TokenSecret::from_bytes(secret),
                expires_at: UNIX_EPOCH + Duration::from_secs(exp),
            };
            prop_assert_eq!(EnrollmentToken::decode(&t.encode()).unwrap(), t);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,300}") {
            let _ = EnrollmentToken::decode(&s);
            let _ = EnrollmentToken::decode(&format!("{TOKEN_PREFIX}{s}"));
        }

        #[test]
        fn random_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut raw = body.clone();
            raw.extend_from_slice(&checksum(&body));
            let s = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
            let _ = EnrollmentToken::decode(&s);
        }
    }
}
