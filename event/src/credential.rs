//! The universal credential fields every service uses for an authentication attempt.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Field holding the user, account or other identity that was tried.
pub const PRINCIPAL: &str = "principal";
/// Field naming what the secret is (`plaintext`, `mysql_native_password`, ...).
pub const SECRET_KIND: &str = "secret_kind";
/// Field holding the secret for display, non-printable characters shown as `?`.
pub const SECRET_PRINTABLE: &str = "secret_printable";
/// Field holding the exact secret bytes, base64 (standard alphabet, padded).
pub const SECRET_B64: &str = "secret_b64";
/// Field holding the [`Outcome`].
pub const OUTCOME: &str = "outcome";

/// What the emulated service answered to the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The service let the attacker in.
    Success,
    /// The service refused the attempt.
    Failure,
    /// The service cannot tell (e.g. the attempt was cut short).
    Unknown,
}

impl Outcome {
    /// The field value: `success`, `failure` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

/// `secret` for display: valid UTF-8 is kept, control characters and invalid bytes become `?`.
pub fn printable(secret: &[u8]) -> String {
    let mut out = String::with_capacity(secret.len());
    for chunk in secret.utf8_chunks() {
        for c in chunk.valid().chars() {
            out.push(if c.is_control() { '?' } else { c });
        }
        for _ in chunk.invalid() {
            out.push('?');
        }
    }
    out
}

/// The five credential fields, in a fixed order, ready to insert into an event.
pub fn fields(
    principal: &str,
    secret_kind: &str,
    secret: &[u8],
    outcome: Outcome,
) -> [(&'static str, String); 5] {
    [
        (PRINCIPAL, principal.to_owned()),
        (SECRET_KIND, secret_kind.to_owned()),
        (SECRET_PRINTABLE, printable(secret)),
        (SECRET_B64, B64.encode(secret)),
        (OUTCOME, outcome.as_str().to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_masks_controls_and_invalid_bytes_only() {
        assert_eq!(printable(b"toor"), "toor");
        assert_eq!(printable(b"a\x00b\r\n\xffc"), "a?b???c");
        assert_eq!(printable("pässwörd".as_bytes()), "pässwörd");
    }

    #[test]
    fn fields_are_lossless_through_base64() {
        let secret = [0u8, 159, 146, 150, b'x'];
        let f = fields("root", "plaintext", &secret, Outcome::Failure);
        assert_eq!(f[0], ("principal", "root".to_owned()));
        assert_eq!(f[2].1, "????x");
        assert_eq!(B64.decode(&f[3].1).unwrap(), secret);
        assert_eq!(f[4].1, "failure");
    }
}
