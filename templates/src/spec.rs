//! The decky spec: one TOML file describing one decky.
//!
//! ```toml
//! name = "decky-01"                 # required; the `decky` of every event
//! hostname = "web-01"               # required; what the machine calls itself
//! bind = ["127.77.0.10"]            # required; every service listens on each address
//! os = "linux"                      # linux | windows | windows_server | bsd | embedded | cisco
//! distro = "debian"                 # optional, default "debian"
//! data_dir = "/var/lib/decnet/deckies/decky-01"   # optional; artifacts/, transcripts/
//! seed = "…"                        # optional; derived from the name when absent
//! host = "sensor-1"                 # optional; the `host` of events, default the machine's hostname
//!
//! [limits]                          # optional; every key optional
//! max_connections = 1024            # concurrent connections, whole decky
//! max_connections_per_ip = 64       # concurrent connections per source (IPv6: per /64)
//! idle_timeout_s = 300              # nothing received for this long → close
//! session_timeout_s = 3600          # total connection lifetime
//! frame_timeout_s = 30              # an incomplete line/frame older than this → close
//! max_frame_bytes = 262144          # longest line or frame a protocol buffers
//!
//! [services.redis]                  # one table per service; every service takes `port`
//! port = 6379
//! version = "7.0.15"
//! ```
//!
//! Unknown keys are errors, and every error names the key it is about
//! (`services.redis.port: ...`). Service tables are read by the service itself
//! through [`ServiceConfig`], which is how each service documents its keys.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::persona::OsFamily;

/// A problem with a spec; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The spec file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("invalid TOML: {0}")]
    Toml(String),
    /// A key is missing, unknown or has a bad value.
    #[error("{key}: {reason}")]
    Invalid {
        /// Dotted key path, e.g. `services.redis.port`.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl SpecError {
    /// A problem with `key`.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        SpecError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Safety limits shared by every service of the decky.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Concurrent connections for the whole decky.
    pub max_connections: usize,
    /// Concurrent connections per source address (IPv6 grouped by /64).
    pub max_connections_per_ip: usize,
    /// Close after this long without receiving anything.
    pub idle_timeout: Duration,
    /// Close after this long in total.
    pub session_timeout: Duration,
    /// Close when an incomplete frame is older than this.
    pub frame_timeout: Duration,
    /// Longest line or frame a protocol may buffer.
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_connections_per_ip: 64,
            idle_timeout: Duration::from_secs(300),
            session_timeout: Duration::from_secs(3600),
            frame_timeout: Duration::from_secs(30),
            max_frame_bytes: 256 * 1024,
        }
    }
}

/// One decky, validated.
#[derive(Debug, Clone)]
pub struct DeckySpec {
    /// Decky name.
    pub name: String,
    /// Hostname the emulated machine reports.
    pub hostname: String,
    /// Sensor host name put into events; `None` means the machine's hostname.
    pub host: Option<String>,
    /// Addresses every service listens on.
    pub bind: Vec<IpAddr>,
    /// Operating-system family of the persona.
    pub os: OsFamily,
    /// Distribution of the persona (meaningful for `linux`).
    pub distro: String,
    /// Where artifacts and transcripts go.
    pub data_dir: PathBuf,
    /// Explicit seed, if any.
    pub seed: Option<String>,
    /// Safety limits.
    pub limits: Limits,
    /// Service tables by name, in name order.
    pub services: BTreeMap<String, ServiceConfig>,
}

