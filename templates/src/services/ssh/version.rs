//! The OpenSSH-version table: what each claimed OpenSSH build advertises in
//! its server KEXINIT (algorithm names **and order**, `ext-info-s`,
//! `kex-strict-s-v00@openssh.com`, compression) and which host keys it
//! offers, tied to the banner so a scanner comparing the two (Metasploit's
//! `ssh_version` milestones, HASSH databases) sees one coherent server.
//!
//! The lists are the servers' defaults with Debian's/Ubuntu's default host
//! keys (RSA, ECDSA P-256, Ed25519). The 9.2 Debian entry was captured from
//! `openssh-server 1:9.2p1-2+deb12u10` with `nmap --script ssh2-enum-algos`
//! (deb12u10 also lists the `sntrup761x25519-sha512` alias added in later
//! updates; deb12u3, which we claim, does not). The others follow
//! `myproposal.h` of the release plus the distribution's Terrapin
//! (CVE-2023-48795) backport, which appends `kex-strict-s-v00@openssh.com`.
//!
//! # Gaps (what russh 0.65 cannot advertise)
//!
//! Names the library does not implement are left out rather than offered
//! and then failed, so the lists are the OpenSSH lists minus:
//!
//! * KEX `sntrup761x25519-sha512@openssh.com` (every profile from 8.5 on;
//!   first in 9.x, sixth in 8.9), and the `sntrup761x25519-sha512` alias;
//! * MACs `umac-64-etm@openssh.com`, `umac-128-etm@openssh.com`,
//!   `umac-64@openssh.com`, `umac-128@openssh.com` (OpenSSH lists them
//!   first and sixth/seventh).
//!
//! Everything that remains keeps OpenSSH's relative order. Consequently the
//! HASSHServer of a decky differs from the real build's; [`Profile::gaps`]
//! lists the omissions per profile and the unit test pins them. Beyond
//! KEXINIT: russh's `EXT_INFO` carries only `server-sig-algs` (the host key
//! list) where OpenSSH ≥ 8.9 also sends `publickey-hostbound@openssh.com`
//! and a longer signature list; and after `MaxAuthTries` russh sends the
//! last `USERAUTH_FAILURE` before the `DISCONNECT` that OpenSSH sends alone.

use std::borrow::Cow;

use russh::keys::{Algorithm, EcdsaCurve, HashAlg};
use russh::{Preferred, cipher, compression, kex, mac};

/// One OpenSSH release's server proposal.
#[derive(Debug)]
pub struct Profile {
    /// Upstream version (`9.2`).
    pub upstream: &'static str,
    /// `kex_algorithms`, markers included.
    pub kex: &'static [&'static str],
    /// `server_host_key_algorithms` for RSA, ECDSA P-256 and Ed25519 host keys.
    pub host_keys: &'static [&'static str],
    /// `encryption_algorithms` (both directions).
    pub ciphers: &'static [&'static str],
    /// `mac_algorithms` (both directions).
    pub macs: &'static [&'static str],
    /// `compression_algorithms`.
    pub compression: &'static [&'static str],
}

const CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
];

const MACS: &[&str] = &[
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
];

const COMPRESSION: &[&str] = &["none", "zlib@openssh.com"];

const KEX_TAIL: [&str; 4] = [
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
];

/// OpenSSH 8.4 (Debian 11, `8.4p1 Debian-5+deb11u3`).
pub const OPENSSH_8_4: Profile = Profile {
    upstream: "8.4",
    kex: &[
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        KEX_TAIL[0],
        KEX_TAIL[1],
        KEX_TAIL[2],
        KEX_TAIL[3],
        "kex-strict-s-v00@openssh.com",
    ],
    host_keys: &[
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
    ],
    ciphers: CIPHERS,
    macs: MACS,
    compression: COMPRESSION,
};

