//! The per-decky seed and the deterministic generators derived from it.
//!
//! Everything that makes a decky look like one particular machine (run ids,
//! serials, uptime, host keys, certificates, file trees) comes from
//! [`Seed::rng`] with a domain string naming the value, so each value has its
//! own stream and adding a new one never shifts the others. Salts, nonces and
//! challenges are per connection and come from the OS RNG instead, never
//! from the seed: a scanner must never see the same nonce twice.

use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest as _, Sha256};

/// 32 secret bytes that determine a decky's persona.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32]);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The seed predicts every persona value; keep it out of logs.
        f.write_str("Seed(..)")
    }
}

impl Seed {
    /// The spec's `seed` if given, else one derived from the decky name.
    ///
    /// A derived seed is stable across restarts but shared by two deployments
    /// that reuse a decky name; whoever deploys deckies should set `seed`.
    pub fn from_spec(seed: Option<&str>, name: &str) -> Self {
        match seed {
            Some(s) => Self::hash(&[b"decnet.seed.v1\0", s.as_bytes()]),
            None => Self::hash(&[b"decnet.name.v1\0", name.as_bytes()]),
        }
    }

    fn hash(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Seed(h.finalize().into())
    }

    /// A deterministic ChaCha20 generator for the persona value named `domain`.
    pub fn rng(&self, domain: &str) -> ChaCha20Rng {
        let key = Self::hash(&[&self.0, b"\0", domain.as_bytes()]);
        ChaCha20Rng::from_seed(key.0)
    }

    /// `len` lowercase hex characters for the value named `domain`.
    pub fn hex(&self, domain: &str, len: usize) -> String {
        use rand::RngCore as _;
        let mut rng = self.rng(domain);
        let mut bytes = vec![0u8; len.div_ceil(2)];
        rng.fill_bytes(&mut bytes);
        let mut s = hex::encode(bytes);
        s.truncate(len);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn deterministic_per_seed_and_domain() {
        let a = Seed::from_spec(None, "decky-01");
        let b = Seed::from_spec(None, "decky-01");
        let c = Seed::from_spec(None, "decky-02");
        let d = Seed::from_spec(Some("decky-01"), "x");
        assert_eq!(a.hex("redis.run_id", 40), b.hex("redis.run_id", 40));
        assert_ne!(a.hex("redis.run_id", 40), c.hex("redis.run_id", 40));
        // An explicit seed equal to a name is a different seed.
        assert_ne!(a.hex("redis.run_id", 40), d.hex("redis.run_id", 40));
        assert_ne!(a.hex("redis.run_id", 40), a.hex("mysql.serial", 40));
        assert_eq!(a.hex("x", 7).len(), 7);
        assert_eq!(a.rng("n").r#gen::<u64>(), b.rng("n").r#gen::<u64>());
        assert_eq!(format!("{a:?}"), "Seed(..)");
    }
}
