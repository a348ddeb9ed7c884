//! The master's configuration: TOML file, `DECNET_*` overrides, command-line flags, validation.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use decnet_runtime::config::{ConfigError, ConfigProblem, Problems, Secret};
use serde::{Deserialize, Serialize};

/// Read when `--config` is not given and the file exists.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/decnet/master.toml";

/// Minimum JWT secret length in bytes (HS256 wants at least its 32-byte output size).
pub const MIN_JWT_SECRET_LEN: usize = 32;

/// Everything the master can be configured with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MasterConfig {
    /// External PostgreSQL (`postgres://…` or libpq key=value); `up` embeds its own when unset.
    pub database_url: Option<Secret>,
    /// Key that signs API tokens; `up` generates and persists one when unset.
    pub jwt_secret: Option<Secret>,
    /// HTTP API settings.
    pub api: ApiConfig,
    /// Connection pool and start-up retry settings.
    pub database: DatabaseConfig,
    /// The embedded cluster of `up`.
    pub embedded: EmbeddedConfig,
    /// The master's host bus (`bus.socket` serves it to local workers).
    pub bus: decnet_mesh::BusConfig,
    /// The QUIC mesh agents connect to, its enrollment endpoint and the CA.
    pub mesh: MeshConfig,
}

/// The mesh endpoint, the enrollment endpoint and the certificate authority.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MeshConfig {
    /// Run the mesh and enrollment endpoints (without them no agent can join).
    pub enabled: bool,
    /// UDP `IP:PORT` of the mesh endpoint (`0.0.0.0:8443` to accept remote agents).
    pub listen: String,
    /// UDP `IP:PORT` of the enrollment endpoint [default: the mesh IP, mesh port + 1].
    pub enroll_listen: Option<String>,
    /// `HOST:PORT` of the mesh as agents reach it; needed when `listen` is a wildcard.
    pub advertise: Vec<String>,
    /// Where the CA key and certificate live [default: `<embedded.data_dir>/pki` for `up`,
    /// `/var/lib/decnet/master/pki` for `serve`].
    pub pki_dir: Option<PathBuf>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:8443".into(),
            enroll_listen: None,
            advertise: Vec::new(),
            pki_dir: None,
        }
    }
}

/// Where `serve` keeps its CA when `mesh.pki_dir` is unset.
pub const DEFAULT_SERVE_PKI_DIR: &str = "/var/lib/decnet/master/pki";

/// HTTP API settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// `IP:PORT` the API and dashboard listen on.
    pub listen: String,
    /// Origins (`scheme://host[:port]`) allowed by CORS; empty sends no CORS headers at all.
    pub cors_allowed_origins: Vec<String>,
    /// Lifetime of an access token.
    #[serde(with = "duration_text")]
    pub token_ttl: Duration,
    /// Concurrent live streams one user may hold open.
    pub sse_max_per_user: usize,
    /// How long a request may take before it is answered 503 (streams: until their headers).
    #[serde(with = "duration_text")]
    pub request_timeout: Duration,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// When set, session recordings are only read from below this directory.
    pub recordings_dir: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            cors_allowed_origins: Vec::new(),
            token_ttl: Duration::from_secs(4 * 3600),
            sse_max_per_user: 5,
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            recordings_dir: None,
        }
    }
}

/// Longest accepted `api.token_ttl`: revocation lists are kept until tokens expire.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Checks one CORS origin: an exact `http(s)://host[:port]`, no wildcard, path or trailing slash.
fn origin_problem(origin: &str) -> Option<&'static str> {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return Some("must start with http:// or https://");
    };
    if origin.contains('*') {
        return Some("must not contain a wildcard");
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Some("must be scheme://host[:port] with no path, query or user");
    }
    None
}

/// Connection pool and start-up retry settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// Maximum pooled connections.
    pub pool_size: usize,
    /// Connection attempts at start-up before giving up.
    pub connect_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further failure.
    #[serde(with = "duration_text")]
    pub connect_backoff: Duration,
    /// Upper bound of the wait between attempts.
    #[serde(with = "duration_text")]
    pub connect_max_backoff: Duration,
    /// How long a request waits for a pooled connection (or a new one) before failing.
    #[serde(with = "duration_text")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            pool_size: 16,
            connect_attempts: 10,
            connect_backoff: Duration::from_millis(250),
            connect_max_backoff: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Settings of the embedded cluster of `up`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmbeddedConfig {
    /// Where `up` keeps its cluster (`<data_dir>/pg`) and generated secrets.
    pub data_dir: PathBuf,
    /// PostgreSQL server bin directory; found automatically when unset.
    pub pg_bindir: Option<PathBuf>,
    /// Run an agent beside the master (host `local`) with the demo fleet.
    pub demo: bool,
    /// The `decnet-agent` binary [default: next to `decnet-master`].
    pub agent_bin: Option<PathBuf>,
    /// First loopback address of the demo fleet.
    pub demo_first_ip: std::net::Ipv4Addr,
    /// Added to every demo port [default: 0 as root, 10000 otherwise].
    pub demo_port_offset: Option<u16>,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./var/decnet"),
            pg_bindir: None,
            demo: true,
            agent_bin: None,
            demo_first_ip: std::net::Ipv4Addr::new(127, 77, 0, 10),
            demo_port_offset: None,
        }
    }
}

