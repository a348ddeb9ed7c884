#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use bytes::Bytes;
use decnet_event::{Event, Outcome};
use time::OffsetDateTime;

use super::derive::{derive, hour_of, parse_sha256};
use super::sink::decode;
use super::{Rejected, screen};

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000 + secs).unwrap()
}

fn ev(secs: i64, ip: &str, decky: &str, service: &str, kind: &str) -> decnet_event::EventBuilder {
    Event::builder()
        .ts(at(secs))
        .decky(decky)
        .service(service)
        .event_type(kind)
        .src(format!("{ip}:40000").parse().unwrap())
        .dst_port(22)
}

#[test]
fn attackers_fold_counts_sets_and_first_target() {
    let events = [
        ev(5, "10.0.0.1", "d2", "http", "request").build().unwrap(),
        ev(1, "10.0.0.1", "d1", "ssh", "connect").build().unwrap(),
        ev(3, "10.0.0.1", "d1", "ssh", "command").build().unwrap(),
        ev(2, "10.0.0.2", "d1", "ssh", "connect").build().unwrap(),
    ];
    let d = derive(&events);
    let a = &d.attackers[&"10.0.0.1".parse().unwrap()];
    assert_eq!((a.first, a.last, a.events), (at(1), at(5), 3));
    assert_eq!(a.services.iter().collect::<Vec<_>>(), ["http", "ssh"]);
    assert_eq!(a.deckies.iter().collect::<Vec<_>>(), ["d1", "d2"]);
    assert_eq!(
        (a.first_decky.as_str(), a.first_service.as_str()),
        ("d1", "ssh")
    );
    assert_eq!(d.attackers.len(), 2);
    assert_eq!(d.hourly_events.values().sum::<i64>(), 4);
    assert_eq!(hour_of(at(0)) % 3600, 0);
}

#[test]
fn credentials_dedup_by_secret_hash_and_collect_targets() {
    let login = |s, decky, principal: &str, pw: &[u8], o| {
        ev(s, "10.0.0.9", decky, "ssh", "login_attempt")
            .credential(principal, "plaintext", pw, o)
            .build()
            .unwrap()
    };
    let mut bad = ev(9, "10.0.0.9", "d1", "ssh", "login_attempt")
        .build()
        .unwrap();
    bad.fields.insert("secret_b64".into(), "not base64!".into());
    let events = [
        login(1, "d1", "root", b"toor", Outcome::Failure),
        login(2, "d1", "root", b"toor", Outcome::Success),
        login(3, "d2", "admin", b"toor", Outcome::Failure),
        login(4, "d2", "admin", b"\xff\x00", Outcome::Unknown),
        bad,
    ];
    let d = derive(&events);
    assert_eq!(d.credentials.len(), 3);
    assert_eq!(d.bad_credentials, 1);
    let root = d
        .credentials
        .iter()
        .find(|(k, _)| k.principal == "root")
        .unwrap()
        .1;
    assert_eq!((root.attempts, root.successes), (2, 1));
    assert_eq!(root.last_outcome.as_deref(), Some("success"));
    let toor =
        parse_sha256("ce5ca673d13b36118d54a7cf13aeb0ca012383bf771e713421b4d1fd841f539a").unwrap();
    let s = &d.secrets[&(toor, "plaintext".to_owned())];
    assert_eq!(s.attempts, 3);
    assert_eq!(s.targets.iter().collect::<Vec<_>>(), ["d1 ssh", "d2 ssh"]);
    assert_eq!(s.principals.iter().collect::<Vec<_>>(), ["admin", "root"]);
    assert_eq!(d.principals["root"].attempts, 2);
    let binary = d
        .credentials
        .keys()
        .find(|k| k.principal == "admin" && k.sha256 != toor);
    assert!(binary.is_some());
}

