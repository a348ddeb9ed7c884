//! Frame bodies: the `PUB` body `{type, payload, traceparent?}` and the
//! envelope `{v, id, topic, type, ts, payload, traceparent?}` carried by `EVT`.
//!
//! Both are CBOR maps with text keys; unknown keys are skipped so either side
//! can grow fields. The payload is copied as raw bytes, never decoded.

use bytes::{BufMut, Bytes, BytesMut};
use ciborium_ll::Header;
use uuid::Uuid;

use super::frame::{self, Verb};
use crate::cbor::{self, CborError, MAJOR_MAP, Reader};
use crate::envelope::{ENVELOPE_VERSION, Envelope, EnvelopeError, EventKind, Payload};
use crate::topic::{Topic, TopicError};

/// Why a frame body could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The body is not the CBOR map expected.
    #[error("body: {0}")]
    Cbor(#[from] CborError),
    /// A required field is absent.
    #[error("body lacks the {0:?} field")]
    Missing(&'static str),
    /// A field has a value it may not have.
    #[error("field {0:?} is invalid")]
    Invalid(&'static str),
    /// The envelope version is not one this code speaks.
    #[error("unsupported envelope version {0}")]
    Version(i64),
    /// The topic in the body or header is invalid, or the two disagree.
    #[error("topic: {0}")]
    Topic(#[from] TopicError),
    /// The envelope breaks a size rule.
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
}

/// Reuses the previous topic and type when the next message repeats them,
/// which is the common case for a publisher or subscriber stream.
#[derive(Debug, Default)]
pub struct Interner {
    topic: Option<Topic>,
    kind: Option<EventKind>,
}

impl Interner {
    /// The topic named by `text`, parsed only when it differs from the last one.
    pub fn topic(&mut self, text: &str) -> Result<Topic, TopicError> {
        if let Some(t) = &self.topic
            && t.as_str() == text
        {
            return Ok(t.clone());
        }
        let t = Topic::parse(text)?;
        self.topic = Some(t.clone());
        Ok(t)
    }

    fn kind(&mut self, text: &str) -> EventKind {
        if let Some(k) = &self.kind
            && k.as_str() == text
        {
            return k.clone();
        }
        let k = EventKind::from(text.to_owned());
        self.kind = Some(k.clone());
        k
    }
}

/// The fields of a `PUB` body.
#[derive(Debug)]
pub struct PubBody {
    /// The event type.
    pub kind: EventKind,
    /// The payload (`null` when the client sent none).
    pub payload: Payload,
    /// The publisher's trace context.
    pub traceparent: Option<String>,
}

/// Appends a `PUB` frame. The caller has checked the topic and payload limits.
pub(crate) fn encode_pub(
    out: &mut BytesMut,
    topic: &Topic,
    kind: &str,
    payload: &Payload,
    traceparent: Option<&str>,
) {
    let at = frame::begin(out, Verb::Pub, Some(topic.as_str().as_bytes()));
    cbor::put_header(out, MAJOR_MAP, if traceparent.is_some() { 3 } else { 2 });
    cbor::put_text(out, "type");
    cbor::put_text(out, kind);
    cbor::put_text(out, "payload");
    out.put_slice(payload.as_cbor());
    if let Some(tp) = traceparent {
        cbor::put_text(out, "traceparent");
        cbor::put_text(out, tp);
    }
    frame::end(out, at);
}

/// Reads a `PUB` body; the payload is a zero-copy slice of `body`.
pub fn decode_pub(body: &Bytes, interner: &mut Interner) -> Result<PubBody, WireError> {
    let mut r = Reader::new(body);
    let entries = r.map()?;
    let mut kind = None;
    let mut payload = None;
    let mut traceparent = None;
    for _ in 0..entries {
        match r.text()? {
            "type" => kind = Some(interner.kind(r.text()?)),
            "payload" => payload = Some(r.item()?),
            "traceparent" => traceparent = optional_text(&mut r)?,
            _ => {
                r.item()?;
            }
        }
    }
    trailing(&r)?;
    Ok(PubBody {
        kind: kind.ok_or(WireError::Missing("type"))?,
        payload: payload.map_or_else(Payload::null, |range| {
            Payload::from_validated(body.slice(range))
        }),
        traceparent,
    })
}

fn optional_text(r: &mut Reader<'_>) -> Result<Option<String>, WireError> {
    if r.null()? {
        return Ok(None);
    }
    Ok(Some(r.text()?.to_owned()))
}

fn trailing(r: &Reader<'_>) -> Result<(), WireError> {
    match r.remaining() {
        0 => Ok(()),
        n => Err(CborError::Trailing(n).into()),
    }
}

/// Encodes the `EVT` frame of an envelope.
pub(crate) fn encode_evt(env: &Envelope) -> Bytes {
    let topic = env.topic().as_str();
    let kind = env.kind().as_str();
    let tp = env.traceparent();
    let capacity =
        2 * topic.len() + kind.len() + env.payload().len() + tp.map_or(0, str::len) + 128;
    let mut out = BytesMut::with_capacity(capacity);
    let at = frame::begin(&mut out, Verb::Evt, Some(topic.as_bytes()));
    encode_envelope(env, &mut out);
    frame::end(&mut out, at);
    out.freeze()
}

/// Appends the CBOR envelope map.
pub(crate) fn encode_envelope(env: &Envelope, out: &mut BytesMut) {
    let tp = env.traceparent();
    cbor::put_header(out, MAJOR_MAP, if tp.is_some() { 7 } else { 6 });
    cbor::put_text(out, "v");
    cbor::put_int(out, ENVELOPE_VERSION as i64);
    cbor::put_text(out, "id");
    let mut id = Uuid::encode_buffer();
    cbor::put_text(out, env.id().hyphenated().encode_lower(&mut id));
    cbor::put_text(out, "topic");
    cbor::put_text(out, env.topic().as_str());
    cbor::put_text(out, "type");
    cbor::put_text(out, env.kind().as_str());
    cbor::put_text(out, "ts");
    cbor::put_int(out, env.ts_micros());
    cbor::put_text(out, "payload");
    out.put_slice(env.payload().as_cbor());
    if let Some(tp) = tp {
        cbor::put_text(out, "traceparent");
        cbor::put_text(out, tp);
    }
}

/// Reads an envelope; the payload is a zero-copy slice of `body`.
pub fn decode_envelope(body: &Bytes) -> Result<Envelope, WireError> {
    decode_envelope_with(body, &mut Interner::default())
}

pub(crate) fn decode_envelope_with(
    body: &Bytes,
    interner: &mut Interner,
) -> Result<Envelope, WireError> {
    let mut r = Reader::new(body);
    let entries = r.map()?;
    let mut version = None;
    let mut id = None;
    let mut topic = None;
    let mut kind = None;
    let mut ts = None;
    let mut payload = None;
    let mut traceparent = None;
    for _ in 0..entries {
        match r.text()? {
            "v" => version = Some(r.int()?),
            "id" => id = Some(read_uuid(&mut r)?),
            "topic" => topic = Some(interner.topic(r.text()?)?),
            "type" => kind = Some(interner.kind(r.text()?)),
            "ts" => ts = Some(r.int()?),
            "payload" => payload = Some(r.item()?),
            "traceparent" => traceparent = optional_text(&mut r)?,
            _ => {
                r.item()?;
            }
        }
    }
    trailing(&r)?;
    match version {
        Some(v) if v == ENVELOPE_VERSION as i64 => {}
        Some(v) => return Err(WireError::Version(v)),
        None => return Err(WireError::Missing("v")),
    }
    let payload = payload.ok_or(WireError::Missing("payload"))?;
    Ok(Envelope::restore(
        id.ok_or(WireError::Missing("id"))?,
        topic.ok_or(WireError::Missing("topic"))?,
        kind.ok_or(WireError::Missing("type"))?,
        ts.ok_or(WireError::Missing("ts"))?,
        Payload::from_validated(body.slice(payload)),
        traceparent,
    )?)
}

fn read_uuid(r: &mut Reader<'_>) -> Result<Uuid, WireError> {
    match r.header()? {
        Header::Text(Some(len)) => {
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| CborError::NotUtf8)?;
            Uuid::try_parse(text).map_err(|_| WireError::Invalid("id"))
        }
        Header::Bytes(Some(16)) => {
            Uuid::from_slice(r.take(16)?).map_err(|_| WireError::Invalid("id"))
        }
        _ => Err(WireError::Invalid("id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::frame::FrameDecoder;
    use crate::topic::{decky, system};
    use proptest::prelude::*;

    fn envelope(tp: Option<&str>) -> Envelope {
        let payload = Payload::encode(&serde_json_like()).unwrap();
        Envelope::new(decky::traffic("d1").unwrap(), "sniffed", payload)
            .unwrap()
            .with_traceparent(tp.map(str::to_owned))
            .unwrap()
    }

    fn serde_json_like() -> ciborium::Value {
        ciborium::Value::Map(vec![(
            ciborium::Value::Text("n".into()),
            ciborium::Value::Integer(42.into()),
        )])
    }

    #[test]
    fn evt_frame_roundtrip() {
        for tp in [
            None,
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ] {
            let env = envelope(tp);
            let mut d = FrameDecoder::new();
            d.feed(env.evt_frame());
            let f = d.next_frame().unwrap().unwrap();
            assert_eq!(f.verb(), Verb::Evt);
            assert_eq!(f.arg(), Some(env.topic().as_str()));
            let back = decode_envelope(f.body()).unwrap();
            assert_eq!(back, env);
            // Readable by a generic CBOR decoder, with the documented keys.
            let v: ciborium::Value = ciborium::from_reader(&f.body()[..]).unwrap();
            let keys: Vec<String> = v
                .as_map()
                .unwrap()
                .iter()
                .map(|(k, _)| k.as_text().unwrap().to_owned())
                .collect();
            let mut expected = vec!["v", "id", "topic", "type", "ts", "payload"];
            if tp.is_some() {
                expected.push("traceparent");
            }
            assert_eq!(keys, expected);
        }
    }

    #[test]
    fn pub_body_roundtrip_and_unknown_keys() {
        let payload = Payload::encode(&vec![1u8, 2, 3]).unwrap();
        let mut out = BytesMut::new();
        encode_pub(&mut out, &system::log(), "line", &payload, Some("tp"));
        let mut d = FrameDecoder::new();
        d.feed(&out);
        let f = d.next_frame().unwrap().unwrap();
        let body = decode_pub(f.body(), &mut Interner::default()).unwrap();
        assert_eq!(body.kind, "line");
        assert_eq!(body.payload, payload);
        assert_eq!(body.traceparent.as_deref(), Some("tp"));

        // A foreign client: extra key, no payload, null traceparent.
        let v = ciborium::Value::Map(vec![
            (
                ciborium::Value::Text("x".into()),
                ciborium::Value::Bool(true),
            ),
            (
                ciborium::Value::Text("type".into()),
                ciborium::Value::Text("k".into()),
            ),
            (
                ciborium::Value::Text("traceparent".into()),
                ciborium::Value::Null,
            ),
        ]);
        let mut raw = Vec::new();
        ciborium::into_writer(&v, &mut raw).unwrap();
        let body = decode_pub(&Bytes::from(raw), &mut Interner::default()).unwrap();
        assert_eq!(body.payload, Payload::null());
        assert_eq!(body.traceparent, None);
    }

    #[test]
    fn bad_bodies_are_errors() {
        let mut i = Interner::default();
        assert!(decode_pub(&Bytes::new(), &mut i).is_err());
        assert!(decode_pub(&Bytes::from_static(&[0xa0]), &mut i).is_err()); // no type
        assert!(decode_pub(&Bytes::from_static(&[0x80]), &mut i).is_err()); // array
        assert!(decode_pub(&Bytes::from_static(&[0xa0, 0x00]), &mut i).is_err()); // trailing
        assert!(decode_envelope(&Bytes::from_static(&[0xa0])).is_err());
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let b = Bytes::from(bytes);
            let _ = decode_pub(&b, &mut Interner::default());
            let _ = decode_envelope(&b);
        }

        #[test]
        fn envelope_roundtrip(
            kind in "[a-z_]{1,20}",
            data in prop::collection::vec(any::<u8>(), 0..200),
            tp in prop::option::of("[0-9a-f-]{1,60}"),
        ) {
            let env = Envelope::new(system::log(), EventKind::from(kind), Payload::encode(&ciborium::Value::Bytes(data)).unwrap())
                .unwrap()
                .with_traceparent(tp)
                .unwrap();
            let mut out = BytesMut::new();
            encode_envelope(&env, &mut out);
            prop_assert_eq!(decode_envelope(&out.freeze()).unwrap(), env);
        }
    }
}
