//! The batch ingest against a real throwaway cluster: idempotency, derivation, bus notices.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use decnet_event::{Event, EventBuilder, Outcome};
use decnet_master::config::DatabaseConfig;
use decnet_master::ingest::{Ingest, MeshSink};
use decnet_master::store::Store;
use decnet_mesh::bus::{Broker, Bus};
use decnet_mesh::quic::EventSink;
use decnet_mesh::topic::{attacker, credential, system};
use decnet_pgcluster::TestCluster;
use time::OffsetDateTime;

async fn store(db: &TestCluster) -> Store {
    let (_, config) = db.create_unique_database().await.unwrap();
    let settings = DatabaseConfig {
        connect_attempts: 2,
        connect_backoff: Duration::from_millis(10),
        ..DatabaseConfig::default()
    };
    let store = Store::connect(config, &settings).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000 + secs).unwrap()
}

fn ev(secs: i64, ip: &str, decky: &str, service: &str, kind: &str) -> EventBuilder {
    Event::builder()
        .ts(at(secs))
        .host("sensor-1")
        .decky(decky)
        .service(service)
        .event_type(kind)
        .src(format!("{ip}:40000").parse().unwrap())
        .dst_port(22)
}

fn login(secs: i64, ip: &str, decky: &str, principal: &str, pw: &str) -> Event {
    ev(secs, ip, decky, "ssh", "login_attempt")
        .session_id(format!("{ip}-{decky}"))
        .credential(principal, "plaintext", pw.as_bytes(), Outcome::Failure)
        .build()
        .unwrap()
}

/// A batch touching every derived table.
fn mixed_batch() -> Vec<Event> {
    let sid = "10.0.0.1-d1";
    vec![
        ev(0, "10.0.0.1", "d1", "ssh", "connect")
            .session_id(sid)
            .build()
            .unwrap(),
        login(1, "10.0.0.1", "d1", "root", "toor"),
        login(2, "10.0.0.1", "d1", "root", "toor"),
        login(3, "10.0.0.1", "d1", "admin", "123456"),
        ev(4, "10.0.0.1", "d1", "ssh", "command")
            .session_id(sid)
            .field("cmd", "uname -a")
            .msg("CMD uname -a")
            .build()
            .unwrap(),
        ev(5, "10.0.0.1", "d1", "ssh", "file_captured")
            .session_id(sid)
            .field("sha256", "ab".repeat(32))
            .field("size", "42")
            .field("orig_path", "/tmp/x.sh")
            .build()
            .unwrap(),
        ev(6, "10.0.0.1", "d1", "ssh", "disconnect")
            .session_id(sid)
            .build()
            .unwrap(),
        ev(7, "10.0.0.1", "d1", "ssh", "session_recorded")
            .session_id(sid)
            .field("shard", "d1/ssh/transcripts/sessions-2025-06-15.jsonl")
            .field("bytes", "999")
            .build()
            .unwrap(),
        ev(8, "10.0.0.2", "d2", "http", "request")
            .field("path", "/.env")
            .build()
            .unwrap(),
    ]
}

const TABLES: [(&str, &str); 10] = [
    ("events", "ts, id"),
    ("attackers", "ip"),
    ("credentials", "id"),
    ("credential_secrets", "secret_sha256"),
    ("credential_principals", "principal"),
    ("sessions", "sid"),
    ("artifacts", "id"),
    ("ingest_hourly", "hour"),
    ("rejected_events", "id"),
    ("deckies", "name"),
];

/// Every row of every ingest table, as text.
async fn snapshot(store: &Store) -> BTreeMap<&'static str, String> {
    let client = store.pool().get().await.unwrap();
    let mut out = BTreeMap::new();
    for (table, order) in TABLES {
        let row = client
            .query_one(
                &format!(
                    "SELECT coalesce(json_agg(t ORDER BY {order})::text, '[]') FROM {table} t"
                ),
                &[],
            )
            .await
            .unwrap();
        out.insert(table, row.get::<_, String>(0));
    }
    out
}

