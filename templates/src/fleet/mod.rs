//! Fleet definitions: CLI flags and INI fleet files parsed into a validated
//! [`FleetPlan`], and from it one [`DeckySpec`] per decky.
//!
//! # INI fleet files (the predecessor's format)
//!
//! ```ini
//! [general]
//! net = 127.77.0.0/16          ; subnet of the decky addresses (also `subnet`)
//! gw = 127.77.0.1              ; gateway, never given to a decky
//! ip_start = 127.77.0.10       ; first automatic address
//! interface = eth0             ; parent interface (docker driver)
//! ipvlan = false               ; ipvlan L2 instead of macvlan (docker driver)
//! log_target = ...             ; accepted for compatibility, unused
//!
//! [decky-01]
//! ip = 127.77.0.10             ; optional; otherwise the next free address
//! services = ssh, http         ; and/or archetype =
//! archetype = linux-server     ; services, OS family and distro preferences
//! nmap_os = linux              ; OS family (also `os`); wins over the archetype
//! distro = ubuntu22            ; distro profile; round-robin when absent
//! hostname = web-01            ; generated in the distro's style when absent
//! amount = 3                   ; expand into decky-01-01 .. decky-01-03
//!
//! [decky-01.ssh]               ; per-service keys, as in `[services.ssh]` of a spec
//! port = 2222
//! users = root:toor,admin:admin
//!
//! [custom-myapp]               ; bring-your-own service, listed as `myapp` in services=
//! binary = registry.local/myapp:1.2
//! exec = /usr/bin/myapp --listen 0.0.0.0:8888
//! ports = 8888
//! ```
//!
//! INI values are text. In a service section a value becomes an integer
//! when the key is `port`, `response_code`, starts with `max_` or ends with
//! `_s`, `_bytes`, `_mb`, `_retries` or `_tries`; `true`/`false` become
//! booleans (`yes`/`no`/`on`/`off` too for `anonymous`, `starttls`, `nla`);
//! a value in double quotes always stays text. Every error names the line,
//! the section and the key.

mod addr;
mod build;
mod demo;
mod file;
mod flags;
pub mod ini;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog;
use crate::persona::OsFamily;
use crate::spec::{DeckySpec, SpecError};

pub use addr::Ipv4Net;
pub use demo::demo_fleet;
pub use file::{from_ini, load_ini};
pub use flags::{FleetFlags, from_flags};

/// The default subnet of local (loopback) deckies.
pub const DEFAULT_LOCAL_SUBNET: &str = "127.77.0.0/16";

/// A fleet definition that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    /// A problem at a line of an INI file.
    #[error("{}", at_message(*line, section, key, reason))]
    At {
        /// 1-based line.
        line: usize,
        /// Section name (`decky-01`, `decky-01.ssh`), empty before any section.
        section: String,
        /// Key, empty when the whole section is meant.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A problem with a flag or a decky not tied to a line.
    #[error("{key}: {reason}")]
    Invalid {
        /// Flag (`--services`) or dotted key (`decky-01.services.redis.port`).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The file cannot be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
}

fn at_message(line: usize, section: &str, key: &str, reason: &str) -> String {
    match (section.is_empty(), key.is_empty()) {
        (true, true) => format!("line {line}: {reason}"),
        (true, false) => format!("line {line}, {key}: {reason}"),
        (false, true) => format!("line {line}, [{section}]: {reason}"),
        (false, false) => format!("line {line}, [{section}] {key}: {reason}"),
    }
}

impl FleetError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        FleetError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Network settings of a fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkPlan {
    /// Subnet the decky addresses come from.
    pub subnet: Ipv4Net,
    /// Gateway, never allocated to a decky.
    pub gateway: Option<Ipv4Addr>,
    /// Parent interface (docker driver).
    pub interface: Option<String>,
    /// ipvlan L2 instead of macvlan (docker driver).
    pub ipvlan: bool,
}

/// One value of a service table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ConfigValue {
    /// Text.
    Str(String),
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
}

impl ConfigValue {
    fn to_toml(&self) -> toml::Value {
        match self {
            ConfigValue::Str(s) => toml::Value::String(s.clone()),
            ConfigValue::Int(i) => toml::Value::Integer(*i),
            ConfigValue::Bool(b) => toml::Value::Boolean(*b),
        }
    }
}

/// One catalogue service of a planned decky.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedService {
    /// Slug.
    pub slug: String,
    /// Port it will listen on.
    pub port: u16,
    /// Whether this build emulates it (if not, deploy refuses the fleet).
    pub implemented: bool,
    /// Keys of its `[services.SLUG]` table (`port` included when set).
    pub config: BTreeMap<String, ConfigValue>,
}

/// A bring-your-own service (`[custom-NAME]`): a container image run in the decky's network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomService {
    /// Name (the part after `custom-`).
    pub name: String,
    /// Container image.
    pub binary: String,
    /// Command line, if not the image's default.
    pub exec: Option<String>,
    /// Ports it serves.
    pub ports: Vec<u16>,
}

