//! Event queries against a real throwaway cluster: search, keyset pages, histograms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use decnet_event::{Event, Outcome};
use decnet_master::config::DatabaseConfig;
use decnet_master::ingest::Ingest;
use decnet_master::search::Query;
use decnet_master::store::Store;
use decnet_master::store::events::{self, Cursor, EventQuery};
use decnet_mesh::bus::Bus;
use decnet_pgcluster::TestCluster;
use time::OffsetDateTime;
use uuid::Uuid;

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

/// 1,200 events over ~3 hours; every 3 events share a timestamp (ties for the cursor).
fn corpus() -> Vec<Event> {
    let services = ["ssh", "http", "redis"];
    (0..1200i64)
        .map(|i| {
            let service = services[(i % 3) as usize];
            let mut b = Event::builder()
                .ts(at((i / 3) * 27))
                .host("sensor-1")
                .decky(format!("decky-{}", i % 4))
                .service(service)
                .event_type(if i % 2 == 0 {
                    "login_attempt"
                } else {
                    "command"
                })
                .src(format!("10.{}.0.{}:5000", i % 2, i % 50).parse().unwrap())
                .dst_port(22);
            if i % 2 == 0 {
                b = b.credential(
                    ["root", "admin"][(i / 2 % 2) as usize],
                    "plaintext",
                    b"pw",
                    Outcome::Failure,
                );
            } else {
                b = b
                    .field(
                        "cmd",
                        if i % 5 == 0 {
                            "wget http://x/Mal_Ware"
                        } else {
                            "id"
                        },
                    )
                    .msg(format!("CMD number {i}"));
            }
            if i == 7 {
                b = b.field("user", "john doe");
            }
            b.build().unwrap()
        })
        .collect()
}

async fn seeded() -> (TestCluster, Store, Vec<Event>) {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    let events = corpus();
    for chunk in events.chunks(500) {
        ingest.commit("sensor-1", chunk.to_vec()).await.unwrap();
    }
    (db, store, events)
}

fn q(search: &str) -> EventQuery {
    EventQuery {
        search: (!search.is_empty()).then(|| Query::parse(search).unwrap()),
        limit: 1000,
        ..EventQuery::default()
    }
}

/// Every event of a query, page by page.
async fn all_pages(store: &Store, mut query: EventQuery, limit: u32) -> Vec<Event> {
    query.limit = limit;
    let mut out = Vec::new();
    loop {
        let page = events::list(store, &query).await.unwrap();
        assert!(page.events.len() <= limit as usize);
        out.extend(page.events);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
}

fn expected(events: &[Event], pred: impl Fn(&Event) -> bool) -> Vec<Uuid> {
    let mut v: Vec<&Event> = events.iter().filter(|e| pred(e)).collect();
    v.sort_by_key(|e| std::cmp::Reverse((e.ts, e.id)));
    v.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn migrations_create_every_table() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let client = store.pool().get().await.unwrap();
    let rows = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let tables: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for t in [
        "artifacts",
        "attackers",
        "credential_principals",
        "credential_secrets",
        "credentials",
        "decky_services",
        "deckies",
        "enrollment_tokens",
        "events",
        "hosts",
        "ingest_hourly",
        "rejected_events",
        "sessions",
        "users",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
    }
    assert!(store.migrate().await.unwrap().is_empty());
}

#[tokio::test]
async fn keyset_pages_return_every_event_exactly_once() {
    let (_db, store, events) = seeded().await;
    for limit in [1, 7, 50, 1000] {
        let got = all_pages(&store, q(""), limit).await;
        let ids: Vec<Uuid> = got.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 1200, "limit {limit}");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1200);
        assert_eq!(ids, expected(&events, |_| true), "newest first, ties by id");
    }
    // Paged search, with a time range.
    let mut query = q("service:ssh");
    query.since = Some(at(2000));
    query.until = Some(at(6000));
    let got: Vec<Uuid> = all_pages(&store, query, 13)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    let want = expected(&events, |e| {
        e.service == "ssh" && e.ts >= at(2000) && e.ts < at(6000)
    });
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // The stored events come back exactly as ingested.
    let page = events::list(&store, &q("")).await.unwrap();
    let newest = events.iter().max_by_key(|e| (e.ts, e.id)).unwrap();
    assert_eq!(&page.events[0], newest);
}

