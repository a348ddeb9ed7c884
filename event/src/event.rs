//! The [`Event`] type, its validation rules and its builder.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credential::{self, Outcome};

/// Longest decky name (the RFC 5424 HOSTNAME field).
pub const MAX_DECKY_LEN: usize = 255;
/// Longest service name (the RFC 5424 APP-NAME field).
pub const MAX_SERVICE_LEN: usize = 48;
/// Longest event type (the RFC 5424 MSGID field).
pub const MAX_EVENT_TYPE_LEN: usize = 32;
/// Longest field name (an RFC 5424 SD-NAME).
pub const MAX_FIELD_NAME_LEN: usize = 32;

/// Structured-data parameter names that carry the event's own columns on an
/// RFC 5424 line; [`Event::fields`] may not use them.
pub const RESERVED_FIELDS: [&str; 6] = [
    "event_id",
    "host",
    "src_ip",
    "src_port",
    "dst_port",
    "session_id",
];

/// One attacker interaction, as every DECNET component exchanges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id (UUIDv7, so ids sort by creation time); replays are idempotent on it.
    pub id: Uuid,
    /// When it happened, UTC with microsecond precision.
    #[serde(with = "crate::timestamp::serde_rfc3339")]
    pub ts: OffsetDateTime,
    /// Sensor host (agent) the decky runs on.
    pub host: String,
    /// Decky name.
    pub decky: String,
    /// Service slug (`ssh`, `redis`, ...).
    pub service: String,
    /// What happened (`connect`, `auth`, `command`, ...).
    pub event_type: String,
    /// Attacker address.
    pub src_ip: IpAddr,
    /// Attacker port.
    pub src_port: u16,
    /// Decky port the attacker talked to.
    pub dst_port: u16,
    /// Connection or login session the event belongs to.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Everything else, stringified.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Free text.
    #[serde(default)]
    pub msg: Option<String>,
    /// W3C trace context of the connection that produced it (set on a connection's first
    /// event, so one attacker connection is one trace from decky to database). Not part of
    /// the RFC 5424 line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// Why an event is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// A required part was never set on the builder.
    #[error("event is missing `{0}`")]
    Missing(&'static str),
    /// `decky`, `service` or `event_type` is empty, too long or not printable ASCII without spaces.
    #[error("`{field}` must be 1..={max} printable ASCII characters without spaces, got {value:?}")]
    BadToken {
        /// Which column.
        field: &'static str,
        /// The offending value.
        value: String,
        /// Its maximum length.
        max: usize,
    },
    /// A field name is not a valid RFC 5424 SD-NAME.
    #[error(
        "field name {0:?} must be 1..=32 printable ASCII characters other than space, `=`, `]` and `\"`"
    )]
    BadFieldName(String),
    /// A field name collides with one of [`RESERVED_FIELDS`].
    #[error("field name {0:?} is reserved for the event's own columns")]
    ReservedFieldName(String),
    /// CBOR encoding or decoding failed.
    #[error("CBOR: {0}")]
    Cbor(String),
}

/// Whether `token` fits an RFC 5424 header field of at most `max` bytes.
pub(crate) fn is_header_token(token: &str, max: usize) -> bool {
    !token.is_empty() && token.len() <= max && token.bytes().all(|b| (33..=126).contains(&b))
}

/// Whether `name` is a valid RFC 5424 SD-NAME (and so a valid field name).
pub fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FIELD_NAME_LEN
        && name
            .bytes()
            .all(|b| (33..=126).contains(&b) && b != b'=' && b != b']' && b != b'"')
}

impl Event {
    /// Starts an event; see [`EventBuilder`].
    pub fn builder() -> EventBuilder {
        EventBuilder::default()
    }

    /// Checks the rules that make the RFC 5424 form round-trip exactly.
    pub fn validate(&self) -> Result<(), EventError> {
        for (field, value, max) in [
            ("decky", &self.decky, MAX_DECKY_LEN),
            ("service", &self.service, MAX_SERVICE_LEN),
            ("event_type", &self.event_type, MAX_EVENT_TYPE_LEN),
        ] {
            if !is_header_token(value, max) {
                return Err(EventError::BadToken {
                    field,
                    value: value.clone(),
                    max,
                });
            }
        }
        for name in self.fields.keys() {
            check_field_name(name)?;
        }
        Ok(())
    }

    /// Fills the universal credential fields (`principal`, `secret_kind`,
    /// `secret_printable`, `secret_b64`, `outcome`).
    pub fn credential(
        &mut self,
        principal: &str,
        secret_kind: &str,
        secret: &[u8],
        outcome: Outcome,
    ) -> &mut Self {
        for (k, v) in credential::fields(principal, secret_kind, secret, outcome) {
            self.fields.insert(k.to_owned(), v);
        }
        self
    }

    /// The wire form: CBOR.
    pub fn to_cbor(&self) -> Result<Vec<u8>, EventError> {
        let mut out = Vec::with_capacity(256);
        ciborium::into_writer(self, &mut out).map_err(|e| EventError::Cbor(e.to_string()))?;
        Ok(out)
    }

    /// Decodes the wire form; never panics on arbitrary bytes.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, EventError> {
        ciborium::from_reader(bytes).map_err(|e| EventError::Cbor(e.to_string()))
    }

    /// The attacker's address as one value.
    pub fn src(&self) -> SocketAddr {
        SocketAddr::new(self.src_ip, self.src_port)
    }
}

