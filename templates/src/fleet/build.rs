//! Pieces shared by the INI and flag front ends: service lists, typed
//! service keys, hostnames.

use std::collections::BTreeMap;

use crate::catalog::{self, Distro};
use crate::persona::OsFamily;

use super::{ConfigValue, PlannedService};

/// A stable 64-bit tag of a name (FNV-1a), for hostnames.
pub(crate) fn tag_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The role word of an archetype's hostnames.
fn role_of(archetype: Option<&str>) -> &'static str {
    match archetype {
        Some("deaddeck") => "node",
        Some("web-server") => "web",
        Some("database-server") => "db",
        Some("mail-server") => "mail",
        Some("file-server") => "files",
        Some("printer") => "printer",
        Some("iot-device") => "iot",
        Some("industrial-control") => "plc",
        Some("voip-server") => "pbx",
        Some("monitoring-node") => "mon",
        Some("devops-host") => "build",
        Some("domain-controller") => "dc",
        _ => "srv",
    }
}

/// A hostname fitting the OS family, distro and archetype of decky `name`.
pub(crate) fn default_hostname(
    name: &str,
    os: OsFamily,
    distro: &Distro,
    archetype: Option<&str>,
) -> String {
    let tag = tag_of(name);
    let base36 = |mut v: u64, n: usize| {
        let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut out = String::with_capacity(n);
        for _ in 0..n {
            out.push(char::from(digits[(v % 36) as usize]));
            v /= 36;
        }
        out
    };
    match os {
        OsFamily::Windows => format!("DESKTOP-{}", base36(tag, 7)),
        OsFamily::WindowsServer if archetype == Some("domain-controller") => {
            format!("DC{:02}", tag % 100)
        }
        OsFamily::WindowsServer => format!("WIN-{}", base36(tag, 11)),
        _ => distro.hostname(role_of(archetype), tag),
    }
}

/// Whether a key of a service table holds an integer.
fn is_int_key(key: &str) -> bool {
    key == "port"
        || key == "response_code"
        || key.starts_with("max_")
        || ["_s", "_bytes", "_mb", "_retries", "_tries"]
            .iter()
            .any(|suffix| key.ends_with(suffix))
}

/// Types an INI value of a service table (see the module docs).
pub(crate) fn typed_value(key: &str, value: &str) -> ConfigValue {
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return ConfigValue::Str(inner.to_owned());
    }
    if is_int_key(key)
        && let Ok(i) = value.parse::<i64>()
    {
        return ConfigValue::Int(i);
    }
    let bool_key = matches!(key, "anonymous" | "starttls" | "nla");
    match value.to_ascii_lowercase().as_str() {
        "true" => ConfigValue::Bool(true),
        "false" => ConfigValue::Bool(false),
        "yes" | "on" if bool_key => ConfigValue::Bool(true),
        "no" | "off" if bool_key => ConfigValue::Bool(false),
        _ => ConfigValue::Str(value.to_owned()),
    }
}

/// Catalogue services of a decky from slugs and per-service tables, in slug order.
/// `port` of a table sets the planned port (range-checked by the caller).
pub(crate) fn planned_services(
    slugs: &[String],
    mut configs: BTreeMap<String, BTreeMap<String, ConfigValue>>,
) -> Vec<PlannedService> {
    let mut slugs: Vec<&String> = slugs.iter().collect();
    slugs.sort();
    slugs.dedup();
    slugs
        .into_iter()
        .filter_map(|slug| {
            let info = catalog::service(slug)?;
            let config = configs.remove(slug.as_str()).unwrap_or_default();
            let port = match config.get("port") {
                Some(ConfigValue::Int(p)) => u16::try_from(*p).unwrap_or(0),
                _ => info.default_port(),
            };
            Some(PlannedService {
                slug: slug.clone(),
                port,
                implemented: info.implemented(),
                config,
            })
        })
        .collect()
}

/// Splits a comma-separated list, trimming and dropping empty items.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `s` is usable as a decky or custom-service name: 1..=63 of
/// `[A-Za-z0-9_-]`, starting with a letter or digit (no dots: they separate
/// the service in `[decky.svc]`).
pub(crate) fn is_decky_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.as_bytes()[0].is_ascii_alphanumeric()
}