/// Which command the configuration is validated for (each needs different keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Embedded all-in-one: database and JWT secret optional.
    Up,
    /// External database: URL and JWT secret required.
    Serve,
    /// Migrations only: URL required.
    Migrate,
    /// `config check`: whatever is set must be valid.
    Check,
}

/// A configuration that passed validation, with parsed values.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The configuration itself.
    pub config: MasterConfig,
    /// Parsed `api.listen`.
    pub listen: SocketAddr,
    /// Parsed `database_url`, if set.
    pub database: Option<tokio_postgres::Config>,
}

impl MasterConfig {
    /// Loads the file (`explicit`, else [`DEFAULT_CONFIG_PATH`] when present) and `DECNET_*` overrides.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        decnet_runtime::config::load(explicit, Path::new(DEFAULT_CONFIG_PATH))
    }

    /// Checks every value for `mode`, reporting all problems at once.
    pub fn validate(self, mode: Mode) -> Result<Validated, ConfigError> {
        let mut problems = Problems::new();
        let listen = problems.check_socket_addr("api.listen", &self.api.listen);

        match &self.jwt_secret {
            Some(secret) => problems.check_secret("jwt_secret", secret, MIN_JWT_SECRET_LEN),
            None if mode == Mode::Serve => problems.push(
                "jwt_secret",
                "is required by serve; set DECNET_JWT_SECRET or jwt_secret in the config file \
                 (generate one with `openssl rand -hex 32`)",
            ),
            None => {}
        }

        let database = match &self.database_url {
            Some(url) => match url.expose().parse::<tokio_postgres::Config>() {
                // The parser's message never echoes the URL, so no password leaks here.
                Ok(parsed) if parsed.get_hosts().is_empty() => {
                    problems.push("database_url", "names no host or socket directory");
                    None
                }
                Ok(parsed) => Some(parsed),
                Err(e) => {
                    problems.push(
                        "database_url",
                        format!("is not a valid PostgreSQL connection URL: {e}"),
                    );
                    None
                }
            },
            None if matches!(mode, Mode::Serve | Mode::Migrate) => {
                problems.push(
                    "database_url",
                    "is required; pass --database-url or set DECNET_DATABASE_URL",
                );
                None
            }
            None => None,
        };

        let api = &self.api;
        for origin in &api.cors_allowed_origins {
            if let Some(reason) = origin_problem(origin) {
                problems.push("api.cors_allowed_origins", format!("{origin:?} {reason}"));
            }
        }
        if api.token_ttl < Duration::from_secs(60) || api.token_ttl > MAX_TOKEN_TTL {
            problems.push("api.token_ttl", "must be between 1m and 7days");
        }
        if api.sse_max_per_user == 0 {
            problems.push("api.sse_max_per_user", "must be at least 1");
        }
        if api.request_timeout.is_zero() {
            problems.push("api.request_timeout", "must be greater than zero");
        }
        if api.max_body_bytes < 1024 {
            problems.push("api.max_body_bytes", "must be at least 1024");
        }
        if api
            .recordings_dir
            .as_ref()
            .is_some_and(|d| !d.is_absolute())
        {
            problems.push("api.recordings_dir", "must be an absolute path");
        }

        let db = &self.database;
        if db.pool_size == 0 {
            problems.push("database.pool_size", "must be at least 1");
        }
        if db.connect_attempts == 0 {
            problems.push("database.connect_attempts", "must be at least 1");
        }
        if db.connect_backoff.is_zero() {
            problems.push("database.connect_backoff", "must be greater than zero");
        }
        if db.connect_max_backoff < db.connect_backoff {
            problems.push(
                "database.connect_max_backoff",
                "must not be shorter than database.connect_backoff",
            );
        }
        if db.acquire_timeout.is_zero() {
            problems.push("database.acquire_timeout", "must be greater than zero");
        }
        if self.embedded.data_dir.as_os_str().is_empty() {
            problems.push("embedded.data_dir", "must not be empty");
        }
        if self.embedded.demo && !self.embedded.demo_first_ip.is_loopback() {
            problems.push(
                "embedded.demo_first_ip",
                "must be a loopback address (127.x.y.z): the demo fleet never listens elsewhere",
            );
        }
        let mesh = &self.mesh;
        if mesh.enabled {
            let mesh_listen = udp_addr(&mut problems, "mesh.listen", &mesh.listen);
            if let Some(enroll) = &mesh.enroll_listen {
                udp_addr(&mut problems, "mesh.enroll_listen", enroll);
            }
            for addr in &mesh.advertise {
                if !is_host_port(addr) {
                    problems.push("mesh.advertise", format!("{addr:?} is not HOST:PORT"));
                }
            }
            if mesh_listen.is_some_and(|a| a.ip().is_unspecified()) && mesh.advertise.is_empty() {
                problems.push(
                    "mesh.advertise",
                    "must name the address agents reach (HOST:PORT) when mesh.listen is a \
                     wildcard address",
                );
            }
            if mesh
                .pki_dir
                .as_ref()
                .is_some_and(|d| d.as_os_str().is_empty())
            {
                problems.push("mesh.pki_dir", "must not be empty");
            }
        }

        problems.finish()?;
        // A bad address was recorded as a problem above, so this only restates it.
        let listen = listen.ok_or_else(|| {
            ConfigError::Invalid(vec![ConfigProblem {
                key: "api.listen".into(),
                reason: "is not an address of the form IP:PORT".into(),
            }])
        })?;
        Ok(Validated {
            config: self,
            listen,
            database,
        })
    }

    /// The configuration as TOML, secrets shown as `<redacted>`.
    pub fn to_redacted_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}