#[tokio::test]
async fn search_terms_select_the_right_events() {
    let (_db, store, events) = seeded().await;
    let ids = |search: &'static str| {
        let store = store.clone();
        async move {
            all_pages(&store, q(search), 1000)
                .await
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids("service:ssh event:login_attempt").await,
        expected(&events, |e| e.service == "ssh"
            && e.event_type == "login_attempt")
    );
    assert_eq!(
        ids("decky:decky-2").await,
        expected(&events, |e| e.decky == "decky-2")
    );
    assert_eq!(
        ids("attacker:10.1.0.7").await,
        expected(&events, |e| e.src_ip.to_string() == "10.1.0.7")
    );
    assert_eq!(
        ids("attacker:10.1.0.0/16").await,
        expected(&events, |e| e.src_ip.to_string().starts_with("10.1."))
    );
    assert_eq!(
        ids("principal:admin").await,
        expected(&events, |e| e
            .fields
            .get("principal")
            .is_some_and(|p| p == "admin"))
    );
    assert_eq!(ids(r#"user:"john doe""#).await.len(), 1);
    // Bare words: case-insensitive substrings of the message or of a field value.
    assert_eq!(
        ids("mal_ware").await,
        expected(&events, |e| e
            .fields
            .get("cmd")
            .is_some_and(|c| c.contains("Mal_Ware")))
    );
    assert_eq!(
        ids("\"number 11\"").await,
        expected(&events, |e| e
            .msg
            .as_deref()
            .is_some_and(|m| m.contains("number 11")))
    );
    // LIKE metacharacters are literal.
    assert!(ids("mal%ware").await.is_empty());
    assert!(ids("decky:nope").await.is_empty());
    assert!(ids("session:none").await.is_empty());
    assert_eq!(ids("host:sensor-1").await.len(), 1200);
}

#[tokio::test]
async fn histogram_sums_equal_list_totals() {
    let (_db, store, events) = seeded().await;
    for search in [
        "",
        "service:ssh",
        "event:command decky:decky-1",
        "id",
        "decky:nope",
    ] {
        let query = q(search);
        let total = all_pages(&store, query.clone(), 1000).await.len() as i64;
        let h = events::histogram(&store, &query, None).await.unwrap();
        let sum: i64 = h.buckets.iter().map(|b| b.count).sum();
        assert_eq!(sum, total, "{search:?}");
        assert!(h.buckets.len() <= 101, "{}", h.buckets.len());
        assert!(
            h.buckets
                .windows(2)
                .all(|w| w[1].start - w[0].start == h.bucket)
        );
        let mut ranged = query.clone();
        ranged.since = Some(at(1000));
        ranged.until = Some(at(5000));
        let h = events::histogram(&store, &ranged, Some(time::Duration::minutes(5)))
            .await
            .unwrap();
        assert_eq!(h.bucket, time::Duration::minutes(5));
        let sum: i64 = h.buckets.iter().map(|b| b.count).sum();
        let want = all_pages(&store, ranged.clone(), 1000).await.len() as i64;
        assert_eq!(sum, want, "ranged {search:?}");
        assert_eq!(
            h.buckets.first().unwrap().start,
            OffsetDateTime::from_unix_timestamp(1_750_000_800).unwrap()
        );
    }
    let whole = events::histogram(&store, &q(""), Some(time::Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(
        whole.buckets.iter().map(|b| b.count).sum::<i64>(),
        events.len() as i64
    );
}

#[tokio::test]
async fn resume_after_a_cursor_is_oldest_first() {
    let (_db, store, events) = seeded().await;
    let mut sorted = events.clone();
    sorted.sort_by_key(|e| (e.ts, e.id));
    let cursor = Cursor::of(&sorted[99]);
    let after = events::after(&store, cursor, 50).await.unwrap();
    assert_eq!(after, sorted[100..150]);
    let parsed: Cursor = cursor.to_string().parse().unwrap();
    assert_eq!(parsed, cursor);
}
