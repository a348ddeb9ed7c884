//! The persona: who a decky pretends to be, derived from its spec and seed.

pub mod seed;

use std::time::{Duration, Instant};

use rand::Rng as _;
use rand::seq::SliceRandom as _;

pub use seed::Seed;

use crate::spec::DeckySpec;

/// Operating-system family a decky claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OsFamily {
    /// A Linux server.
    Linux,
    /// A Windows workstation.
    Windows,
    /// A Windows server.
    WindowsServer,
    /// A BSD.
    Bsd,
    /// An embedded device (router, camera, PLC).
    Embedded,
    /// Cisco network gear.
    Cisco,
}

impl OsFamily {
    /// Parses the spec's `os` value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "linux" => OsFamily::Linux,
            "windows" => OsFamily::Windows,
            "windows_server" => OsFamily::WindowsServer,
            "bsd" => OsFamily::Bsd,
            "embedded" => OsFamily::Embedded,
            "cisco" => OsFamily::Cisco,
            _ => return None,
        })
    }

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OsFamily::Linux => "linux",
            OsFamily::Windows => "windows",
            OsFamily::WindowsServer => "windows_server",
            OsFamily::Bsd => "bsd",
            OsFamily::Embedded => "embedded",
            OsFamily::Cisco => "cisco",
        }
    }
}

/// Kernel releases seen on real installs of each distribution (amd64).
fn kernels(distro: &str) -> &'static [&'static str] {
    match distro {
        "ubuntu" => &[
            "5.15.0-91-generic",
            "5.15.0-105-generic",
            "5.15.0-119-generic",
            "6.8.0-45-generic",
            "6.8.0-51-generic",
        ],
        "centos" | "rhel" | "rocky" | "almalinux" => &[
            "4.18.0-513.24.1.el8_9.x86_64",
            "5.14.0-362.24.1.el9_3.x86_64",
            "5.14.0-427.22.1.el9_4.x86_64",
        ],
        "alpine" => &["6.6.31-0-lts", "6.6.58-0-lts"],
        _ => &[
            "6.1.0-18-amd64",
            "6.1.0-21-amd64",
            "6.1.0-25-amd64",
            "6.1.0-28-amd64",
            "5.10.0-28-amd64",
        ],
    }
}

/// Everything a service needs to look like part of one consistent machine.
#[derive(Debug)]
pub struct Persona {
    /// Decky name.
    pub name: String,
    /// Hostname the machine reports.
    pub hostname: String,
    /// OS family.
    pub os: OsFamily,
    /// Distribution.
    pub distro: String,
    /// Where this decky keeps artifacts and transcripts (the spec's `data_dir`).
    pub data_dir: std::path::PathBuf,
    seed: Seed,
    kernel: &'static str,
    uptime_base: Duration,
    started: Instant,
}

impl Persona {
    /// The persona of `spec`.
    pub fn new(spec: &DeckySpec) -> Self {
        let seed = Seed::from_spec(spec.seed.as_deref(), &spec.name);
        let kernel = kernels(&spec.distro)
            .choose(&mut seed.rng("persona.kernel"))
            .copied()
            .unwrap_or("6.1.0-18-amd64");
        // Between two days and five months: long enough to look like a server
        // nobody reboots, short enough to have had the last kernel update.
        let uptime_base = Duration::from_secs(
            seed.rng("persona.uptime")
                .gen_range(2 * 86_400..150 * 86_400),
        );
        Persona {
            name: spec.name.clone(),
            hostname: spec.hostname.clone(),
            os: spec.os,
            distro: spec.distro.clone(),
            data_dir: spec.data_dir.clone(),
            seed,
            kernel,
            uptime_base,
            started: Instant::now(),
        }
    }

    /// The decky's seed.
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// How long the emulated machine has been up.
    pub fn uptime(&self) -> Duration {
        self.uptime_base + self.started.elapsed()
    }

    /// Kernel release (`uname -r`).
    pub fn kernel_release(&self) -> &'static str {
        self.kernel
    }

    /// `uname -s -r -m` as services print it (e.g. Redis INFO `os`).
    pub fn uname_srm(&self) -> String {
        match self.os {
            OsFamily::Bsd => "FreeBSD 13.2-RELEASE-p11 amd64".to_owned(),
            _ => format!("Linux {} x86_64", self.kernel),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, distro: &str) -> DeckySpec {
        DeckySpec::parse(&format!(
            "name = \"{name}\"\nhostname = \"h\"\nbind = [\"127.0.0.1\"]\ndistro = \"{distro}\"\n[services.redis]"
        ))
        .unwrap()
    }

    #[test]
    fn persona_values_follow_the_seed_and_distro() {
        let a = Persona::new(&spec("decky-01", "debian"));
        let b = Persona::new(&spec("decky-01", "debian"));
        assert_eq!(a.kernel_release(), b.kernel_release());
        assert!(a.uname_srm().ends_with("-amd64 x86_64"));
        let u = Persona::new(&spec("decky-01", "ubuntu"));
        assert!(u.kernel_release().ends_with("-generic"));
        let up = a.uptime();
        assert!(up >= Duration::from_secs(2 * 86_400) && up < Duration::from_secs(151 * 86_400));
        // Differs between deckies (all 20 names colliding would be astronomically unlikely).
        let distinct: std::collections::BTreeSet<u64> = (0..20)
            .map(|i| {
                Persona::new(&spec(&format!("d{i}"), "debian"))
                    .uptime_base
                    .as_secs()
            })
            .collect();
        assert!(distinct.len() > 15);
    }
}
