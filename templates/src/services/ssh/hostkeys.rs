//! Host keys derived from the decky seed: the same keys across restarts,
//! different keys on every decky (a fleet sharing one host key would be one
//! `ssh-keyscan` away from being unmasked).
//!
//! Ed25519 and ECDSA P-256 keys are derived on every start (microseconds).
//! RSA-3072, the size `ssh-keygen -A` makes, takes about a second to
//! generate from the seeded stream in a release build and far longer in a
//! debug build, so it is generated once and cached under
//! `data_dir/keys/ssh_host_rsa_key-<tag>`, where the tag is derived from the
//! seed: a new seed makes a new key, and a library upgrade that would
//! generate a different key from the same stream cannot silently change a
//! running decky's key.

use std::convert::Infallible;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::RngCore as _;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PrivateKey};

use crate::persona::Seed;

/// RSA modulus size of `ssh-keygen -A` since OpenSSH 8.0.
const RSA_BITS: usize = 3072;

/// Makes our seeded ChaCha stream usable by the key generators' `rand_core`.
struct SeededRng(ChaCha20Rng);

impl rand_core_010::TryRng for SeededRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for SeededRng {}

/// Why host keys are unavailable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Generating or encoding a key failed.
    #[error("host key: {0}")]
    Key(#[from] russh::keys::ssh_key::Error),
}

/// The decky's host keys and their `.pub` file contents.
#[derive(Debug, Clone)]
pub struct HostKeys {
    /// Private keys for russh.
    pub keys: Vec<PrivateKey>,
    /// `(ssh_host_*_key.pub, contents)` for the shell's `/etc/ssh`.
    pub public_files: Vec<(String, String)>,
}

fn comment(hostname: &str) -> String {
    format!("root@{hostname}")
}

fn rsa(seed: &Seed, data_dir: &Path, hostname: &str) -> Result<PrivateKey, KeyError> {
    let dir = data_dir.join("keys");
    let path = dir.join(format!(
        "ssh_host_rsa_key-{}",
        seed.hex("ssh.hostkey.rsa.tag", 16)
    ));
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(k) = PrivateKey::from_openssh(&text)
        && k.algorithm().is_rsa()
    {
        return Ok(k);
    }
    let mut rng = SeededRng(seed.rng("ssh.hostkey.rsa"));
    let kp = RsaKeypair::random(&mut rng, RSA_BITS)?;
    let key = PrivateKey::new(KeypairData::Rsa(kp), comment(hostname))?;
    // The cache is an optimisation: a read-only data_dir costs start-up time only.
    if std::fs::create_dir_all(&dir).is_ok()
        && let Ok(text) = key.to_openssh(LineEnding::LF)
    {
        let tmp = path.with_extension("tmp");
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
        if written.is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(key)
}

/// Loads or derives the host keys (RSA only when `with_rsa`).
pub fn load(
    seed: &Seed,
    data_dir: &Path,
    hostname: &str,
    with_rsa: bool,
) -> Result<HostKeys, KeyError> {
    let mut ed = [0u8; 32];
    seed.rng("ssh.hostkey.ed25519").fill_bytes(&mut ed);
    let ed = PrivateKey::new(
        KeypairData::Ed25519(Ed25519Keypair::from_seed(&ed)),
        comment(hostname),
    )?;
    let mut rng = SeededRng(seed.rng("ssh.hostkey.ecdsa"));
    let mut ecdsa = PrivateKey::random(
        &mut rng,
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        },
    )?;
    ecdsa.set_comment(comment(hostname));
    let mut keys = Vec::new();
    if with_rsa {
        keys.push(rsa(seed, data_dir, hostname)?);
    }
    keys.push(ecdsa);
    keys.push(ed);
    let public_files = keys
        .iter()
        .map(|k| {
            let kind = match k.algorithm() {
                Algorithm::Rsa { .. } => "rsa",
                Algorithm::Ecdsa { .. } => "ecdsa",
                _ => "ed25519",
            };
            let line = k.public_key().to_openssh().unwrap_or_default();
            (format!("ssh_host_{kind}_key.pub"), format!("{line}\n"))
        })
        .collect();
    Ok(HostKeys { keys, public_files })
}

/// `SHA256:…` fingerprint of a public key, as OpenSSH prints it.
pub fn fingerprint(key: &russh::keys::PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_seed() {
        let dir = tempfile::tempdir().unwrap();
        let a = load(&Seed::from_spec(Some("a"), "x"), dir.path(), "h", false).unwrap();
        let a2 = load(&Seed::from_spec(Some("a"), "x"), dir.path(), "h", false).unwrap();
        let b = load(&Seed::from_spec(Some("b"), "x"), dir.path(), "h", false).unwrap();
        let fp = |k: &HostKeys| {
            k.keys
                .iter()
                .map(|k| fingerprint(k.public_key()))
                .collect::<Vec<_>>()
        };
        assert_eq!(fp(&a), fp(&a2));
        assert_ne!(fp(&a), fp(&b));
        assert_eq!(a.public_files[0].0, "ssh_host_ecdsa_key.pub");
        assert!(a.public_files[1].1.starts_with("ssh-ed25519 AAAA"));
        assert!(a.public_files[1].1.trim_end().ends_with(" root@h"));
    }
}