impl DeckySpec {
    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Validates a spec given as TOML text.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| SpecError::Toml(e.to_string().trim_end().to_owned()))?;
        let mut top = ConfigTable::new(String::new(), table);
        let name = top.required_str("name")?;
        if !is_name(&name) {
            return Err(SpecError::invalid(
                "name",
                format!(
                    "{name:?} must be 1..=63 of [A-Za-z0-9._-] starting with a letter or digit"
                ),
            ));
        }
        let hostname = top.required_str("hostname")?;
        if !is_hostname(&hostname) {
            return Err(SpecError::invalid(
                "hostname",
                format!(
                    "{hostname:?} is not a valid host name (RFC 1123 labels, at most 253 characters)"
                ),
            ));
        }
        let host = top.str("host")?;
        if let Some(h) = &host
            && !decnet_event::is_field_name(h)
        {
            return Err(SpecError::invalid(
                "host",
                format!("{h:?} must be 1..=32 printable ASCII characters without spaces"),
            ));
        }
        let bind = top.ip_list("bind")?;
        let os = match top.str("os")? {
            None => OsFamily::Linux,
            Some(s) => OsFamily::parse(&s).ok_or_else(|| {
                SpecError::invalid(
                    "os",
                    format!(
                        "{s:?} is not one of linux, windows, windows_server, bsd, embedded, cisco"
                    ),
                )
            })?,
        };
        let distro = top.str("distro")?.unwrap_or_else(|| "debian".to_owned());
        if !is_name(&distro) {
            return Err(SpecError::invalid(
                "distro",
                format!("{distro:?} is not a valid name"),
            ));
        }
        let data_dir = match top.str("data_dir")? {
            None => PathBuf::from(format!("/var/lib/decnet/deckies/{name}")),
            Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
            Some(d) => {
                return Err(SpecError::invalid(
                    "data_dir",
                    format!("{d:?} must be an absolute path"),
                ));
            }
        };
        let seed = top.str("seed")?;
        if seed.as_deref() == Some("") {
            return Err(SpecError::invalid("seed", "must not be empty when given"));
        }
        let limits = match top.table("limits")? {
            None => Limits::default(),
            Some(t) => parse_limits(t)?,
        };
        let mut services = BTreeMap::new();
        if let Some(mut t) = top.table("services")? {
            let names: Vec<String> = t.table.keys().cloned().collect();
            for svc in names {
                let sub = t.table(&svc)?.ok_or_else(|| {
                    SpecError::invalid(format!("services.{svc}"), "expected a table")
                })?;
                services.insert(
                    svc.clone(),
                    ServiceConfig {
                        name: svc,
                        table: sub,
                    },
                );
            }
            t.finish()?;
        }
        if services.is_empty() {
            return Err(SpecError::invalid(
                "services",
                "at least one service is required",
            ));
        }
        top.finish()?;
        Ok(DeckySpec {
            name,
            hostname,
            host,
            bind,
            os,
            distro,
            data_dir,
            seed,
            limits,
            services,
        })
    }
}

