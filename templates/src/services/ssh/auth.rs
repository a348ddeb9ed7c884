//! Credential policy shared by SSH and Telnet: the accepted `user:pass`
//! list, and the failure timing of the real stack (PAM's `pam_unix` delay,
//! OpenSSH's per-user minimum failure delay).

use std::time::Duration;

use rand::Rng as _;
use rand::seq::SliceRandom as _;
use sha2::{Digest as _, Sha512};

use crate::persona::Seed;
use crate::spec::{ConfigTable, SpecError};

/// Passwords weak enough that brute-forcers try them early: a decky without
/// a configured list accepts one of these for root, picked by its seed.
const WEAK: &[&str] = &[
    "123456", "password", "admin", "root", "toor", "12345678", "qwerty", "1234", "P@ssw0rd",
    "admin123", "changeme", "123qwe",
];

/// Accepted credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pairs: Vec<(String, String)>,
}

impl Credentials {
    /// Reads the `users` key (`"root:toor,admin:admin123"` or an array);
    /// absent means one seeded weak root password.
    pub fn from_table(t: &mut ConfigTable, seed: &Seed) -> Result<Self, SpecError> {
        let Some(list) = t.str_list("users")? else {
            let pass = WEAK
                .choose(&mut seed.rng("auth.root_password"))
                .copied()
                .unwrap_or("123456");
            return Ok(Credentials {
                pairs: vec![("root".into(), pass.into())],
            });
        };
        let mut pairs = Vec::new();
        for item in list {
            let Some((u, p)) = item.split_once(':') else {
                return Err(SpecError::invalid(
                    t.key_path("users"),
                    format!("{item:?} is not user:password"),
                ));
            };
            let valid_user = !u.is_empty()
                && u.len() <= 32
                && u.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !u.starts_with('-');
            if !valid_user {
                return Err(SpecError::invalid(
                    t.key_path("users"),
                    format!("{u:?} is not a valid user name"),
                ));
            }
            pairs.push((u.to_owned(), p.to_owned()));
        }
        Ok(Credentials { pairs })
    }

    /// A fixed list (tests, benchmarks).
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Credentials { pairs }
    }

    /// Whether `user` logs in with `password`.
    pub fn accepts(&self, user: &str, password: &[u8]) -> bool {
        self.pairs
            .iter()
            .any(|(u, p)| u == user && p.as_bytes() == password)
    }

    /// Account names that must exist on the host.
    pub fn users(&self) -> Vec<String> {
        let mut v: Vec<String> = self.pairs.iter().map(|(u, _)| u.clone()).collect();
        v.dedup();
        v
    }
}

/// `pam_unix`'s failure delay: 2 s, randomised by ±25% like `pam_fail_delay`.
pub fn pam_failure_delay() -> Duration {
    Duration::from_millis(rand::rngs::OsRng.gen_range(1500..2500))
}

/// `pam_faildelay delay=3000000` of Debian's `/etc/pam.d/login` (±25%).
pub fn login_failure_delay() -> Duration {
    Duration::from_millis(rand::rngs::OsRng.gen_range(2250..3750))
}

/// Hashing a correct password (yescrypt) before PAM says yes.
pub fn success_delay() -> Duration {
    Duration::from_millis(rand::rngs::OsRng.gen_range(25..70))
}

/// OpenSSH's `user_specific_delay`: 5 ms plus up to ~4.3 ms derived from a
/// per-host secret and the user name, so the same user always waits the same.
pub fn user_delay(seed: &Seed, user: &str) -> Duration {
    let mut h = Sha512::new();
    h.update(seed.hex("ssh.timing_secret", 16).as_bytes());
    h.update(user.as_bytes());
    let d = h.finalize();
    let peek = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    Duration::from_secs_f64(0.005 + f64::from(peek) / 1e12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let seed = Seed::from_spec(Some("s"), "d");
        let c = Credentials::new(vec![("root".into(), "toor".into())]);
        assert!(c.accepts("root", b"toor"));
        assert!(!c.accepts("root", b"toor "));
        assert!(!c.accepts("admin", b"toor"));
        let d = user_delay(&seed, "root");
        assert_eq!(d, user_delay(&seed, "root"));
        assert!(d >= Duration::from_millis(5) && d < Duration::from_millis(10));
        assert!(pam_failure_delay() >= Duration::from_millis(1500));
    }
}