async fn count(store: &Store, sql: &str) -> i64 {
    let client = store.pool().get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_same_batch_twice_gives_the_same_rows() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    let batch = mixed_batch();

    let first = ingest.commit("sensor-1", batch.clone()).await.unwrap();
    assert_eq!((first.inserted, first.duplicates), (9, 0));
    assert_eq!(first.new_attackers.len(), 2);
    let before = snapshot(&store).await;
    assert!(before["events"].len() > 100 && before["credentials"].len() > 100);

    let again = ingest.commit("sensor-1", batch.clone()).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 9));
    assert!(again.new_attackers.is_empty() && again.credentials.is_empty());
    assert!(again.sessions_started.is_empty() && again.sessions_ended.is_empty());
    assert!(again.reuse.is_empty() && again.events.is_empty());
    assert_eq!(snapshot(&store).await, before, "a replay changes no row");

    // A batch that half overlaps counts only its new half.
    let mut overlap = batch[..4].to_vec();
    overlap.push(login(20, "10.0.0.1", "d1", "root", "toor"));
    let third = ingest.commit("sensor-1", overlap).await.unwrap();
    assert_eq!((third.inserted, third.duplicates), (1, 4));
    assert_eq!(
        count(
            &store,
            "SELECT event_count FROM attackers WHERE ip = '10.0.0.1'"
        )
        .await,
        9
    );
    assert_eq!(
        count(
            &store,
            "SELECT attempt_count FROM credentials WHERE principal = 'root'"
        )
        .await,
        3
    );
    assert_eq!(
        count(&store, "SELECT sum(events)::bigint FROM ingest_hourly").await,
        10
    );
    assert_eq!(ingest.stats().events, 10);
    assert_eq!(ingest.stats().duplicates, 13);
}

#[tokio::test]
async fn derived_rows_match_the_events() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    let o = ingest.commit("sensor-1", mixed_batch()).await.unwrap();
    assert_eq!(o.credentials.len(), 2);
    assert!(o.credentials.iter().all(|c| c.first_capture));
    assert_eq!(o.sessions_started.len(), 1);
    assert_eq!(o.sessions_ended.len(), 1);
    assert_eq!(
        o.sessions_ended[0].transcript_shard.as_deref(),
        Some("d1/ssh/transcripts/sessions-2025-06-15.jsonl")
    );

    let a = decnet_master::store::attackers::by_ip(&store, "10.0.0.1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.first_seen, a.last_seen, a.event_count),
        (at(0), at(7), 8)
    );
    assert_eq!(
        (a.services, a.deckies),
        (vec!["ssh".into()], vec!["d1".into()])
    );
    assert_eq!((a.credential_count, a.session_count), (2, 1));

    let s = decnet_master::store::sessions::get(&store, "10.0.0.1-d1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.started_at, s.ended_at, s.event_count),
        (at(0), Some(at(6)), 8),
        "ended at the disconnect, not at the recording summary"
    );
    assert_eq!(s.host, "sensor-1");
    assert_eq!(s.transcript_bytes, Some(999));
    let loc = s.transcript_location.unwrap();
    assert_eq!(
        (loc.sid.as_str(), loc.shard.as_str()),
        (
            "10.0.0.1-d1",
            "d1/ssh/transcripts/sessions-2025-06-15.jsonl"
        )
    );

    let arts = decnet_master::store::artifacts::for_attacker(&store, a.ip, 10)
        .await
        .unwrap();
    assert_eq!(arts.len(), 1);
    assert_eq!(
        (arts[0].sha256.as_str(), arts[0].size),
        (&*"ab".repeat(32), Some(42))
    );
    assert_eq!(arts[0].session_id.as_deref(), Some("10.0.0.1-d1"));

    let creds = decnet_master::store::credentials::for_attacker(&store, a.ip, 10)
        .await
        .unwrap();
    let root = creds.iter().find(|c| c.principal == "root").unwrap();
    assert_eq!(
        (root.attempt_count, root.secret_printable.as_str()),
        (2, "toor")
    );
    assert_eq!(
        root.secret_sha256,
        "ce5ca673d13b36118d54a7cf13aeb0ca012383bf771e713421b4d1fd841f539a"
    );

    let stats = decnet_master::store::stats::summary(&store).await.unwrap();
    assert_eq!(
        (
            stats.events_total,
            stats.attackers_total,
            stats.credentials_total
        ),
        (9, 2, 2)
    );
    assert_eq!((stats.sessions_total, stats.artifacts_total), (1, 1));
}

