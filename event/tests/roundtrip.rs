//! Property tests: every valid event survives RFC 5424, CBOR and JSON unchanged,
//! and the parser is total on arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;
use std::net::IpAddr;

use decnet_event::{Event, RESERVED_FIELDS, rfc5424};
use proptest::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

fn header_token(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[!-~]{{1,{max}}}")).unwrap()
}

fn field_name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[!#-<>-\\\\^-~]{1,32}")
        .unwrap()
        .prop_filter("reserved", |n| !RESERVED_FIELDS.contains(&n.as_str()))
}

/// Values deliberately rich in the characters the escaping must handle.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::string::string_regex("[\\\\\"\\]\\[\r\n =\u{feff}é日\u{0}-\u{1f}]{0,24}")
            .unwrap(),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (
        (
            any::<u128>(),
            0i64..4_102_444_800_000_000,
            value(),
            header_token(255),
            header_token(48),
            header_token(32),
        ),
        (
            any::<IpAddr>(),
            any::<u16>(),
            any::<u16>(),
            proptest::option::of(value()),
            proptest::collection::btree_map(field_name(), value(), 0..6),
            proptest::option::of(value()),
        ),
    )
        .prop_map(
            |(
                (id, micros, host, decky, service, event_type),
                (src_ip, src_port, dst_port, session_id, fields, msg),
            )| {
                let ts =
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).unwrap();
                Event {
                    id: Uuid::from_u128(id),
                    ts,
                    host,
                    decky,
                    service,
                    event_type,
                    src_ip,
                    src_port,
                    dst_port,
                    session_id,
                    fields: fields.into_iter().collect::<BTreeMap<_, _>>(),
                    msg,
                    traceparent: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn rfc5424_round_trip(e in event()) {
        prop_assert!(e.validate().is_ok());
        let line = rfc5424::render(&e);
        prop_assert!(!line.contains('\n') && !line.contains('\r'), "line split: {line:?}");
        let parsed = rfc5424::parse(&line).map_err(|err| TestCaseError::fail(format!("{err}: {line:?}")))?;
        prop_assert!(parsed.is_decnet());
        prop_assert_eq!(parsed.to_event(), e);
    }

    #[test]
    fn cbor_and_json_round_trip(e in event()) {
        let cbor = e.to_cbor().unwrap();
        prop_assert_eq!(Event::from_cbor(&cbor).unwrap(), e.clone());
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }

    #[test]
    fn parser_is_total_on_arbitrary_text(s in any::<String>()) {
        if let Ok(l) = rfc5424::parse(&s) {
            let _ = l.to_event();
        }
    }

    #[test]
    fn parser_is_total_on_mutated_lines(e in event(), cut in any::<prop::sample::Index>(), junk in value()) {
        let line = rfc5424::render(&e);
        let mut at = cut.index(line.len() + 1);
        while !line.is_char_boundary(at) { at -= 1; }
        let mutated = format!("{}{}", &line[..at], junk);
        if let Ok(l) = rfc5424::parse(&mutated) {
            let _ = l.to_event();
        }
        let _ = rfc5424::parse_bytes(&mutated.as_bytes()[..at]);
    }

    #[test]
    fn cbor_decoder_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Event::from_cbor(&bytes);
    }
}

#[test]
fn json_shape_uses_rfc3339_micros_and_plain_columns() {
    let e = Event::builder()
        .id(Uuid::from_u128(1))
        .ts(time::macros::datetime!(2026-04-24 16:24:33.123456789 UTC))
        .decky("d")
        .service("mysql")
        .event_type("auth")
        .src("[2001:db8::1]:4000".parse().unwrap())
        .dst_port(3306)
        .build()
        .unwrap();
    let v: serde_json::Value = serde_json::to_value(&e).unwrap();
    assert_eq!(v["ts"], "2026-04-24T16:24:33.123456+00:00");
    assert_eq!(v["id"], "00000000-0000-0000-0000-000000000001");
    assert_eq!(v["src_ip"], "2001:db8::1");
    assert_eq!(v["session_id"], serde_json::Value::Null);
    // The CBOR form carries the timestamp as the same text.
    let cbor = e.to_cbor().unwrap();
    let needle = b"2026-04-24T16:24:33.123456+00:00";
    assert!(cbor.windows(needle.len()).any(|w| w == needle));
}