impl DeckySpec {
    /// The spec as TOML text that [`DeckySpec::parse`] reads back to an equal spec
    /// (what the docker driver mounts into a decky's container).
    pub fn to_toml(&self) -> String {
        let s = |v: &str| toml::Value::String(v.to_owned());
        let int = |v: u64| toml::Value::Integer(i64::try_from(v).unwrap_or(i64::MAX));
        let mut top = toml::Table::new();
        top.insert("name".into(), s(&self.name));
        top.insert("hostname".into(), s(&self.hostname));
        if let Some(h) = &self.host {
            top.insert("host".into(), s(h));
        }
        let bind = self.bind.iter().map(|ip| s(&ip.to_string())).collect();
        top.insert("bind".into(), toml::Value::Array(bind));
        top.insert("os".into(), s(self.os.as_str()));
        top.insert("distro".into(), s(&self.distro));
        top.insert("data_dir".into(), s(&self.data_dir.to_string_lossy()));
        if let Some(seed) = &self.seed {
            top.insert("seed".into(), s(seed));
        }
        let l = &self.limits;
        let limits: toml::Table = [
            ("max_connections", int(l.max_connections as u64)),
            (
                "max_connections_per_ip",
                int(l.max_connections_per_ip as u64),
            ),
            ("idle_timeout_s", int(l.idle_timeout.as_secs())),
            ("session_timeout_s", int(l.session_timeout.as_secs())),
            ("frame_timeout_s", int(l.frame_timeout.as_secs())),
            ("max_frame_bytes", int(l.max_frame_bytes as u64)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        top.insert("limits".into(), toml::Value::Table(limits));
        let services: toml::Table = self
            .services
            .iter()
            .map(|(name, cfg)| (name.clone(), toml::Value::Table(cfg.table.table.clone())))
            .collect();
        top.insert("services".into(), toml::Value::Table(services));
        toml::to_string(&top).unwrap_or_default()
    }

    /// Each service and its TCP port: the `port` key or the catalogue's default (services
    /// without a TCP port are left out).
    pub fn service_ports(&self) -> Vec<(String, u16)> {
        self.services
            .iter()
            .filter_map(|(name, cfg)| {
                let default = crate::catalog::service(name).map_or(0, |s| s.default_port());
                let port = cfg
                    .table
                    .table
                    .get("port")
                    .and_then(toml::Value::as_integer)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(default);
                (port != 0).then(|| (name.clone(), port))
            })
            .collect()
    }

    /// Every `(address, port)` the spec's services listen on with TCP.
    pub fn tcp_endpoints(&self) -> Vec<std::net::SocketAddr> {
        self.service_ports()
            .into_iter()
            .flat_map(|(_, port)| {
                self.bind
                    .iter()
                    .map(move |ip| std::net::SocketAddr::new(*ip, port))
            })
            .collect()
    }
}

fn parse_limits(mut t: ConfigTable) -> Result<Limits, SpecError> {
    let d = Limits::default();
    let secs = |v: Option<u64>, dflt: Duration| v.map(Duration::from_secs).unwrap_or(dflt);
    let limits = Limits {
        max_connections: t
            .uint("max_connections", 1, 1_000_000)?
            .map_or(d.max_connections, |v| v as usize),
        max_connections_per_ip: t
            .uint("max_connections_per_ip", 1, 1_000_000)?
            .map_or(d.max_connections_per_ip, |v| v as usize),
        idle_timeout: secs(t.uint("idle_timeout_s", 1, 86_400)?, d.idle_timeout),
        session_timeout: secs(
            t.uint("session_timeout_s", 1, 7 * 86_400)?,
            d.session_timeout,
        ),
        frame_timeout: secs(t.uint("frame_timeout_s", 1, 86_400)?, d.frame_timeout),
        max_frame_bytes: t
            .uint("max_frame_bytes", 512, 64 * 1024 * 1024)?
            .map_or(d.max_frame_bytes, |v| v as usize),
    };
    t.finish()?;
    Ok(limits)
}

fn is_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && s.as_bytes()[0].is_ascii_alphanumeric()
}

fn is_hostname(s: &str) -> bool {
    s.len() <= 253
        && !s.is_empty()
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A TOML table being read key by key; [`ConfigTable::finish`] rejects leftover keys.
#[derive(Debug, Clone)]
pub struct ConfigTable {
    path: String,
    table: toml::Table,
    used: BTreeSet<String>,
}

impl ConfigTable {
    fn new(path: String, table: toml::Table) -> Self {
        ConfigTable {
            path,
            table,
            used: BTreeSet::new(),
        }
    }

    /// The dotted path of `key` in this table, for error messages.
    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn take(&mut self, key: &str) -> Option<&toml::Value> {
        self.used.insert(key.to_owned());
        self.table.get(key)
    }

    fn type_error(&self, key: &str, expected: &str, got: &toml::Value) -> SpecError {
        SpecError::invalid(
            self.key_path(key),
            format!("expected {expected}, got {}", got.type_str()),
        )
    }

    /// An optional string.
    pub fn str(&mut self, key: &str) -> Result<Option<String>, SpecError> {
        match self.take(key).cloned() {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.type_error(key, "a string", &v)),
        }
    }

    /// A required string.
    pub fn required_str(&mut self, key: &str) -> Result<String, SpecError> {
        self.str(key)?
            .ok_or_else(|| SpecError::invalid(self.key_path(key), "is required"))
    }

    /// An optional integer within `min..=max`.
    pub fn uint(&mut self, key: &str, min: u64, max: u64) -> Result<Option<u64>, SpecError> {
        match self.take(key).cloned() {
            None => Ok(None),
            Some(toml::Value::Integer(i)) if i >= 0 && (min..=max).contains(&(i as u64)) => {
                Ok(Some(i as u64))
            }
            Some(toml::Value::Integer(i)) => Err(SpecError::invalid(
                self.key_path(key),
                format!("{i} is out of range {min}..={max}"),
            )),
            Some(v) => Err(self.type_error(key, "an integer", &v)),
        }
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, SpecError> {
        match self.take(key).cloned() {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(b)),
            Some(v) => Err(self.type_error(key, "true or false", &v)),
        }
    }

    /// An optional list, written either as an array of strings or as one
    /// comma-separated string (the predecessor's env-variable style).
    pub fn str_list(&mut self, key: &str) -> Result<Option<Vec<String>>, SpecError> {
        match self.take(key).cloned() {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        toml::Value::String(s) => out.push(s.clone()),
                        other => {
                            return Err(SpecError::invalid(
                                format!("{}[{i}]", self.key_path(key)),
                                format!("expected a string, got {}", other.type_str()),
                            ));
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(v) => Err(self.type_error(key, "a string or an array of strings", &v)),
        }
    }

    fn ip_list(&mut self, key: &str) -> Result<Vec<IpAddr>, SpecError> {
        let items = match self.take(key).cloned() {
            None => return Err(SpecError::invalid(self.key_path(key), "is required")),
            Some(toml::Value::Array(items)) => items,
            Some(v) => return Err(self.type_error(key, "an array of IP addresses", &v)),
        };
        if items.is_empty() {
            return Err(SpecError::invalid(
                self.key_path(key),
                "needs at least one address",
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}[{i}]", self.key_path(key));
            let toml::Value::String(s) = item else {
                return Err(SpecError::invalid(
                    at,
                    format!("expected a string, got {}", item.type_str()),
                ));
            };
            let ip = s
                .parse::<IpAddr>()
                .map_err(|_| SpecError::invalid(&at, format!("{s:?} is not an IP address")))?;
            if out.contains(&ip) {
                return Err(SpecError::invalid(at, format!("{ip} is listed twice")));
            }
            out.push(ip);
        }
        Ok(out)
    }

    fn table(&mut self, key: &str) -> Result<Option<ConfigTable>, SpecError> {
        let path = self.key_path(key);
        match self.take(key).cloned() {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(ConfigTable::new(path, t))),
            Some(v) => Err(self.type_error(key, "a table", &v)),
        }
    }

    /// Rejects keys nobody read.
    pub fn finish(self) -> Result<(), SpecError> {
        match self.table.keys().find(|k| !self.used.contains(*k)) {
            None => Ok(()),
            Some(k) => Err(SpecError::invalid(self.key_path(k), "unknown key")),
        }
    }
}

/// The `[services.NAME]` table of one service, read by that service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Service name (the table's key).
    pub name: String,
    /// Its keys.
    pub table: ConfigTable,
}

impl ServiceConfig {
    /// The `port` key every service accepts, or `default`.
    pub fn port(&mut self, default: u16) -> Result<u16, SpecError> {
        Ok(self
            .table
            .uint("port", 1, 65_535)?
            .map_or(default, |p| p as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_toml_round_trips() {
        let text = r#"
name = "rt-01"
hostname = "rt01.corp"
host = "sensor-a"
bind = ["10.0.0.5"]
os = "windows"
distro = "debian"
data_dir = "/var/lib/decnet/deckies/rt-01"
seed = "abc"
[limits]
max_connections = 77
idle_timeout_s = 9
[services.http]
port = 8080
server = "nginx"
[services.ssh]
"#;
        let spec = DeckySpec::parse(text).unwrap();
        let again = DeckySpec::parse(&spec.to_toml()).unwrap();
        assert_eq!(again.to_toml(), spec.to_toml());
        assert_eq!(again.limits.max_connections, 77);
        assert_eq!(again.limits.idle_timeout, Duration::from_secs(9));
        assert_eq!(again.host.as_deref(), Some("sensor-a"));
        assert_eq!(again.os, OsFamily::Windows);
        let mut ends = again.tcp_endpoints();
        ends.sort();
        assert_eq!(
            ends,
            vec![
                "10.0.0.5:22".parse().unwrap(),
                "10.0.0.5:8080".parse().unwrap()
            ]
        );
    }

    const MINIMAL: &str = r#"
        name = "decky-01"
        hostname = "web-01"
        bind = ["127.77.0.10"]
        [services.redis]
    "#;

    fn err(text: &str) -> String {
        DeckySpec::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_issue_example() {
        let spec = DeckySpec::parse(
            r#"
            name = "decky-01"
            hostname = "web-01"
            bind = ["127.77.0.10", "::1"]
            os = "linux"
            distro = "debian"
            data_dir = "/var/lib/decnet/deckies/decky-01"
            seed = "s3cr3t"
            [services.ssh]
            port = 22
            ssh_version = "OpenSSH_9.2p1 Debian-2+deb12u3"
            users = "root:toor,admin:admin123"
            [services.http]
            server_header = "nginx/1.22.1"
            fake_app = "wordpress"
            "#,
        )
        .unwrap();
        assert_eq!(spec.name, "decky-01");
        assert_eq!(spec.bind.len(), 2);
        assert_eq!(spec.os, OsFamily::Linux);
        assert_eq!(spec.seed.as_deref(), Some("s3cr3t"));
        assert_eq!(spec.limits, Limits::default());
        let mut ssh = spec.services["ssh"].clone();
        assert_eq!(ssh.port(2222).unwrap(), 22);
        assert_eq!(
            ssh.table.str_list("users").unwrap().unwrap(),
            vec!["root:toor", "admin:admin123"]
        );
        assert_eq!(
            ssh.table.str("ssh_version").unwrap().as_deref(),
            Some("OpenSSH_9.2p1 Debian-2+deb12u3")
        );
        ssh.table.finish().unwrap();
        let http = spec.services["http"].clone();
        assert_eq!(
            http.table.finish().unwrap_err().to_string(),
            "services.http.fake_app: unknown key"
        );
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            err(&MINIMAL.replace("name = \"decky-01\"", "")),
            "name: is required"
        );
        assert_eq!(
            err(&format!("{MINIMAL}\n[limits]\nidle_timeout_s = 0")),
            "limits.idle_timeout_s: 0 is out of range 1..=86400"
        );
        assert_eq!(
            err(&MINIMAL.replace("127.77.0.10", "127.77.0.300")),
            "bind[0]: \"127.77.0.300\" is not an IP address"
        );
        assert_eq!(
            err(&format!("os = \"plan9\"\n{MINIMAL}")),
            "os: \"plan9\" is not one of linux, windows, windows_server, bsd, embedded, cisco"
        );
        assert_eq!(
            err(&format!("colour = 1\n{MINIMAL}")),
            "colour: unknown key"
        );
        assert_eq!(
            err(&format!("data_dir = \"rel/dir\"\n{MINIMAL}")),
            "data_dir: \"rel/dir\" must be an absolute path"
        );
        assert_eq!(
            err(&MINIMAL.replace("web-01", "-bad-")),
            "hostname: \"-bad-\" is not a valid host name (RFC 1123 labels, at most 253 characters)"
        );
        assert_eq!(
            err(&MINIMAL.replace("[services.redis]", "[services]\nredis = 1")),
            "services.redis: expected a table, got integer"
        );
        assert_eq!(
            err(&MINIMAL.replace("[services.redis]", "")),
            "services: at least one service is required"
        );
        assert!(err("name = ").starts_with("invalid TOML:"));
    }

    #[test]
    fn limits_are_read() {
        let spec = DeckySpec::parse(&format!(
            "{MINIMAL}\n[limits]\nmax_connections = 5000\nmax_connections_per_ip = 2000\nmax_frame_bytes = 4096"
        ))
        .unwrap();
        assert_eq!(spec.limits.max_connections, 5000);
        assert_eq!(spec.limits.max_connections_per_ip, 2000);
        assert_eq!(spec.limits.max_frame_bytes, 4096);
        assert_eq!(spec.limits.idle_timeout, Duration::from_secs(300));
    }

    #[test]
    fn service_port_is_range_checked() {
        let spec = DeckySpec::parse(
            &MINIMAL.replace("[services.redis]", "[services.redis]\nport = 70000"),
        )
        .unwrap();
        let mut redis = spec.services["redis"].clone();
        assert_eq!(
            redis.port(6379).unwrap_err().to_string(),
            "services.redis.port: 70000 is out of range 1..=65535"
        );
    }
}