#[tokio::test]
async fn reuse_is_detected_when_a_secret_reaches_another_target() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    let o = ingest
        .commit(
            "sensor-1",
            vec![login(1, "10.0.0.1", "d1", "root", "hunter2")],
        )
        .await
        .unwrap();
    assert!(o.reuse.is_empty(), "one target is no reuse");
    // Another attacker, another decky, another principal: the same secret.
    let o = ingest
        .commit(
            "sensor-1",
            vec![login(2, "10.0.0.2", "d2", "admin", "hunter2")],
        )
        .await
        .unwrap();
    assert_eq!(o.reuse.len(), 1);
    let r = &o.reuse[0];
    assert_eq!((r.previous_target_count, r.target_count), (1, 2));
    assert_eq!(r.secret_printable, "hunter2");
    let targets: Vec<_> = r.targets.iter().map(|t| t.decky.as_str()).collect();
    assert_eq!(targets, ["d1", "d2"]);
    // The same targets again: nothing new.
    let o = ingest
        .commit(
            "sensor-1",
            vec![login(3, "10.0.0.3", "d1", "root", "hunter2")],
        )
        .await
        .unwrap();
    assert!(o.reuse.is_empty());
    // Two new targets in one batch: one notice, 2 -> 4.
    let o = ingest
        .commit(
            "sensor-1",
            vec![
                login(4, "10.0.0.3", "d3", "root", "hunter2"),
                login(5, "10.0.0.3", "d4", "root", "hunter2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(o.reuse.len(), 1);
    assert_eq!(
        (o.reuse[0].previous_target_count, o.reuse[0].target_count),
        (2, 4)
    );

    let board = decnet_master::store::credentials::board(&store, 10)
        .await
        .unwrap();
    assert_eq!(board.reused.len(), 1);
    assert_eq!(board.reused[0].target_count, 4);
    assert_eq!(board.reused[0].attempt_count, 5);
    assert_eq!(board.reused[0].principals, ["admin", "root"]);
    assert_eq!(board.top_principals[0].principal, "root");
    assert_eq!(board.top_principals[0].attempt_count, 4);
    assert_eq!(board.credential_count, 5);
    let (secret, captures) = decnet_master::store::credentials::for_secret(
        &store,
        &board.reused[0].sha256,
        "plaintext",
        100,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(secret, board.reused[0]);
    assert_eq!(captures.len(), 5);
}

#[tokio::test]
async fn notices_are_published_after_commit() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let broker = Broker::default();
    let ingest = Ingest::new(store.clone(), Bus::local(&broker, "ingest"));
    let watcher = broker.client("watcher");
    let mut attackers = watcher.subscribe(&attacker::all());
    let mut creds = watcher.subscribe(&credential::all());
    let mut logs = watcher.subscribe(&system::all());

    let mut batch = mixed_batch();
    batch.push(login(9, "10.0.0.2", "d2", "root", "toor"));
    ingest.commit("sensor-1", batch.clone()).await.unwrap();

    let drain = |s: &mut decnet_mesh::bus::Subscription| {
        std::iter::from_fn(|| s.try_next())
            .map(|e| e.topic().to_string())
            .collect::<Vec<_>>()
    };
    let mut a = drain(&mut attackers);
    a.sort();
    assert_eq!(
        a,
        [
            attacker::observed().to_string(),
            attacker::observed().to_string(),
            attacker::session_ended().to_string(),
            attacker::session_started().to_string(),
            attacker::session_started().to_string(),
        ]
    );
    let c = drain(&mut creds);
    assert_eq!(
        c.iter()
            .filter(|t| **t == credential::captured().to_string())
            .count(),
        3
    );
    assert_eq!(
        c.iter()
            .filter(|t| **t == credential::reuse_detected().to_string())
            .count(),
        1
    );
    let mut l = std::iter::from_fn(|| logs.try_next()).collect::<Vec<_>>();
    assert_eq!(l.len(), 1);
    let log: serde_json::Value = l.remove(0).decode().unwrap();
    assert_eq!(log["type"], "batch_committed");
    assert_eq!(log["inserted"], 10);

    // A replay publishes only its log line.
    ingest.commit("sensor-1", batch).await.unwrap();
    assert!(drain(&mut attackers).is_empty());
    assert!(drain(&mut creds).is_empty());
    assert_eq!(drain(&mut logs).len(), 1);
}

#[tokio::test]
async fn the_mesh_sink_keeps_undecodable_records_and_stays_idempotent() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let sink = MeshSink::new(Ingest::new(store.clone(), Bus::disabled("test")));
    let host: decnet_pki::HostName = "sensor-1".parse().unwrap();
    let mut invalid = ev(3, "10.0.0.1", "d1", "ssh", "connect").build().unwrap();
    invalid.msg = Some("nul\0inside".into());
    let records: Vec<(u64, Bytes)> = vec![
        (1, Bytes::from(mixed_batch()[0].to_cbor().unwrap())),
        (2, Bytes::from_static(b"\x9f\xff not cbor")),
        (3, Bytes::from(invalid.to_cbor().unwrap())),
        (4, Bytes::from(mixed_batch()[1].to_cbor().unwrap())),
    ];
    sink.commit(&host, records.clone()).await.unwrap();
    sink.commit(&host, records).await.unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM events").await, 2);
    assert_eq!(
        count(&store, "SELECT count(*) FROM rejected_events").await,
        2
    );
    let client = store.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT host, seq, raw FROM rejected_events WHERE seq = 2",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "sensor-1");
    assert_eq!(row.get::<_, i64>(1), 2);
    assert_eq!(row.get::<_, Vec<u8>>(2), b"\x9f\xff not cbor");
    let reason: String = client
        .query_one("SELECT reason FROM rejected_events WHERE seq = 3", &[])
        .await
        .unwrap()
        .get(0);
    assert!(reason.contains("NUL"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_overlapping_commits_neither_deadlock_nor_double_count() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    // 8 committers, each with the same 400 events in a different order, plus its own 100.
    let shared: Vec<Event> = (0..400)
        .map(|i| {
            login(
                i,
                &format!("10.1.{}.{}", i % 5, i % 17),
                &format!("d{}", i % 3),
                ["root", "admin"][i as usize % 2],
                ["a", "b", "c"][i as usize % 3],
            )
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8i64 {
        let mut batch = shared.clone();
        batch.rotate_left((w * 50) as usize);
        batch.extend((0..100).map(|i| login(1000 + w * 100 + i, "10.2.0.1", "d9", "x", "y")));
        let ingest = ingest.clone();
        tasks.spawn(async move { ingest.commit("sensor-1", batch).await.unwrap().inserted });
    }
    let mut inserted = 0;
    while let Some(n) = tasks.join_next().await {
        inserted += n.unwrap();
    }
    assert_eq!(inserted, 400 + 800);
    assert_eq!(count(&store, "SELECT count(*) FROM events").await, 1200);
    assert_eq!(
        count(&store, "SELECT sum(event_count)::bigint FROM attackers").await,
        1200
    );
    assert_eq!(
        count(&store, "SELECT sum(attempt_count)::bigint FROM credentials").await,
        1200
    );
    assert_eq!(
        count(
            &store,
            "SELECT sum(attempt_count)::bigint FROM credential_secrets"
        )
        .await,
        1200
    );
    assert_eq!(
        count(&store, "SELECT sum(events)::bigint FROM ingest_hourly").await,
        1200
    );
    assert_eq!(
        count(&store, "SELECT sum(attackers)::bigint FROM ingest_hourly").await,
        count(&store, "SELECT count(*) FROM attackers").await
    );
}

#[tokio::test]
async fn a_session_ends_once_whatever_comes_after() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    let e = |s, kind| {
        ev(s, "10.0.0.5", "d1", "telnet", kind)
            .session_id("t-1")
            .build()
            .unwrap()
    };
    let o = ingest
        .commit("sensor-1", vec![e(1, "connect")])
        .await
        .unwrap();
    assert_eq!((o.sessions_started.len(), o.sessions_ended.len()), (1, 0));
    let o = ingest
        .commit("sensor-1", vec![e(5, "disconnect")])
        .await
        .unwrap();
    assert_eq!((o.sessions_started.len(), o.sessions_ended.len()), (0, 1));
    assert_eq!(o.sessions_ended[0].duration_s, 4.0);
    let o = ingest
        .commit("sensor-1", vec![e(6, "session_recorded"), e(7, "command")])
        .await
        .unwrap();
    assert!(o.sessions_started.is_empty() && o.sessions_ended.is_empty());
    let s = decnet_master::store::sessions::get(&store, "t-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.ended_at, s.last_event_at, s.event_count),
        (Some(at(5)), at(7), 4)
    );
}