/// An `IP:PORT` to bind; port 0 picks a free port (tests, several masters on one host).
fn udp_addr(problems: &mut Problems, key: &str, value: &str) -> Option<SocketAddr> {
    match value.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.push(
                key,
                format!("{value:?} is not an address of the form IP:PORT"),
            );
            None
        }
    }
}

/// `HOST:PORT` with a non-empty host and a port number.
fn is_host_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.chars().any(char::is_whitespace)
                && port.parse::<u16>().is_ok_and(|p| p != 0)
        }
        None => false,
    }
}

/// Durations as humantime text ("250ms", "5s"); bare integers are seconds.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Seconds(u64),
    }

    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Text(text) => humantime::parse_duration(text.trim()).map_err(|e| {
                D::Error::custom(format!(
                    "{text:?} is not a duration like \"250ms\" or \"5s\": {e}"
                ))
            }),
            Raw::Seconds(secs) => Ok(Duration::from_secs(secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Option<Secret> {
        Some(Secret::new(s.into()))
    }

    #[test]
    fn defaults_are_valid_for_up_and_check() {
        let v = MasterConfig::default().validate(Mode::Up).unwrap();
        assert_eq!(v.listen, "127.0.0.1:8080".parse().unwrap());
        assert!(MasterConfig::default().validate(Mode::Check).is_ok());
    }

    #[test]
    fn serve_requires_url_and_secret() {
        let text = MasterConfig::default()
            .validate(Mode::Serve)
            .unwrap_err()
            .to_string();
        assert!(
            text.lines().any(|l| l.starts_with("jwt_secret: ")),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("database_url: ")),
            "{text}"
        );
    }

    #[test]
    fn every_bad_value_is_named() {
        let mut c = MasterConfig {
            jwt_secret: secret("short"),
            database_url: secret("postgres://u:hunter2@host:notaport/db"),
            ..MasterConfig::default()
        };
        c.api.listen = "notanaddr".into();
        c.database.pool_size = 0;
        let text = c.validate(Mode::Up).unwrap_err().to_string();
        for key in [
            "api.listen",
            "jwt_secret",
            "database_url",
            "database.pool_size",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{key}: "))),
                "{key} in {text}"
            );
        }
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn cors_origins_must_be_exact() {
        let mut c = MasterConfig::default();
        c.api.cors_allowed_origins = vec![
            "https://dash.example.org".into(),
            "http://127.0.0.1:5173".into(),
        ];
        assert!(c.clone().validate(Mode::Up).is_ok());
        for bad in [
            "*",
            "https://*.example.org",
            "dash.example.org",
            "https://x/",
            "null",
        ] {
            c.api.cors_allowed_origins = vec![bad.into()];
            let text = c.clone().validate(Mode::Up).unwrap_err().to_string();
            assert!(
                text.starts_with("api.cors_allowed_origins: "),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn api_limits_are_checked() {
        let mut c = MasterConfig::default();
        c.api.token_ttl = Duration::from_secs(1);
        c.api.sse_max_per_user = 0;
        c.api.request_timeout = Duration::ZERO;
        c.api.max_body_bytes = 10;
        let text = c.validate(Mode::Up).unwrap_err().to_string();
        for key in [
            "api.token_ttl",
            "api.sse_max_per_user",
            "api.request_timeout",
            "api.max_body_bytes",
        ] {
            assert!(text.contains(&format!("{key}: ")), "{key} in {text}");
        }
    }

    #[test]
    fn port_zero_is_refused() {
        let mut c = MasterConfig::default();
        c.api.listen = "127.0.0.1:0".into();
        assert!(
            c.validate(Mode::Up)
                .unwrap_err()
                .to_string()
                .starts_with("api.listen: ")
        );
    }

    #[test]
    fn redacted_toml_hides_secrets_and_round_trips_durations() {
        let c = MasterConfig {
            jwt_secret: secret("0123456789abcdef0123456789abcdef-very-random"),
            database_url: secret("postgres://u:hunter2@db/decnet"),
            ..MasterConfig::default()
        };
        let text = c.to_redacted_toml().unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("0123456789abcdef"),
            "{text}"
        );
        assert!(text.contains("jwt_secret = \"<redacted>\""), "{text}");
        assert!(text.contains("connect_backoff = \"250ms\""), "{text}");
        let back: MasterConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.database.connect_backoff, Duration::from_millis(250));
    }
}
