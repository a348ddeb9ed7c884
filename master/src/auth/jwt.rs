//! Access tokens: HS256 JWTs with issuer, audience, type, id, issue and expiry claims.

use std::time::Duration;

use decnet_runtime::config::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// `iss` of every token.
pub const ISSUER: &str = "decnet";
/// `aud` of every token.
pub const AUDIENCE: &str = "decnet-dashboard";
/// `typ` of access tokens (other token types must never pass as access tokens).
pub const ACCESS_TYPE: &str = "access";

/// Why a token was refused; the client only ever learns "invalid token".
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Signature, algorithm, issuer, audience, expiry or shape check failed.
    #[error("token rejected: {0}")]
    Rejected(#[from] jsonwebtoken::errors::Error),
    /// A claim has the wrong value or form.
    #[error("token claim {0} is invalid")]
    BadClaim(&'static str),
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer, [`ISSUER`].
    pub iss: String,
    /// Audience, [`AUDIENCE`].
    pub aud: String,
    /// Token type, [`ACCESS_TYPE`].
    pub typ: String,
    /// The user's id.
    pub sub: Uuid,
    /// Token id (UUIDv7: its timestamp is the issue time in milliseconds).
    pub jti: Uuid,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

impl Claims {
    /// Issue time with millisecond precision, from the UUIDv7 `jti`.
    ///
    /// `iat` has whole seconds only, so a token minted right after a password change
    /// would look older than the change; the jti keeps the precise instant.
    pub fn issued_at_ms(&self) -> Option<i64> {
        v7_millis(&self.jti)
    }

    /// Expiry as a timestamp.
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Signing and verification keys with the validation rules.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from the configured secret (already validated for length and known-bad values).
    pub fn new(secret: &Secret, ttl: Duration) -> Self {
        let bytes = secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is exact: the clock of the issuer and the verifier is the same process.
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl,
        }
    }

    /// Lifetime of new tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user`, issued now.
    pub fn issue(&self, user: Uuid) -> Result<(String, Claims), JwtError> {
        let now = OffsetDateTime::now_utc();
        let ttl = i64::try_from(self.ttl.as_secs()).map_err(|_| JwtError::BadClaim("exp"))?;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: ACCESS_TYPE.into(),
            sub: user,
            jti: Uuid::now_v7(),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + ttl,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm, `iss`, `aud`, `exp` and `typ`; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?;
        let claims = data.claims;
        if claims.typ != ACCESS_TYPE {
            return Err(JwtError::BadClaim("typ"));
        }
        if claims.issued_at_ms().is_none() {
            return Err(JwtError::BadClaim("jti"));
        }
        if claims.iat > claims.exp {
            return Err(JwtError::BadClaim("iat"));
        }
        Ok(claims)
    }
}

/// The Unix-millisecond timestamp of a UUIDv7 (`None` for other versions).
pub fn v7_millis(id: &Uuid) -> Option<i64> {
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    i64::try_from(secs)
        .ok()
        .map(|s| s * 1000 + i64::from(nanos / 1_000_000))
}

/// Whether `s` has the shape of a JWT (three base64url parts, a JSON header).
pub fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(&Secret::new(secret.into()), Duration::from_secs(3600))
    }

    const S: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978";

    #[test]
    fn round_trip() {
        let k = keys(S);
        let user = Uuid::now_v7();
        let (token, claims) = k.issue(user).unwrap();
        assert!(looks_like_jwt(&token));
        let back = k.verify(&token).unwrap();
        assert_eq!(back, claims);
        assert_eq!(back.sub, user);
        let ms = back.issued_at_ms().unwrap();
        assert!((ms / 1000 - back.iat).abs() <= 1);
    }

    #[test]
    fn other_secret_and_tampering_are_refused() {
        let (token, _) = keys(S).issue(Uuid::now_v7()).unwrap();
        assert!(
            keys("another-secret-of-sufficient-length-0123456789")
                .verify(&token)
                .is_err()
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut body: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        body["sub"] = serde_json::json!(Uuid::now_v7());
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap());
        assert!(keys(S).verify(&parts.join(".")).is_err());
    }

    fn forge(claims: &serde_json::Value, alg: Algorithm) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(S.as_bytes()),
        )
        .unwrap()
    }

    fn good_claims() -> serde_json::Value {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "typ": ACCESS_TYPE,
            "sub": Uuid::now_v7(), "jti": Uuid::now_v7(), "iat": now, "exp": now + 60,
        })
    }

    #[test]
    fn each_claim_is_checked() {
        let k = keys(S);
        assert!(k.verify(&forge(&good_claims(), Algorithm::HS256)).is_ok());
        for (claim, value) in [
            ("iss", serde_json::json!("someone-else")),
            ("aud", serde_json::json!("another-app")),
            ("typ", serde_json::json!("refresh")),
            ("jti", serde_json::json!(Uuid::new_v4())),
            (
                "exp",
                serde_json::json!(OffsetDateTime::now_utc().unix_timestamp() - 1),
            ),
        ] {
            let mut c = good_claims();
            c[claim] = value;
            assert!(k.verify(&forge(&c, Algorithm::HS256)).is_err(), "{claim}");
        }
        for claim in ["exp", "iss", "aud", "sub"] {
            let mut c = good_claims();
            c.as_object_mut().unwrap().remove(claim);
            assert!(
                k.verify(&forge(&c, Algorithm::HS256)).is_err(),
                "missing {claim}"
            );
        }
        assert!(k.verify(&forge(&good_claims(), Algorithm::HS512)).is_err());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good_claims()).unwrap());
        assert!(keys(S).verify(&format!("{header}.{body}.")).is_err());
    }
}
