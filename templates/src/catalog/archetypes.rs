//! The 15 archetypes of the predecessor: a bundle of services with an OS family.

use crate::persona::OsFamily;

/// One archetype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archetype {
    /// Slug used by `archetype=` and `--archetype`.
    pub slug: &'static str,
    /// Human name.
    pub display_name: &'static str,
    /// What the machine pretends to be.
    pub description: &'static str,
    /// Services it runs.
    pub services: &'static [&'static str],
    /// OS family (an explicit `nmap_os`/`os` wins over it).
    pub os: OsFamily,
    /// Distro profiles it prefers, in order of preference.
    pub preferred_distros: &'static [&'static str],
}

const fn arch(
    slug: &'static str,
    display_name: &'static str,
    description: &'static str,
    services: &'static [&'static str],
    os: OsFamily,
    preferred_distros: &'static [&'static str],
) -> Archetype {
    Archetype {
        slug,
        display_name,
        description,
        services,
        os,
        preferred_distros,
    }
}

use OsFamily::{Embedded, Linux, Windows, WindowsServer};

/// Every archetype.
pub const ARCHETYPES: &[Archetype] = &[
    arch(
        "deaddeck",
        "Deaddeck",
        "bare Linux box with only SSH",
        &["ssh"],
        Linux,
        &["debian", "ubuntu22"],
    ),
    arch(
        "windows-workstation",
        "Windows Workstation",
        "Windows 10/11 desktop",
        &["smb", "rdp"],
        Windows,
        &["debian"],
    ),
    arch(
        "windows-server",
        "Windows Server",
        "Windows Server member host",
        &["smb", "rdp", "ldap"],
        WindowsServer,
        &["debian"],
    ),
    arch(
        "domain-controller",
        "Domain Controller",
        "Active Directory domain controller",
        &["ldap", "smb", "rdp", "llmnr"],
        WindowsServer,
        &["debian"],
    ),
    arch(
        "linux-server",
        "Linux Server",
        "general-purpose Linux server",
        &["ssh", "http"],
        Linux,
        &["ubuntu22", "debian", "rocky9"],
    ),
    arch(
        "web-server",
        "Web Server",
        "public web server with FTP upload",
        &["http", "ftp"],
        Linux,
        &["debian", "ubuntu22", "alpine"],
    ),
    arch(
        "database-server",
        "Database Server",
        "SQL and cache back end",
        &["mysql", "postgres", "redis"],
        Linux,
        &["debian", "rocky9", "ubuntu20"],
    ),
    arch(
        "mail-server",
        "Mail Server",
        "MTA with POP3 and IMAP",
        &["smtp", "pop3", "imap"],
        Linux,
        &["debian", "ubuntu22"],
    ),
    arch(
        "file-server",
        "File Server",
        "file shares over SMB, FTP and SSH",
        &["smb", "ftp", "ssh"],
        Linux,
        &["debian", "ubuntu22"],
    ),
    arch(
        "printer",
        "Network Printer",
        "office printer with SNMP and FTP",
        &["snmp", "ftp"],
        Embedded,
        &["alpine"],
    ),
    arch(
        "iot-device",
        "IoT Device",
        "connected device speaking MQTT",
        &["mqtt", "snmp", "telnet"],
        Embedded,
        &["alpine"],
    ),
    arch(
        "industrial-control",
        "Industrial Control System",
        "PLC on an OT network",
        &["conpot", "snmp"],
        Embedded,
        &["alpine"],
    ),
    arch(
        "voip-server",
        "VoIP Server",
        "SIP PBX",
        &["sip"],
        Linux,
        &["debian", "centos7"],
    ),
    arch(
        "monitoring-node",
        "Monitoring Node",
        "SNMP poller reachable over SSH",
        &["snmp", "ssh"],
        Linux,
        &["ubuntu20", "rocky9"],
    ),
    arch(
        "devops-host",
        "DevOps Host",
        "container host exposing Docker and Kubernetes APIs",
        &["docker_api", "ssh", "k8s"],
        Linux,
        &["ubuntu22", "debian", "fedora"],
    ),
];

/// The archetype called `slug`.
pub fn archetype(slug: &str) -> Option<&'static Archetype> {
    ARCHETYPES.iter().find(|a| a.slug == slug)
}