/// OpenSSH 8.9 (Ubuntu 22.04, `8.9p1 Ubuntu-3ubuntu0.10`).
pub const OPENSSH_8_9: Profile = Profile {
    upstream: "8.9",
    kex: &[
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "sntrup761x25519-sha512@openssh.com",
        KEX_TAIL[0],
        KEX_TAIL[1],
        KEX_TAIL[2],
        KEX_TAIL[3],
        "kex-strict-s-v00@openssh.com",
    ],
    host_keys: &[
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
    ],
    ciphers: CIPHERS,
    macs: MACS,
    compression: COMPRESSION,
};

/// OpenSSH 9.2 (Debian 12, `9.2p1 Debian-2+deb12u3`).
pub const OPENSSH_9_2: Profile = Profile {
    upstream: "9.2",
    kex: &[
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        KEX_TAIL[0],
        KEX_TAIL[1],
        KEX_TAIL[2],
        KEX_TAIL[3],
        "kex-strict-s-v00@openssh.com",
    ],
    host_keys: &[
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
    ],
    ciphers: CIPHERS,
    macs: MACS,
    compression: COMPRESSION,
};

/// OpenSSH 9.6 and later 9.x (Ubuntu 24.04, RHEL-likes pin older).
pub const OPENSSH_9_6: Profile = Profile {
    upstream: "9.6",
    kex: &[
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        KEX_TAIL[0],
        KEX_TAIL[1],
        KEX_TAIL[2],
        KEX_TAIL[3],
        "ext-info-s",
        "kex-strict-s-v00@openssh.com",
    ],
    host_keys: &[
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
    ],
    ciphers: CIPHERS,
    macs: MACS,
    compression: COMPRESSION,
};

/// Banners of real, common builds per distribution release (what Shodan and
/// Censys see most), never honeypot-only strings. A configured `ssh_version`
/// outside this list is accepted but logged at start-up.
pub const KNOWN_BANNERS: &[&str] = &[
    "OpenSSH_9.2p1 Debian-2+deb12u3",
    "OpenSSH_9.2p1 Debian-2+deb12u5",
    "OpenSSH_9.2p1 Debian-2+deb12u6",
    "OpenSSH_8.4p1 Debian-5+deb11u3",
    "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
    "OpenSSH_8.9p1 Ubuntu-3ubuntu0.13",
    "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
    "OpenSSH_8.7",
    "OpenSSH_8.0",
    "OpenSSH_9.7",
];

/// Known honeypot defaults that must never be claimed (Cowrie, T-Pot).
pub const HONEYPOT_BANNERS: &[&str] = &[
    "OpenSSH_6.0p1 Debian-4+deb7u2",
    "OpenSSH_7.9p1 Debian-10+deb10u2",
    "OpenSSH_8.9p1 Ubuntu 2ubuntu0.10",
];

/// The profile for an identification string such as `OpenSSH_9.2p1 Debian-2+deb12u3`.
pub fn profile(ident: &str) -> &'static Profile {
    let v = ident
        .strip_prefix("OpenSSH_")
        .unwrap_or("")
        .split(['p', ' '])
        .next()
        .unwrap_or("");
    let mut it = v.split('.');
    let major: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(9);
    let minor: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    match (major, minor) {
        (m, _) if m < 8 => &OPENSSH_8_4,
        (8, n) if n < 9 => &OPENSSH_8_4,
        (8, _) => &OPENSSH_8_9,
        (9, n) if n < 6 => &OPENSSH_9_2,
        _ => &OPENSSH_9_6,
    }
}

fn host_key_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "rsa-sha2-512" => Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        "rsa-sha2-256" => Algorithm::Rsa {
            hash: Some(HashAlg::Sha256),
        },
        "ssh-rsa" => Algorithm::Rsa { hash: None },
        "ecdsa-sha2-nistp256" => Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        },
        "ssh-ed25519" => Algorithm::Ed25519,
        _ => return None,
    })
}

fn kex_name(name: &str) -> Option<kex::Name> {
    match name {
        "ext-info-s" => Some(kex::EXTENSION_SUPPORT_AS_SERVER),
        "kex-strict-s-v00@openssh.com" => Some(kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER),
        n => kex::Name::try_from(n).ok(),
    }
}

