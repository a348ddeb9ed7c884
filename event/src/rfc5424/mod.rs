//! The RFC 5424 form of an event, compatible with the predecessor's lines:
//!
//! ```text
//! <134>1 2026-04-24T16:24:33.123456+00:00 DECKY SERVICE - EVENT_TYPE [relay@55555 k="v" ...] msg
//! ```
//!
//! * PRI `<134>` (local0.info), VERSION 1, TIMESTAMP in UTC with µs and `+00:00`,
//!   HOSTNAME = decky, APP-NAME = service, PROCID `-`, MSGID = event type.
//! * One SD element `relay@55555` whose parameters are, in order: `event_id`,
//!   `host` (omitted when empty), `src_ip`, `src_port`, `dst_port`, `session_id`
//!   (omitted when absent), then every field in name order. The predecessor's
//!   collector finds the attacker in `src_ip`.
//! * Inside values `\`, `"` and `]` are backslash-escaped (RFC 5424 §6.3.3).
//!   DECNET also writes CR and LF as `\r` and `\n`, and in the message doubles
//!   `\` and writes CR/LF the same way, so attacker bytes can never split a line.
//!   A strict RFC 5424 reader simply sees those as literal backslash pairs.
//!   The parser undoes them only on DECNET lines (a `relay@55555` element with
//!   an `event_id` UUID); on other lines it applies RFC 5424 rules exactly.

mod parse;
mod render;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use uuid::Uuid;

pub use parse::{ParseError, parse, parse_bytes};
pub use render::{render, render_into};

use crate::Event;
use crate::event::{RESERVED_FIELDS, UNKNOWN_IP};

/// The SD-ID of DECNET's (and the predecessor's) structured-data element.
pub const SD_ID: &str = "relay@55555";
/// PRI of every DECNET line: facility local0 (16) × 8 + severity info (6).
pub const DEFAULT_PRI: u8 = 134;
const BOM: char = '\u{feff}';

/// SD parameters the predecessor's collector accepted as the attacker address, in priority order.
const ATTACKER_KEYS: [&str; 7] = [
    "src_ip",
    "src",
    "client_ip",
    "remote_ip",
    "remote_addr",
    "target_ip",
    "ip",
];

/// One parsed syslog line; `None` stands for NILVALUE (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine {
    /// Facility × 8 + severity.
    pub pri: u8,
    /// Protocol version (1 for RFC 5424).
    pub version: u16,
    /// TIMESTAMP, in UTC at µs precision.
    pub timestamp: Option<time::OffsetDateTime>,
    /// HOSTNAME (the decky on DECNET lines).
    pub hostname: Option<String>,
    /// APP-NAME (the service on DECNET lines).
    pub app_name: Option<String>,
    /// PROCID.
    pub procid: Option<String>,
    /// MSGID (the event type on DECNET lines).
    pub msgid: Option<String>,
    /// Every SD element, parameter values still escaped as on the line.
    pub structured_data: Vec<SdElement>,
    /// The message after the structured data, BOM removed, not yet unescaped.
    pub msg: Option<String>,
}

/// One `[id name="value" ...]` element; values are kept escaped as on the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    /// SD-ID.
    pub id: String,
    /// Parameters in line order; names may repeat.
    pub params: Vec<(String, String)>,
}

impl SyslogLine {
    /// Whether the line was written by DECNET's renderer (see the module docs).
    pub fn is_decnet(&self) -> bool {
        self.decnet_id().is_some()
    }

    fn decnet_id(&self) -> Option<Uuid> {
        let relay = self.structured_data.iter().find(|e| e.id == SD_ID)?;
        relay
            .params
            .iter()
            .find(|(k, _)| k == "event_id")
            .and_then(|(_, v)| Uuid::parse_str(v).ok())
    }

    /// Parameter values of every element, unescaped; `relay@55555` parameters
    /// keep their name, others become `SDID.name`. Later repeats win.
    pub fn params(&self) -> BTreeMap<String, String> {
        let decnet = self.is_decnet();
        let mut out = BTreeMap::new();
        for element in &self.structured_data {
            for (name, raw) in &element.params {
                let key = if element.id == SD_ID {
                    name.clone()
                } else {
                    format!("{}.{}", element.id, name)
                };
                out.insert(key, parse::unescape_value(raw, decnet));
            }
        }
        out
    }

