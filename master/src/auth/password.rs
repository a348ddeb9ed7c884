//! Password generation and argon2id hashing.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;

/// Length of generated one-time passwords (alphanumeric: about 143 bits).
pub const GENERATED_LEN: usize = 24;

/// Shortest accepted new password.
pub const MIN_LEN: usize = 12;
/// Longest accepted password in bytes (hashing cost grows with length).
pub const MAX_LEN: usize = 1024;

/// Why a new password is refused, if it is.
pub fn policy_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_LEN {
        return Some(format!("must be at least {MIN_LEN} characters"));
    }
    if password.len() > MAX_LEN {
        return Some(format!("must be at most {MAX_LEN} bytes"));
    }
    None
}

/// A valid hash of a random password, verified against when a login names no user,
/// so that unknown and known names take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&generate()).unwrap_or_default())
}

/// Hashing failed (only on invalid parameters, never for a wrong password).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// A random alphanumeric password from the operating system's RNG.
pub fn generate() -> String {
    OsRng
        .sample_iter(&Alphanumeric)
        .take(GENERATED_LEN)
        .map(char::from)
        .collect()
}

/// Hashes with argon2id (library defaults, per OWASP) and a random salt; returns a PHC string.
///
/// CPU-heavy: call from a blocking task in async code.
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `stored`; malformed hashes never match.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_alphanumeric_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn policy() {
        assert!(policy_problem("short").is_some());
        assert!(policy_problem("twelve chars").is_none());
        assert!(policy_problem(&"x".repeat(MAX_LEN + 1)).is_some());
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!verify("", dummy_hash()));
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse", &stored));
        assert!(!verify("wrong horse", &stored));
        assert!(!verify("correct horse", "not-a-phc-string"));
        assert_ne!(stored, hash("correct horse").unwrap(), "salted");
    }
}
