//! The bus envelope: `{v, id, topic, type, ts, payload, traceparent?}`.
//!
//! The payload is kept as the encoded bytes of one CBOR item ([`Payload`]):
//! a publisher encodes it once, the broker shares it by reference with every
//! in-process subscriber and writes it into socket frames without decoding it,
//! and each subscriber decodes it into its own type.

use std::borrow::Borrow;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rand::RngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::bus::frame::MAX_BODY_LEN;
use crate::cbor::{CborError, validate_item};
use crate::topic::Topic;

/// Version written into the `v` field of every envelope.
pub const ENVELOPE_VERSION: u64 = 1;

/// Largest payload accepted, in bytes: the envelope's own fields must still
/// fit in a frame body of [`MAX_BODY_LEN`].
pub const MAX_PAYLOAD_LEN: usize = MAX_BODY_LEN - 8 * 1024;

/// Longest event type accepted, in bytes.
pub const MAX_KIND_LEN: usize = 256;

/// Longest `traceparent` accepted, in bytes (a valid one is 55).
pub const MAX_TRACEPARENT_LEN: usize = 256;

/// Why an envelope or payload could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The payload bytes are not exactly one well-formed CBOR item.
    #[error("payload is not one CBOR item: {0}")]
    Cbor(#[from] CborError),
    /// Serialising a value into CBOR failed.
    #[error("payload could not be encoded: {0}")]
    Encode(String),
    /// Deserialising the payload into the requested type failed.
    #[error("payload could not be decoded: {0}")]
    Decode(String),
    /// The payload exceeds [`MAX_PAYLOAD_LEN`].
    #[error("payload is {0} bytes, the limit is {MAX_PAYLOAD_LEN}")]
    PayloadTooLarge(usize),
    /// The event type is empty or longer than [`MAX_KIND_LEN`].
    #[error("event type must be 1..={MAX_KIND_LEN} bytes, got {0}")]
    BadKind(usize),
    /// The traceparent is longer than [`MAX_TRACEPARENT_LEN`].
    #[error("traceparent is {0} bytes, the limit is {MAX_TRACEPARENT_LEN}")]
    BadTraceparent(usize),
}

#[derive(Clone)]
enum KindRepr {
    Static(&'static str),
    Shared(Arc<str>),
}

/// The envelope's `type`: what kind of event this is. Cheap to clone.
#[derive(Clone)]
pub struct EventKind(KindRepr);

impl EventKind {
    /// A type known at compile time; never allocates.
    pub const fn from_static(s: &'static str) -> EventKind {
        EventKind(KindRepr::Static(s))
    }

    /// The type as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            KindRepr::Static(s) => s,
            KindRepr::Shared(s) => s,
        }
    }
}

impl From<&'static str> for EventKind {
    fn from(s: &'static str) -> Self {
        EventKind::from_static(s)
    }
}

impl From<String> for EventKind {
    fn from(s: String) -> Self {
        EventKind(KindRepr::Shared(Arc::from(s)))
    }
}

impl From<Arc<str>> for EventKind {
    fn from(s: Arc<str>) -> Self {
        EventKind(KindRepr::Shared(s))
    }
}

impl PartialEq for EventKind {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for EventKind {}

impl PartialEq<str> for EventKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Borrow<str> for EventKind {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// The encoded bytes of exactly one CBOR item. Cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload(Bytes);

/// CBOR `null`.
const NULL: &[u8] = &[0xf6];

impl Payload {
    /// Encodes a value as CBOR.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Payload, EnvelopeError> {
        let mut out = Vec::with_capacity(64);
        ciborium::into_writer(value, &mut out).map_err(|e| EnvelopeError::Encode(e.to_string()))?;
        Ok(Payload(Bytes::from(out)))
    }

    /// Wraps bytes that must hold exactly one well-formed CBOR item.
    pub fn from_cbor(bytes: impl Into<Bytes>) -> Result<Payload, EnvelopeError> {
        let bytes = bytes.into();
        validate_item(&bytes)?;
        Ok(Payload(bytes))
    }

    /// Wraps bytes the caller has just validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Payload {
        Payload(bytes)
    }

    /// The CBOR `null` payload.
    pub fn null() -> Payload {
        Payload(Bytes::from_static(NULL))
    }

    /// Decodes the payload into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        ciborium::from_reader(&self.0[..]).map_err(|e| EnvelopeError::Decode(e.to_string()))
    }

    /// Decodes the payload into a generic CBOR value.
    pub fn to_value(&self) -> Result<ciborium::Value, EnvelopeError> {
        self.decode()
    }

    /// The encoded CBOR item.
    pub fn as_cbor(&self) -> &[u8] {
        &self.0
    }

    /// The encoded CBOR item, by reference-counted handle.
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }

    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a payload holds one item, at least one byte.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes of CBOR)", self.0.len())
    }
}

/// A fresh UUIDv7 and the matching timestamp in µs since the Unix epoch (UTC).
///
/// The random bits come from the thread-local generator rather than the OS,
/// so minting an id costs no system call.
pub fn new_id_and_ts() -> (Uuid, i64) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    let millis = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    let micros = i64::try_from(since.as_micros()).unwrap_or(i64::MAX);
    (id, micros)
}

/// One bus event. Immutable once built; shared as `Arc<Envelope>` by every
/// subscriber it is delivered to.
pub struct Envelope {
    id: Uuid,
    topic: Topic,
    kind: EventKind,
    ts: i64,
    payload: Payload,
    traceparent: Option<String>,
    /// The `EVT` frame, encoded on first use and reused for every socket subscriber.
    frame: OnceLock<Bytes>,
}