/// One planned decky.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDecky {
    /// Decky name.
    pub name: String,
    /// Hostname the machine reports.
    pub hostname: String,
    /// Its address.
    pub ip: Ipv4Addr,
    /// OS family.
    #[serde(serialize_with = "ser_os")]
    pub os: OsFamily,
    /// Distro profile slug.
    pub distro: String,
    /// Archetype slug, if any.
    pub archetype: Option<String>,
    /// Catalogue services, in slug order.
    pub services: Vec<PlannedService>,
    /// Bring-your-own services.
    pub custom: Vec<CustomService>,
    /// Where each key came from, for errors found later (`spec key` → line).
    #[serde(skip)]
    pub origin: Origin,
}

/// Lines of the INI file a decky came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// `(section, line)` of the decky's section.
    pub section: Option<(String, usize)>,
    /// Spec key (`services.redis.port`) → `(section, INI key, line)`.
    pub keys: BTreeMap<String, (String, String, usize)>,
}

fn ser_os<S: serde::Serializer>(os: &OsFamily, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(os.as_str())
}

/// A validated fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetPlan {
    /// Network settings.
    pub network: NetworkPlan,
    /// The deckies, in definition order.
    pub deckies: Vec<PlannedDecky>,
}

/// Settings of the specs made from a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecOptions {
    /// Each decky's `data_dir` is `data_root/NAME`; must be absolute.
    pub data_root: PathBuf,
    /// `host` of events; `None` is the machine's hostname.
    pub host: Option<String>,
}

impl PlannedDecky {
    /// The slugs of its catalogue services then its custom services.
    pub fn service_names(&self) -> Vec<String> {
        self.services
            .iter()
            .map(|s| s.slug.clone())
            .chain(self.custom.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// Turns an error about spec key `key` into one naming the INI line when known.
    pub fn locate(&self, key: &str, reason: impl Into<String>) -> FleetError {
        let reason = reason.into();
        if let Some((section, ini_key, line)) = self.origin.keys.get(key) {
            return FleetError::At {
                line: *line,
                section: section.clone(),
                key: ini_key.clone(),
                reason,
            };
        }
        // `services.redis.foo` → the service section, else the decky section.
        let svc_section = key
            .strip_prefix("services.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|svc| self.origin.keys.get(&format!("services.{svc}")));
        if let Some((section, _, line)) = svc_section {
            let ini_key = key.rsplit('.').next().unwrap_or(key).to_owned();
            return FleetError::At {
                line: *line,
                section: section.clone(),
                key: ini_key,
                reason,
            };
        }
        match &self.origin.section {
            Some((section, line)) => FleetError::At {
                line: *line,
                section: section.clone(),
                key: key.to_owned(),
                reason,
            },
            None => FleetError::invalid(format!("{}.{key}", self.name), reason),
        }
    }

    /// The decky spec (validated by [`DeckySpec::parse`]).
    pub fn to_spec(&self, opts: &SpecOptions) -> Result<DeckySpec, FleetError> {
        let mut top = toml::Table::new();
        let s = |v: &str| toml::Value::String(v.to_owned());
        top.insert("name".into(), s(&self.name));
        top.insert("hostname".into(), s(&self.hostname));
        top.insert(
            "bind".into(),
            toml::Value::Array(vec![s(&self.ip.to_string())]),
        );
        top.insert("os".into(), s(self.os.as_str()));
        let persona = catalog::distro_profile(&self.distro).map_or("debian", |d| d.persona);
        top.insert("distro".into(), s(persona));
        let data_dir = opts.data_root.join(&self.name);
        top.insert("data_dir".into(), s(&data_dir.to_string_lossy()));
        if let Some(host) = &opts.host {
            top.insert("host".into(), s(host));
        }
        let mut services = toml::Table::new();
        for svc in &self.services {
            let table: toml::Table = svc
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.to_toml()))
                .collect();
            services.insert(svc.slug.clone(), toml::Value::Table(table));
        }
        top.insert("services".into(), toml::Value::Table(services));
        let text = toml::to_string(&top)
            .map_err(|e| FleetError::invalid(self.name.clone(), e.to_string()))?;
        DeckySpec::parse(&text).map_err(|e| match e {
            SpecError::Invalid { key, reason } => self.locate(&key, reason),
            other => FleetError::invalid(self.name.clone(), other.to_string()),
        })
    }
}

impl FleetPlan {
    /// Refuses services this build does not emulate, naming decky, service and line.
    pub fn check_deployable(&self) -> Result<(), FleetError> {
        for d in &self.deckies {
            if let Some(svc) = d.services.iter().find(|s| !s.implemented) {
                return Err(d.locate(
                    "services",
                    format!(
                        "decky {}: service {:?} is not implemented yet (implemented: {})",
                        d.name,
                        svc.slug,
                        catalog::implemented_slugs().join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every decky's spec, in plan order.
    pub fn specs(&self, opts: &SpecOptions) -> Result<Vec<DeckySpec>, FleetError> {
        if !opts.data_root.is_absolute() {
            return Err(FleetError::invalid(
                "data_dir",
                format!("{:?} must be an absolute path", opts.data_root),
            ));
        }
        self.check_deployable()?;
        self.deckies.iter().map(|d| d.to_spec(opts)).collect()
    }

    /// The decky called `name`.
    pub fn decky(&self, name: &str) -> Option<&PlannedDecky> {
        self.deckies.iter().find(|d| d.name == name)
    }
}

/// Reads the file at `path` into a string, as a fleet error.
pub(crate) fn read(path: &Path) -> Result<String, FleetError> {
    std::fs::read_to_string(path).map_err(|e| FleetError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}
