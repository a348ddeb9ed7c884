//! The 9 distro profiles of the predecessor.

use serde::Serialize;

/// How a distro's machines are usually named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostnameStyle {
    /// `web-03`, `db-prod-01`.
    Generic,
    /// `app01.localdomain`-like short names with a numeric suffix.
    Rhel,
    /// `alpine-3f9c`: a word and a hex tag.
    Minimal,
    /// `kali-7b21e4`: a word and a longer hex tag.
    Rolling,
}

/// One distro profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distro {
    /// Slug used by `distro=` and `--distro`.
    pub slug: &'static str,
    /// Human name.
    pub display_name: &'static str,
    /// Base container image (the docker driver pins it by digest after a build).
    pub image: &'static str,
    /// Distribution name the persona uses for os-release, kernels and banners.
    pub persona: &'static str,
    /// Hostname style.
    pub hostname_style: HostnameStyle,
}

const fn distro(
    slug: &'static str,
    display_name: &'static str,
    image: &'static str,
    persona: &'static str,
    hostname_style: HostnameStyle,
) -> Distro {
    Distro {
        slug,
        display_name,
        image,
        persona,
        hostname_style,
    }
}

/// Every distro profile; round-robin over them when a fleet names none.
pub const DISTROS: &[Distro] = &[
    distro(
        "debian",
        "Debian 12 (bookworm)",
        "debian:bookworm-slim",
        "debian",
        HostnameStyle::Generic,
    ),
    distro(
        "ubuntu22",
        "Ubuntu 22.04 LTS",
        "ubuntu:22.04",
        "ubuntu",
        HostnameStyle::Generic,
    ),
    distro(
        "ubuntu20",
        "Ubuntu 20.04 LTS",
        "ubuntu:20.04",
        "ubuntu",
        HostnameStyle::Generic,
    ),
    distro(
        "rocky9",
        "Rocky Linux 9",
        "rockylinux:9-minimal",
        "rocky",
        HostnameStyle::Rhel,
    ),
    distro(
        "centos7",
        "CentOS 7",
        "centos:7",
        "centos",
        HostnameStyle::Rhel,
    ),
    distro(
        "alpine",
        "Alpine Linux 3.19",
        "alpine:3.19",
        "alpine",
        HostnameStyle::Minimal,
    ),
    distro(
        "fedora",
        "Fedora 39",
        "fedora:39",
        "fedora",
        HostnameStyle::Rhel,
    ),
    distro(
        "kali",
        "Kali Linux (rolling)",
        "kalilinux/kali-rolling",
        "kali",
        HostnameStyle::Rolling,
    ),
    distro(
        "arch",
        "Arch Linux",
        "archlinux:latest",
        "arch",
        HostnameStyle::Rolling,
    ),
];

/// The distro profile called `slug`.
pub fn distro_profile(slug: &str) -> Option<&'static Distro> {
    DISTROS.iter().find(|d| d.slug == slug)
}

impl Distro {
    /// A hostname in this distro's style for a machine with role `role`
    /// (a lowercase word) and a per-decky `tag` (any number).
    pub fn hostname(&self, role: &str, tag: u64) -> String {
        let role: String = role
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(20)
            .collect::<String>()
            .trim_matches('-')
            .to_ascii_lowercase();
        let role = if role.is_empty() {
            "host".to_owned()
        } else {
            role
        };
        match self.hostname_style {
            HostnameStyle::Generic => format!("{role}-{:02}", tag % 100),
            HostnameStyle::Rhel => format!("{role}{:02}", tag % 100),
            HostnameStyle::Minimal => format!("{role}-{:04x}", tag & 0xffff),
            HostnameStyle::Rolling => format!("{role}-{:06x}", tag & 0xff_ffff),
        }
    }
}