impl Envelope {
    /// A new envelope with a fresh id and the current time.
    pub fn new(
        topic: Topic,
        kind: impl Into<EventKind>,
        payload: Payload,
    ) -> Result<Envelope, EnvelopeError> {
        let (id, ts) = new_id_and_ts();
        Envelope::restore(id, topic, kind.into(), ts, payload, None)
    }

    /// Rebuilds an envelope from fields received elsewhere (a socket, a
    /// federation link), keeping its id and timestamp.
    pub fn restore(
        id: Uuid,
        topic: Topic,
        kind: EventKind,
        ts: i64,
        payload: Payload,
        traceparent: Option<String>,
    ) -> Result<Envelope, EnvelopeError> {
        let kind_len = kind.as_str().len();
        if kind_len == 0 || kind_len > MAX_KIND_LEN {
            return Err(EnvelopeError::BadKind(kind_len));
        }
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(EnvelopeError::PayloadTooLarge(payload.len()));
        }
        if let Some(tp) = &traceparent
            && tp.len() > MAX_TRACEPARENT_LEN
        {
            return Err(EnvelopeError::BadTraceparent(tp.len()));
        }
        Ok(Envelope {
            id,
            topic,
            kind,
            ts,
            payload,
            traceparent,
            frame: OnceLock::new(),
        })
    }

    /// The same envelope carrying a W3C `traceparent`.
    pub fn with_traceparent(mut self, traceparent: Option<String>) -> Result<Self, EnvelopeError> {
        if let Some(tp) = &traceparent
            && tp.len() > MAX_TRACEPARENT_LEN
        {
            return Err(EnvelopeError::BadTraceparent(tp.len()));
        }
        self.traceparent = traceparent;
        self.frame = OnceLock::new();
        Ok(self)
    }

    /// Envelope format version (`v`).
    pub fn version(&self) -> u64 {
        ENVELOPE_VERSION
    }

    /// Unique event id (UUIDv7, so ids sort by creation time).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The topic the event was published on.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// The event type (`type`).
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// Publication time in µs since the Unix epoch, UTC.
    pub fn ts_micros(&self) -> i64 {
        self.ts
    }

    /// Publication time as a UTC date-time.
    pub fn timestamp(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.ts) * 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// The encoded payload.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Decodes the payload into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        self.payload.decode()
    }

    /// The W3C trace context of the publisher's span, if it had one.
    pub fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }

    /// The `EVT` frame for this envelope, encoded once and then shared.
    pub(crate) fn evt_frame(&self) -> &Bytes {
        self.frame
            .get_or_init(|| crate::bus::wire::encode_evt(self))
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("id", &self.id)
            .field("topic", &self.topic)
            .field("type", &self.kind)
            .field("ts", &self.ts)
            .field("payload", &self.payload)
            .field("traceparent", &self.traceparent)
            .finish()
    }
}

impl Clone for Envelope {
    fn clone(&self) -> Self {
        Envelope {
            id: self.id,
            topic: self.topic.clone(),
            kind: self.kind.clone(),
            ts: self.ts,
            payload: self.payload.clone(),
            traceparent: self.traceparent.clone(),
            frame: self.frame.clone(),
        }
    }
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.topic == other.topic
            && self.kind == other.kind
            && self.ts == other.ts
            && self.payload == other.payload
            && self.traceparent == other.traceparent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::system;

    #[test]
    fn ids_are_v7_and_time_ordered() {
        let (a, ta) = new_id_and_ts();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let (b, tb) = new_id_and_ts();
        assert_eq!(a.get_version_num(), 7);
        assert!(b > a);
        assert!(tb > ta);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((ta / 1_000_000 - now).abs() < 5);
    }

    #[test]
    fn payload_roundtrip_and_validation() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct P {
            a: u32,
            b: String,
        }
        let p = Payload::encode(&P {
            a: 7,
            b: "x".into(),
        })
        .unwrap();
        assert_eq!(
            p.decode::<P>().unwrap(),
            P {
                a: 7,
                b: "x".into()
            }
        );
        assert!(Payload::from_cbor(p.to_bytes()).is_ok());
        assert!(Payload::from_cbor(Bytes::from_static(&[0xa1])).is_err());
        assert!(Payload::from_cbor(Bytes::new()).is_err());
        assert_eq!(Payload::null().to_value().unwrap(), ciborium::Value::Null);
    }

    #[test]
    fn limits_are_enforced() {
        let t = system::log();
        assert!(matches!(
            Envelope::new(t.clone(), "", Payload::null()),
            Err(EnvelopeError::BadKind(0))
        ));
        let big = Payload::encode(&serde_bytes_like(MAX_PAYLOAD_LEN)).unwrap();
        assert!(matches!(
            Envelope::new(t.clone(), "k", big),
            Err(EnvelopeError::PayloadTooLarge(_))
        ));
        let e = Envelope::new(t, "k", Payload::null()).unwrap();
        assert!(matches!(
            e.with_traceparent(Some("x".repeat(300))),
            Err(EnvelopeError::BadTraceparent(300))
        ));
    }

    fn serde_bytes_like(n: usize) -> ciborium::Value {
        ciborium::Value::Bytes(vec![0; n])
    }

    #[test]
    fn timestamp_is_utc_microseconds() {
        let e = Envelope::new(system::log(), "k", Payload::null()).unwrap();
        let dt = e.timestamp();
        assert_eq!(dt.offset(), time::UtcOffset::UTC);
        assert_eq!(
            i64::try_from(dt.unix_timestamp_nanos() / 1000).unwrap(),
            e.ts_micros()
        );
    }
}