impl Profile {
    /// Names OpenSSH advertises that russh cannot, in table order.
    pub fn gaps(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self
            .kex
            .iter()
            .copied()
            .filter(|n| kex_name(n).is_none())
            .collect();
        out.extend(
            self.host_keys
                .iter()
                .copied()
                .filter(|n| host_key_algorithm(n).is_none()),
        );
        out.extend(
            self.ciphers
                .iter()
                .copied()
                .filter(|n| cipher::Name::try_from(*n).is_err()),
        );
        out.extend(
            self.macs
                .iter()
                .copied()
                .filter(|n| mac::Name::try_from(*n).is_err()),
        );
        out.extend(
            self.compression
                .iter()
                .copied()
                .filter(|n| compression::Name::try_from(*n).is_err()),
        );
        out
    }

    /// The russh preference lists: this profile minus [`Profile::gaps`], in order.
    pub fn preferred(&self) -> Preferred {
        Preferred {
            kex: Cow::Owned(self.kex.iter().filter_map(|n| kex_name(n)).collect()),
            key: Cow::Owned(
                self.host_keys
                    .iter()
                    .filter_map(|n| host_key_algorithm(n))
                    .collect(),
            ),
            host_key_certificates: Cow::Borrowed(&[]),
            cipher: Cow::Owned(
                self.ciphers
                    .iter()
                    .filter_map(|n| cipher::Name::try_from(*n).ok())
                    .collect(),
            ),
            mac: Cow::Owned(
                self.macs
                    .iter()
                    .filter_map(|n| mac::Name::try_from(*n).ok())
                    .collect(),
            ),
            compression: Cow::Owned(
                self.compression
                    .iter()
                    .filter_map(|n| compression::Name::try_from(*n).ok())
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_picks_the_profile() {
        assert_eq!(profile("OpenSSH_9.2p1 Debian-2+deb12u3").upstream, "9.2");
        assert_eq!(profile("OpenSSH_8.9p1 Ubuntu-3ubuntu0.10").upstream, "8.9");
        assert_eq!(profile("OpenSSH_8.4p1 Debian-5+deb11u3").upstream, "8.4");
        assert_eq!(profile("OpenSSH_9.6p1 Ubuntu-3ubuntu13.5").upstream, "9.6");
        assert_eq!(profile("OpenSSH_8.7").upstream, "8.4");
        for b in HONEYPOT_BANNERS {
            assert!(!KNOWN_BANNERS.contains(b));
        }
    }

    /// The documented gaps, pinned: if russh learns an algorithm, this fails
    /// and the module docs must be updated.
    #[test]
    fn gaps_are_exactly_the_documented_ones() {
        let umac = [
            "umac-64-etm@openssh.com",
            "umac-128-etm@openssh.com",
            "umac-64@openssh.com",
            "umac-128@openssh.com",
        ];
        for p in [&OPENSSH_8_9, &OPENSSH_9_2, &OPENSSH_9_6] {
            let mut want = vec!["sntrup761x25519-sha512@openssh.com"];
            want.extend(umac);
            assert_eq!(p.gaps(), want, "{}", p.upstream);
        }
        assert_eq!(OPENSSH_8_4.gaps(), umac);
        let pref = OPENSSH_9_2.preferred();
        let kex: Vec<&str> = pref.kex.iter().map(|k| k.as_ref()).collect();
        assert_eq!(
            kex,
            [
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "ecdh-sha2-nistp256",
                "ecdh-sha2-nistp384",
                "ecdh-sha2-nistp521",
                "diffie-hellman-group-exchange-sha256",
                "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512",
                "diffie-hellman-group14-sha256",
                "kex-strict-s-v00@openssh.com",
            ]
        );
        let keys: Vec<String> = pref.key.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            keys,
            [
                "rsa-sha2-512",
                "rsa-sha2-256",
                "ecdsa-sha2-nistp256",
                "ssh-ed25519"
            ]
        );
        let macs: Vec<&str> = pref.mac.iter().map(|k| k.as_ref()).collect();
        assert_eq!(
            macs,
            [
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-512-etm@openssh.com",
                "hmac-sha1-etm@openssh.com",
                "hmac-sha2-256",
                "hmac-sha2-512",
                "hmac-sha1"
            ]
        );
    }
}
