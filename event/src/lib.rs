//! The DECNET attacker event: one interaction, its CBOR/JSON form and its RFC 5424 line.
//!
//! * [`Event`] is the contract of ARCHITECTURE.md: CBOR on the wire
//!   ([`Event::to_cbor`]), JSON in the API (plain serde), timestamps as RFC 3339
//!   strings in UTC with microseconds in both.
//! * [`credential`] holds the universal credential fields every service uses.
//! * [`rfc5424`] renders an event as the predecessor's syslog line and parses
//!   lines back, including lines from containers DECNET did not build.

pub mod credential;
mod event;
pub mod rfc5424;
pub mod timestamp;

pub use credential::Outcome;
pub use event::{
    Event, EventBuilder, EventError, MAX_DECKY_LEN, MAX_EVENT_TYPE_LEN, MAX_FIELD_NAME_LEN,
    MAX_SERVICE_LEN, RESERVED_FIELDS, is_field_name,
};