fn check_field_name(name: &str) -> Result<(), EventError> {
    if RESERVED_FIELDS.contains(&name) {
        return Err(EventError::ReservedFieldName(name.to_owned()));
    }
    if !is_field_name(name) {
        return Err(EventError::BadFieldName(name.to_owned()));
    }
    Ok(())
}

/// Builds a validated [`Event`]; `id` and `ts` default to a fresh UUIDv7 and now.
#[derive(Debug, Clone, Default)]
pub struct EventBuilder {
    id: Option<Uuid>,
    ts: Option<OffsetDateTime>,
    host: String,
    decky: Option<String>,
    service: Option<String>,
    event_type: Option<String>,
    src_ip: Option<IpAddr>,
    src_port: u16,
    dst_port: u16,
    session_id: Option<String>,
    fields: BTreeMap<String, String>,
    msg: Option<String>,
    traceparent: Option<String>,
}

impl EventBuilder {
    /// Sets the id (default: a fresh UUIDv7).
    pub fn id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the time (default: now); it is stored in UTC at µs precision.
    pub fn ts(mut self, ts: OffsetDateTime) -> Self {
        self.ts = Some(ts);
        self
    }

    /// Sets the sensor host.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Sets the decky name.
    pub fn decky(mut self, decky: impl Into<String>) -> Self {
        self.decky = Some(decky.into());
        self
    }

    /// Sets the service slug.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Sets the event type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Sets the attacker address and port.
    pub fn src(mut self, src: SocketAddr) -> Self {
        self.src_ip = Some(src.ip());
        self.src_port = src.port();
        self
    }

    /// Sets the attacker address only.
    pub fn src_ip(mut self, ip: IpAddr) -> Self {
        self.src_ip = Some(ip);
        self
    }

    /// Sets the decky port.
    pub fn dst_port(mut self, port: u16) -> Self {
        self.dst_port = port;
        self
    }

    /// Sets the session id.
    pub fn session_id(mut self, sid: impl Into<String>) -> Self {
        self.session_id = Some(sid.into());
        self
    }

    /// Adds (or replaces) one field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Adds the universal credential fields.
    pub fn credential(
        mut self,
        principal: &str,
        secret_kind: &str,
        secret: &[u8],
        outcome: Outcome,
    ) -> Self {
        for (k, v) in credential::fields(principal, secret_kind, secret, outcome) {
            self.fields.insert(k.to_owned(), v);
        }
        self
    }

    /// Sets the free-text message.
    pub fn msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// Sets the W3C trace context (`traceparent`) of the producing connection.
    pub fn traceparent(mut self, traceparent: Option<String>) -> Self {
        self.traceparent = traceparent;
        self
    }

    /// Validates and returns the event.
    pub fn build(self) -> Result<Event, EventError> {
        let event = Event {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            ts: self
                .ts
                .map(crate::timestamp::truncate)
                .unwrap_or_else(crate::timestamp::now),
            host: self.host,
            decky: self.decky.ok_or(EventError::Missing("decky"))?,
            service: self.service.ok_or(EventError::Missing("service"))?,
            event_type: self.event_type.ok_or(EventError::Missing("event_type"))?,
            src_ip: self.src_ip.ok_or(EventError::Missing("src_ip"))?,
            src_port: self.src_port,
            dst_port: self.dst_port,
            session_id: self.session_id,
            fields: self.fields,
            msg: self.msg,
            traceparent: self.traceparent,
        };
        event.validate()?;
        Ok(event)
    }
}

/// The address used when a foreign line names no attacker at all.
pub(crate) const UNKNOWN_IP: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> EventBuilder {
        Event::builder()
            .decky("decky-01")
            .service("redis")
            .event_type("connect")
            .src("203.0.113.7:51234".parse().unwrap())
            .dst_port(6379)
    }

    #[test]
    fn builder_fills_id_and_ts() {
        let e = base().build().unwrap();
        assert_eq!(e.id.get_version_num(), 7);
        assert_eq!(e.ts.nanosecond() % 1_000, 0);
        assert_eq!(e.ts.offset(), time::UtcOffset::UTC);
        assert_eq!(e.src().to_string(), "203.0.113.7:51234");
    }

    #[test]
    fn builder_names_what_is_missing_or_wrong() {
        assert_eq!(
            Event::builder().decky("d").service("s").build(),
            Err(EventError::Missing("event_type"))
        );
        assert!(matches!(
            base().service("has space").build(),
            Err(EventError::BadToken {
                field: "service",
                ..
            })
        ));
        assert_eq!(
            base().field("src_ip", "1.2.3.4").build(),
            Err(EventError::ReservedFieldName("src_ip".into()))
        );
        assert_eq!(
            base().field("a=b", "x").build(),
            Err(EventError::BadFieldName("a=b".into()))
        );
    }

    #[test]
    fn credential_fills_the_universal_fields() {
        let e = base()
            .event_type("auth")
            .credential("root", "plaintext", b"to\x01or", Outcome::Failure)
            .build()
            .unwrap();
        assert_eq!(e.fields["principal"], "root");
        assert_eq!(e.fields["secret_kind"], "plaintext");
        assert_eq!(e.fields["secret_printable"], "to?or");
        assert_eq!(e.fields["secret_b64"], "dG8Bb3I=");
        assert_eq!(e.fields["outcome"], "failure");
    }
}
