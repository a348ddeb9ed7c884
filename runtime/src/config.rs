//! Configuration: a TOML file overridden by `DECNET_*` environment variables,
//! validated at start-up with errors that name the key and what is wrong.
//!
//! Nested keys use a double underscore in the environment:
//! `DECNET_API__LISTEN=0.0.0.0:8080` sets `api.listen`.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Prefix of every environment variable that overrides configuration.
pub const ENV_PREFIX: &str = "DECNET_";

/// Values no deployment may use as a secret, whatever their length.
const KNOWN_BAD_SECRETS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "decnet",
    "admin",
    "default",
    "jwt-secret",
    "your-secret-key",
    "supersecret",
    "fallback-secret-key-change-me",
];

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key, e.g. `api.listen`.
    pub key: String,
    /// What is wrong and, where it helps, what to do.
    pub reason: String,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` does not exist or cannot be read.
    #[error("config file {path}: {reason}")]
    File {
        /// The path given.
        path: String,
        /// The I/O reason.
        reason: String,
    },
    /// The file or environment did not parse into the expected shape.
    #[error("{}", format_problems(.0))]
    Invalid(Vec<ConfigProblem>),
}

impl ConfigError {
    /// Every problem found, for callers that render them themselves.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        match self {
            ConfigError::File { path, reason } => vec![ConfigProblem {
                key: "config".into(),
                reason: format!("{path}: {reason}"),
            }],
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

fn format_problems(problems: &[ConfigProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.key, p.reason))
        .collect();
    lines.join("\n")
}

/// Loads `T` from `explicit` (which must exist), else `default_path` when it
/// exists, then applies `DECNET_*` environment overrides.
pub fn load<T: DeserializeOwned>(
    explicit: Option<&Path>,
    default_path: &Path,
) -> Result<T, ConfigError> {
    load_with_env(
        explicit,
        default_path,
        Env::prefixed(ENV_PREFIX).split("__"),
    )
}

fn load_with_env<T: DeserializeOwned>(
    explicit: Option<&Path>,
    default_path: &Path,
    env: Env,
) -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    match explicit {
        Some(path) => {
            if let Err(e) = std::fs::metadata(path) {
                return Err(ConfigError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        None if default_path.exists() => figment = figment.merge(Toml::file_exact(default_path)),
        None => {}
    }
    figment.merge(env).extract().map_err(|errors| {
        ConfigError::Invalid(
            errors
                .into_iter()
                .map(|e| {
                    let key = if e.path.is_empty() {
                        "config".to_owned()
                    } else {
                        e.path.join(".")
                    };
                    let source = match &e.metadata {
                        Some(m) => format!(" (from {})", m.name),
                        None => String::new(),
                    };
                    ConfigProblem {
                        key,
                        reason: format!("{}{source}", e.kind),
                    }
                })
                .collect(),
        )
    })
}

/// A secret configuration value: readable by code, never printed or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Collects every validation problem so the operator sees them all at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<ConfigProblem>);

impl Problems {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `key`.
    pub fn push(&mut self, key: &str, reason: impl Into<String>) {
        self.0.push(ConfigProblem {
            key: key.to_owned(),
            reason: reason.into(),
        });
    }

    /// Port numbers must be 1–65535 (0 would mean "any port").
    pub fn check_port(&mut self, key: &str, port: u16) {
        if port == 0 {
            self.push(key, "port must be between 1 and 65535, got 0");
        }
    }

    /// An `IP:PORT` listen or connect address with a non-zero port.
    pub fn check_socket_addr(&mut self, key: &str, value: &str) -> Option<SocketAddr> {
        match value.parse::<SocketAddr>() {
            Ok(addr) if addr.port() == 0 => {
                self.push(
                    key,
                    format!("port must be between 1 and 65535 in {value:?}"),
                );
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                self.push(
                    key,
                    format!(
                        "{value:?} is not an address of the form IP:PORT (e.g. 127.0.0.1:8080)"
                    ),
                );
                None
            }
        }
    }

    /// A secret of at least `min_len` bytes that is not a well-known placeholder.
    pub fn check_secret(&mut self, key: &str, secret: &Secret, min_len: usize) {
        let value = secret.expose();
        let lowered = value.to_ascii_lowercase();
        if KNOWN_BAD_SECRETS.iter().any(|bad| lowered.contains(bad)) && value.len() < 64 {
            self.push(key, "is a well-known placeholder value; generate a random one (e.g. `openssl rand -hex 32`)");
        } else if value.len() < min_len {
            self.push(
                key,
                format!("must be at least {min_len} bytes, got {}; generate one with `openssl rand -hex 32`", value.len()),
            );
        } else if value.bytes().all(|b| Some(&b) == value.as_bytes().first()) {
            self.push(key, "is one character repeated; generate a random one");
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, otherwise every problem.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(self.0))
        }
    }
}

#[cfg(test)]
// figment's Jail API fixes the closure's error type; its size is not ours to choose.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Debug, Deserialize, Serialize)]
    struct Sample {
        #[serde(default)]
        api: Api,
        jwt_secret: Option<Secret>,
    }

    #[derive(Debug, Default, Deserialize, Serialize)]
    struct Api {
        #[serde(default)]
        listen: String,
        #[serde(default)]
        port: u16,
    }

    fn toml_file(body: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(body.as_bytes()).unwrap();
        f
    }

    #[test]
    fn file_values_load_and_nested_keys_work() {
        let f = toml_file("jwt_secret = \"abc\"\n[api]\nlisten = \"127.0.0.1:9\"\n");
        let s: Sample = load_with_env(
            Some(f.path()),
            Path::new("/nonexistent"),
            Env::prefixed("DECNET_UNUSED_IN_TESTS_").split("__"),
        )
        .unwrap();
        assert_eq!(s.api.listen, "127.0.0.1:9");
        assert_eq!(s.jwt_secret.unwrap().expose(), "abc");
    }

    #[test]
    fn missing_explicit_file_is_an_error_naming_it() {
        let err = load::<Sample>(Some(Path::new("/nonexistent/master.toml")), Path::new("/x"))
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/master.toml"),
            "{err}"
        );
    }

    #[test]
    fn type_errors_name_the_key() {
        let f = toml_file("[api]\nport = 70000\n");
        let err = load_with_env::<Sample>(
            Some(f.path()),
            Path::new("/x"),
            Env::prefixed("DECNET_UNUSED_IN_TESTS_").split("__"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("api.port:"), "{text}");
    }

    #[test]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "master.toml",
                "jwt_secret = \"from-file\"\n[api]\nlisten = \"127.0.0.1:9\"\n",
            )?;
            jail.set_env("DECNET_API__LISTEN", "10.0.0.1:80");
            jail.set_env("DECNET_JWT_SECRET", "from-env");
            let s: Sample = load(None, Path::new("master.toml")).map_err(|e| e.to_string())?;
            assert_eq!(s.api.listen, "10.0.0.1:80");
            assert_eq!(s.jwt_secret.unwrap().expose(), "from-env");
            Ok(())
        });
    }

    #[test]
    fn bad_environment_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DECNET_API__PORT", "not-a-port");
            let err = load::<Sample>(None, Path::new("/nonexistent")).unwrap_err();
            assert!(err.to_string().starts_with("api.port:"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2hunter2hunter2hunter2hunter2".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
    }

    #[test]
    fn validation_reports_every_problem_with_its_key() {
        let mut p = Problems::new();
        p.check_port("mesh.port", 0);
        assert!(p.check_socket_addr("api.listen", "localhost").is_none());
        assert!(
            p.check_socket_addr("api.listen2", "127.0.0.1:8080")
                .is_some()
        );
        p.check_secret("jwt_secret", &Secret::new("short".into()), 32);
        p.check_secret(
            "jwt_secret2",
            &Secret::new("changeme-changeme-changeme-changeme".into()),
            32,
        );
        p.check_secret("jwt_secret3", &Secret::new("a".repeat(40)), 32);
        p.check_secret(
            "ok_secret",
            &Secret::new("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b".into()),
            32,
        );
        let text = p.finish().unwrap_err().to_string();
        let keys: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "mesh.port",
                "api.listen",
                "jwt_secret",
                "jwt_secret2",
                "jwt_secret3"
            ]
        );
    }
}
