//! Hosts, enrollment tokens, deckies, attackers and sessions lists against a real cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use decnet_event::Event;
use decnet_master::config::DatabaseConfig;
use decnet_master::ingest::Ingest;
use decnet_master::store::attackers::{self, AttackerCursor, Sort};
use decnet_master::store::deckies::{self, DeckyReport, DeckyService, DeckyState};
use decnet_master::store::hosts::{self, HostStatus};
use decnet_master::store::sessions::{self, SessionFilter};
use decnet_master::store::{Store, stats};
use decnet_mesh::bus::Bus;
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

#[tokio::test]
async fn hosts_enroll_rotate_and_revoke() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let h = hosts::create(&store, "sensor-1", "AA11", Some("0.1.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.status, HostStatus::Enrolled);
    assert_eq!(h.cert_fingerprints, ["aa11"]);
    assert!(
        hosts::create(&store, "sensor-1", "bb", None)
            .await
            .unwrap()
            .is_none(),
        "name taken"
    );
    assert!(
        hosts::create(&store, "Bad_Name", "cc", None).await.is_err(),
        "schema checks names"
    );

    assert!(hosts::add_fingerprint(&store, h.id, "BB22").await.unwrap());
    assert!(hosts::add_fingerprint(&store, h.id, "bb22").await.unwrap());
    assert_eq!(
        hosts::get(&store, h.id)
            .await
            .unwrap()
            .unwrap()
            .cert_fingerprints,
        ["aa11", "bb22"]
    );
    assert_eq!(
        hosts::by_fingerprint(&store, "BB22")
            .await
            .unwrap()
            .unwrap()
            .id,
        h.id
    );
    assert!(
        hosts::remove_fingerprint(&store, h.id, "aa11")
            .await
            .unwrap()
    );
    assert!(
        hosts::by_fingerprint(&store, "aa11")
            .await
            .unwrap()
            .is_none()
    );

    assert!(
        hosts::set_status(&store, h.id, HostStatus::Online)
            .await
            .unwrap()
    );
    assert!(
        hosts::seen(&store, h.id, Some("0.2.0"), Some("192.0.2.1"))
            .await
            .unwrap()
    );
    let h2 = hosts::by_name(&store, "sensor-1").await.unwrap().unwrap();
    assert_eq!(
        (h2.status, h2.agent_version.as_deref()),
        (HostStatus::Online, Some("0.2.0"))
    );
    assert!(h2.last_seen.is_some());

    assert!(hosts::revoke(&store, h.id).await.unwrap());
    assert!(!hosts::revoke(&store, h.id).await.unwrap(), "once");
    let r = hosts::get(&store, h.id).await.unwrap().unwrap();
    assert_eq!(r.status, HostStatus::Revoked);
    assert!(r.revoked_at.is_some());
    assert!(
        hosts::by_fingerprint(&store, "bb22")
            .await
            .unwrap()
            .is_none(),
        "revoked hosts are refused"
    );
    assert!(
        !hosts::set_status(&store, h.id, HostStatus::Online)
            .await
            .unwrap()
    );
    assert_eq!(hosts::list(&store).await.unwrap().len(), 1);
}

#[tokio::test]
async fn enrollment_tokens_are_single_use_even_when_racing() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let hash = [7u8; 32];
    let t = hosts::create_token(&store, "sensor-2", &hash, later, None)
        .await
        .unwrap();
    assert!(t.used_at.is_none());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.spawn(async move { hosts::consume_token(&store, &hash).await.unwrap() });
    }
    let mut winners = 0;
    while let Some(r) = tasks.join_next().await {
        if let Some(used) = r.unwrap() {
            assert_eq!(used.host_name, "sensor-2");
            assert!(used.used_at.is_some());
            winners += 1;
        }
    }
    assert_eq!(winners, 1);

    let expired = [8u8; 32];
    let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    hosts::create_token(&store, "sensor-3", &expired, past, None)
        .await
        .unwrap();
    assert!(
        hosts::consume_token(&store, &expired)
            .await
            .unwrap()
            .is_none()
    );

    let revoked = [9u8; 32];
    let t = hosts::create_token(&store, "sensor-4", &revoked, later, None)
        .await
        .unwrap();
    assert!(hosts::revoke_token(&store, t.id).await.unwrap());
    assert!(!hosts::revoke_token(&store, t.id).await.unwrap());
    assert!(
        hosts::consume_token(&store, &revoked)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        hosts::consume_token(&store, &[1u8; 32])
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(hosts::list_tokens(&store).await.unwrap().len(), 3);
    assert!(
        hosts::create_token(&store, "x", &[1u8; 5], later, None)
            .await
            .is_err(),
        "32-byte hashes only"
    );
    assert!(
        hosts::create_token(&store, "sensor-5", &hash, later, None)
            .await
            .is_err(),
        "hash unique"
    );
}