#[test]
fn sessions_start_end_and_recording() {
    let events = [
        ev(1, "10.0.0.3", "d1", "ssh", "connect")
            .session_id("s1")
            .build()
            .unwrap(),
        ev(2, "10.0.0.3", "d1", "ssh", "command")
            .session_id("s1")
            .build()
            .unwrap(),
        ev(4, "10.0.0.3", "d1", "ssh", "disconnect")
            .session_id("s1")
            .build()
            .unwrap(),
        ev(5, "10.0.0.3", "d1", "ssh", "session_recorded")
            .session_id("s1")
            .field("shard", "d1/ssh/transcripts/sessions-2025-06-15.jsonl")
            .field("bytes", "1234")
            .field("truncated", "true")
            .build()
            .unwrap(),
        ev(3, "10.0.0.4", "d1", "redis", "connect")
            .session_id("s2")
            .build()
            .unwrap(),
        ev(3, "10.0.0.4", "d1", "redis", "connect").build().unwrap(),
    ];
    let d = derive(&events);
    assert_eq!(d.sessions.len(), 2);
    let s1 = &d.sessions["s1"];
    assert_eq!((s1.first, s1.last, s1.events), (at(1), at(5), 4));
    assert_eq!(s1.ended, Some(at(4)), "the earliest end");
    assert_eq!(
        s1.shard.as_deref(),
        Some("d1/ssh/transcripts/sessions-2025-06-15.jsonl")
    );
    assert_eq!((s1.bytes, s1.truncated), (Some(1234), true));
    assert_eq!(d.sessions["s2"].ended, None);
}

#[test]
fn artifacts_need_a_valid_sha256() {
    let sha = "ab".repeat(32);
    let events = [
        ev(1, "10.0.0.5", "d1", "ssh", "file_captured")
            .field("sha256", sha.clone())
            .field("size", "42")
            .field("orig_path", "/tmp/x")
            .build()
            .unwrap(),
        ev(2, "10.0.0.5", "d1", "ssh", "file_captured")
            .field("sha256", sha.to_uppercase())
            .field("orig_path", "/tmp/x")
            .build()
            .unwrap(),
        ev(3, "10.0.0.5", "d1", "ssh", "file_captured")
            .field("sha256", "short")
            .build()
            .unwrap(),
    ];
    let d = derive(&events);
    assert_eq!(d.artifacts.len(), 1);
    let (key, a) = d.artifacts.iter().next().unwrap();
    assert_eq!(key.origin, "/tmp/x");
    assert_eq!((a.seen, a.size), (2, Some(42)));
}

#[test]
fn screening_rejects_invalid_and_nul_and_drops_repeated_ids() {
    let good = ev(1, "10.0.0.1", "d1", "ssh", "connect").build().unwrap();
    let mut nul = ev(2, "10.0.0.1", "d1", "ssh", "connect").build().unwrap();
    nul.msg = Some("a\0b".into());
    let mut invalid = ev(3, "10.0.0.1", "d1", "ssh", "connect").build().unwrap();
    invalid.service = "has space".into();
    let mut rejected: Vec<Rejected> = Vec::new();
    let kept = screen(
        vec![good.clone(), nul, invalid, good.clone()],
        &mut rejected,
    );
    assert_eq!(kept, [good]);
    assert_eq!(rejected.len(), 2);
    assert!(rejected[0].reason.contains("NUL"));
    assert!(rejected[1].reason.contains("service"));
    let back = Event::from_cbor(&rejected[1].raw).unwrap();
    assert_eq!(back.service, "has space");
}

#[test]
fn undecodable_records_are_rejected_with_their_bytes() {
    let good = ev(1, "10.0.0.1", "d1", "ssh", "connect").build().unwrap();
    let (events, rejected) = decode(vec![
        (7, Bytes::from(good.to_cbor().unwrap())),
        (8, Bytes::from_static(b"\xff\x00garbage")),
    ]);
    assert_eq!(events, [good]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].seq, Some(8));
    assert_eq!(rejected[0].raw, b"\xff\x00garbage");
    assert!(!rejected[0].reason.is_empty());
}

#[test]
fn derived_maps_are_key_ordered_for_lock_order() {
    let events: Vec<Event> = (0..50)
        .map(|i| {
            ev(
                i,
                &format!("10.0.{}.{}", i % 7, 50 - i),
                "d1",
                "ssh",
                "connect",
            )
            .session_id(format!("s{}", 50 - i))
            .build()
            .unwrap()
        })
        .collect();
    let d = derive(&events);
    let ips: Vec<_> = d.attackers.keys().collect();
    let mut sorted = ips.clone();
    sorted.sort();
    assert_eq!(ips, sorted);
    let m: BTreeMap<_, _> = d.sessions.iter().collect();
    assert_eq!(m.len(), 50);
}
