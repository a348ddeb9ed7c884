//! The service slugs of the predecessor with the ports their emulators serve.

use serde::Serialize;

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// One port a service listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortSpec {
    /// Port number.
    pub port: u16,
    /// Transport.
    pub proto: Proto,
}

const fn tcp(port: u16) -> PortSpec {
    PortSpec {
        port,
        proto: Proto::Tcp,
    }
}

const fn udp(port: u16) -> PortSpec {
    PortSpec {
        port,
        proto: Proto::Udp,
    }
}

/// One service of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Slug used in fleet files and specs (`ssh`, `redis`, ...).
    pub slug: &'static str,
    /// Ports the service actually serves (the first is its `port` default).
    pub ports: &'static [PortSpec],
    /// What the emulator claims to be.
    pub description: &'static str,
}

impl ServiceInfo {
    /// Whether this build emulates the service ([`crate::services::IMPLEMENTED`]).
    pub fn implemented(&self) -> bool {
        crate::services::IMPLEMENTED.contains(&self.slug)
    }

    /// The default port (the `port` key of `[services.SLUG]` overrides it).
    pub fn default_port(&self) -> u16 {
        self.ports.first().map_or(0, |p| p.port)
    }
}

/// Every per-decky service of the predecessor, by slug. The predecessor's
/// README counts 25 and omits `dns`, `https` and `smtp_relay`, which its
/// registry has; the fleet-wide `sniffer` is not a decky service and is left out.
pub const SERVICES: &[ServiceInfo] = &[
    svc(
        "conpot",
        &[tcp(502), udp(161), tcp(80)],
        "ICS/SCADA PLC (Modbus, SNMP, HTTP)",
    ),
    svc("dns", &[udp(53), tcp(53)], "BIND 9 name server"),
    svc("docker_api", &[tcp(2375)], "Docker Engine API without TLS"),
    svc(
        "elasticsearch",
        &[tcp(9200)],
        "Elasticsearch 7.x/8.x REST API",
    ),
    svc("ftp", &[tcp(21)], "FTP server with a bait directory"),
    svc(
        "http",
        &[tcp(80)],
        "nginx or Apache web server, optional fake app",
    ),
    svc("https", &[tcp(443)], "HTTP over TLS"),
    svc("imap", &[tcp(143)], "Dovecot IMAP4rev1 with bait mail"),
    svc("k8s", &[tcp(6443)], "Kubernetes API server"),
    svc("ldap", &[tcp(389)], "LDAP directory (bind capture)"),
    svc(
        "llmnr",
        &[udp(5355), udp(5353)],
        "LLMNR/mDNS listener (Responder detection)",
    ),
    svc("mongodb", &[tcp(27017)], "MongoDB wire protocol"),
    svc("mqtt", &[tcp(1883)], "MQTT broker"),
    svc("mssql", &[tcp(1433)], "Microsoft SQL Server (TDS)"),
    svc("mysql", &[tcp(3306)], "MySQL server"),
    svc("pop3", &[tcp(110)], "POP3 server with bait mail"),
    svc("postgres", &[tcp(5432)], "PostgreSQL server"),
    svc("rdp", &[tcp(3389)], "Remote Desktop (X.224, optional NLA)"),
    svc("redis", &[tcp(6379)], "Redis server"),
    svc("sip", &[udp(5060), tcp(5060)], "SIP registrar"),
    svc("smb", &[tcp(445)], "SMB2 file server (NTLMSSP capture)"),
    svc("smtp", &[tcp(25)], "Postfix-like ESMTP server"),
    svc(
        "smtp_relay",
        &[tcp(25)],
        "open SMTP relay (message capture)",
    ),
    svc("snmp", &[udp(161)], "SNMP v1/v2c agent"),
    svc("ssh", &[tcp(22)], "OpenSSH server with a virtual shell"),
    svc(
        "telnet",
        &[tcp(23)],
        "telnetd with login and a virtual shell",
    ),
    svc("tftp", &[udp(69)], "TFTP server"),
    svc("vnc", &[tcp(5900)], "VNC server (RFB 3.8)"),
];

const fn svc(
    slug: &'static str,
    ports: &'static [PortSpec],
    description: &'static str,
) -> ServiceInfo {
    ServiceInfo {
        slug,
        ports,
        description,
    }
}

/// The catalogue entry of `slug`.
pub fn service(slug: &str) -> Option<&'static ServiceInfo> {
    SERVICES.iter().find(|s| s.slug == slug)
}

/// Slugs this build emulates, in catalogue order.
pub fn implemented_slugs() -> Vec<&'static str> {
    SERVICES
        .iter()
        .filter(|s| s.implemented())
        .map(|s| s.slug)
        .collect()
}