fn report(name: &str, state: DeckyState, services: &[(&str, u16)]) -> DeckyReport {
    DeckyReport {
        name: name.into(),
        host: "sensor-1".into(),
        ip: Some("192.0.2.10".parse().unwrap()),
        persona: Some("ubuntu-web".into()),
        os: Some("linux".into()),
        state,
        last_error: None,
        spec_hash: Some("abc".into()),
        services: services
            .iter()
            .map(|(s, p)| DeckyService {
                service: (*s).into(),
                port: Some(*p),
                state: "running".into(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn deckies_upsert_replace_services_and_count_by_state() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let d = deckies::upsert_state(
        &store,
        &report("web-1", DeckyState::Running, &[("ssh", 22), ("http", 80)]),
    )
    .await
    .unwrap();
    assert_eq!(
        d.services
            .iter()
            .map(|s| s.service.as_str())
            .collect::<Vec<_>>(),
        ["http", "ssh"]
    );
    let d = deckies::upsert_state(
        &store,
        &report("web-1", DeckyState::Degraded, &[("ssh", 2222)]),
    )
    .await
    .unwrap();
    assert_eq!(d.state, DeckyState::Degraded);
    assert_eq!(d.services.len(), 1);
    assert_eq!(d.services[0].port, Some(2222));
    deckies::upsert_state(&store, &report("db-1", DeckyState::Running, &[]))
        .await
        .unwrap();
    assert!(matches!(
        deckies::upsert_state(&store, &report("Bad Name", DeckyState::Running, &[])).await,
        Err(deckies::DeckyError::InvalidName(_))
    ));
    assert_eq!(deckies::list(&store, None).await.unwrap().len(), 2);
    assert_eq!(deckies::list(&store, Some("other")).await.unwrap().len(), 0);
    assert!(
        deckies::set_state(&store, "db-1", DeckyState::Failed, Some("boom"))
            .await
            .unwrap()
    );
    let db1 = deckies::detail(&store, "db-1").await.unwrap().unwrap();
    assert_eq!(
        (db1.state, db1.last_error.as_deref()),
        (DeckyState::Failed, Some("boom"))
    );
    let s = stats::summary(&store).await.unwrap();
    assert_eq!(s.deckies_by_state.get(&DeckyState::Degraded), Some(&1));
    assert_eq!(s.deckies_by_state.get(&DeckyState::Failed), Some(&1));
    assert!(deckies::remove(&store, "web-1").await.unwrap());
    assert!(deckies::detail(&store, "web-1").await.unwrap().is_none());
    let client = store.pool().get().await.unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM decky_services", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "services go with their decky");
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000 + secs).unwrap()
}

#[tokio::test]
async fn attackers_list_in_both_orders_and_detail() {
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let ingest = Ingest::new(store.clone(), Bus::disabled("test"));
    // Attacker i sends i+1 events; its last one at time 1000 - 7 i.
    let mut batch = Vec::new();
    for i in 0..30i64 {
        for k in 0..=i {
            batch.push(
                Event::builder()
                    .ts(at(1000 - 7 * i - k))
                    .decky(format!("d{}", k % 3))
                    .service(["ssh", "http"][(k % 2) as usize])
                    .event_type("connect")
                    .src(format!("10.0.0.{i}:4000").parse().unwrap())
                    .session_id(format!("s-{i}-{}", k / 4))
                    .build()
                    .unwrap(),
            );
        }
    }
    ingest.commit("sensor-1", batch).await.unwrap();

    for (sort, limit) in [(Sort::Recent, 4), (Sort::Active, 7), (Sort::Recent, 100)] {
        let mut cursor: Option<AttackerCursor> = None;
        let mut seen = Vec::new();
        loop {
            let page = attackers::list(&store, sort, cursor.as_ref(), limit)
                .await
                .unwrap();
            seen.extend(page.attackers);
            match page.next_cursor {
                Some(c) => cursor = Some(c.to_string().parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 30);
        assert_eq!(seen.iter().map(|a| a.id).collect::<HashSet<_>>().len(), 30);
        let order: Vec<u8> = seen
            .iter()
            .map(|a| match a.ip {
                std::net::IpAddr::V4(v4) => v4.octets()[3],
                std::net::IpAddr::V6(_) => unreachable!(),
            })
            .collect();
        let want: Vec<u8> = match sort {
            Sort::Recent => (0..30).collect(),
            Sort::Active => (0..30).rev().collect(),
        };
        assert_eq!(order, want, "{sort:?}");
    }
    let wrong = AttackerCursor {
        sort: Sort::Active,
        key: 3,
        id: uuid::Uuid::now_v7(),
    };
    assert!(
        attackers::list(&store, Sort::Recent, Some(&wrong), 5)
            .await
            .is_err()
    );

    let busiest = attackers::list(&store, Sort::Active, None, 1)
        .await
        .unwrap()
        .attackers
        .remove(0);
    assert_eq!(busiest.event_count, 30);
    assert_eq!(busiest.deckies, ["d0", "d1", "d2"]);
    assert_eq!(busiest.services, ["http", "ssh"]);
    let detail = attackers::detail(&store, busiest.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.events.len(), 30);
    assert!(
        detail
            .events
            .windows(2)
            .all(|w| (w[0].ts, w[0].id) > (w[1].ts, w[1].id))
    );
    assert_eq!(detail.sessions.len(), 8);
    assert_eq!(detail.attacker.session_count, 8);
    assert!(detail.credentials.is_empty() && detail.artifacts.is_empty());
    assert!(
        attackers::detail(&store, uuid::Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );

    // Sessions index: newest first, every one exactly once.
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = sessions::list(&store, SessionFilter::default(), cursor.as_ref(), 9)
            .await
            .unwrap();
        all.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let total: i64 = (0..30).map(|i: i64| i / 4 + 1).sum();
    assert_eq!(all.len() as i64, total);
    assert!(
        all.windows(2)
            .all(|w| (w[0].started_at, &w[0].sid) > (w[1].started_at, &w[1].sid))
    );
    let recorded = sessions::list(
        &store,
        SessionFilter {
            recorded_only: true,
        },
        None,
        10,
    )
    .await
    .unwrap();
    assert!(recorded.0.is_empty());
    assert_eq!(stats::summary(&store).await.unwrap().sessions_total, total);
}