    /// The message, unescaped on DECNET lines and verbatim otherwise.
    pub fn message(&self) -> Option<String> {
        let raw = self.msg.as_deref()?;
        Some(if self.is_decnet() {
            parse::unescape_msg(raw)
        } else {
            raw.to_owned()
        })
    }

    /// The event this line describes. Never fails, so foreign lines are kept:
    ///
    /// * `id` is the line's `event_id`, else a fresh UUIDv7; `ts` is TIMESTAMP, else now;
    /// * `decky`, `service`, `event_type` are HOSTNAME, APP-NAME, MSGID (`-` when NIL);
    /// * the attacker is the first of `src_ip`, `src`, `client_ip`, `remote_ip`,
    ///   `remote_addr`, `target_ip`, `ip` that holds an address (`host:port`
    ///   accepted), else `0.0.0.0`; `src_port` comes from `src_port` or that port;
    /// * `host`, `dst_port`, `session_id` come from their parameters;
    /// * every other parameter becomes a field.
    pub fn to_event(&self) -> Event {
        let mut params = self.params();
        let id = self.decnet_id().unwrap_or_else(Uuid::now_v7);
        let (src_ip, port_from_addr) = attacker(&params);
        let src_port = params
            .get("src_port")
            .and_then(|p| p.parse().ok())
            .or(port_from_addr)
            .unwrap_or(0);
        let dst_port = params
            .get("dst_port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let host = params.remove("host").unwrap_or_default();
        let session_id = params.remove("session_id");
        for reserved in RESERVED_FIELDS {
            params.remove(reserved);
        }
        let header = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        Event {
            id,
            ts: self.timestamp.unwrap_or_else(crate::timestamp::now),
            host,
            decky: header(&self.hostname),
            service: header(&self.app_name),
            event_type: header(&self.msgid),
            src_ip,
            src_port,
            dst_port,
            session_id,
            fields: params,
            msg: self.message(),
            traceparent: None,
        }
    }
}

fn attacker(params: &BTreeMap<String, String>) -> (IpAddr, Option<u16>) {
    for key in ATTACKER_KEYS {
        let Some(value) = params.get(key) else {
            continue;
        };
        let value = value.trim();
        if let Ok(ip) = value.parse::<IpAddr>() {
            return (ip, None);
        }
        if let Ok(sa) = value.parse::<SocketAddr>() {
            return (sa.ip(), Some(sa.port()));
        }
    }
    (UNKNOWN_IP, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_predecessor_lines() {
        let line = "<134>1 2026-04-24T16:24:33.123456+00:00 decky-03 auth-helper - auth_attempt \
                    [relay@55555 username=\"root\" principal=\"root\" secret_printable=\"a\\\\nb\" \
                    secret_b64=\"YVxuYg==\" remote_addr=\"198.51.100.4:40022\"]";
        let e = parse(line).unwrap().to_event();
        assert_eq!(e.decky, "decky-03");
        assert_eq!(e.service, "auth-helper");
        assert_eq!(e.event_type, "auth_attempt");
        assert_eq!(e.src().to_string(), "198.51.100.4:40022");
        // RFC rules on a foreign line: `\\n` is a backslash and an `n`.
        assert_eq!(e.fields["secret_printable"], "a\\nb");
        assert_eq!(e.fields["remote_addr"], "198.51.100.4:40022");
        assert_eq!(e.id.get_version_num(), 7);
    }

    #[test]
    fn foreign_lines_without_attacker_or_decnet_params_still_convert() {
        let e = parse("<13>1 - - - - - [origin ip=\"not-an-ip\"] C:\\new")
            .unwrap()
            .to_event();
        assert_eq!(e.src_ip, UNKNOWN_IP);
        assert_eq!(e.decky, "-");
        assert_eq!(e.fields["origin.ip"], "not-an-ip");
        assert_eq!(e.msg.as_deref(), Some("C:\\new"));
    }
}
