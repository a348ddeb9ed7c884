//! Live streams: tickets, query tokens, per-user caps, and end to end from the ingest's
//! commit to `GET /events` and `GET /stream` (bus-driven and polling), resume, filters,
//! error frames and keepalives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_support;

use std::time::{Duration, Instant};

use api_support::{Api, Options, event, read_sse};
use decnet_master::store::users::Role;
use serde_json::Value;

async fn ticket(api: &Api, token: &str) -> String {
    let resp = api
        .http
        .post(api.url("/auth/sse-ticket"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["ticket"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open(
    api: &Api,
    path: &str,
    token: Option<&str>,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut req = api.http.get(api.url(path)).timeout(Duration::from_secs(60));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn tickets_are_single_use_and_query_tokens_are_refused() {
    let api = Api::start().await;
    api.user("ivy", Role::Viewer, false).await;
    let token = api.token("ivy").await;

    let t = ticket(&api, &token).await;
    let first = open(&api, &format!("/stream?ticket={t}"), None, None).await;
    assert_eq!(first.status(), 200);
    assert!(
        first.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(first);
    assert_eq!(
        open(&api, &format!("/stream?ticket={t}"), None, None)
            .await
            .status(),
        401,
        "single use"
    );
    assert_eq!(
        open(&api, "/stream?ticket=made-up", None, None)
            .await
            .status(),
        401
    );
    assert_eq!(open(&api, "/stream", None, None).await.status(), 401);
    for q in [
        format!("token={token}"),
        format!("ticket={token}"),
        format!("access_token={token}"),
    ] {
        assert_eq!(
            open(&api, &format!("/stream?{q}"), None, None)
                .await
                .status(),
            401,
            "{q}"
        );
    }
    assert_eq!(
        open(&api, "/stream", Some(&token), None).await.status(),
        200,
        "bearer header works"
    );

    // A logout voids the tickets its token asked for.
    let t = ticket(&api, &token).await;
    api.http
        .post(api.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        open(&api, &format!("/stream?ticket={t}"), None, None)
            .await
            .status(),
        401
    );

    // A user with a pending password change cannot stream.
    api.user("jay", Role::Viewer, true).await;
    let jay = api.token("jay").await;
    assert_eq!(open(&api, "/stream", Some(&jay), None).await.status(), 403);
}

#[tokio::test]
async fn streams_are_capped_per_user() {
    let mut opts = Options::default();
    opts.api.sse_max_per_user = 3;
    let api = Api::start_with(opts).await;
    api.user("kim", Role::Viewer, false).await;
    api.user("lee", Role::Viewer, false).await;
    let kim = api.token("kim").await;
    let mut open_streams = Vec::new();
    for _ in 0..3 {
        let r = open(&api, "/stream", Some(&kim), None).await;
        assert_eq!(r.status(), 200);
        open_streams.push(r);
    }
    let refused = open(&api, "/stream", Some(&kim), None).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let lee = api.token("lee").await;
    assert_eq!(
        open(&api, "/stream", Some(&lee), None).await.status(),
        200,
        "the cap is per user"
    );

    drop(open_streams.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = open(&api, "/stream", Some(&kim), None).await;
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a closed stream frees its slot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn end_to_end(api: &Api) -> Duration {
    api.user("mo", Role::Viewer, false).await;
    let token = api.token("mo").await;
    let mut stream = open(api, "/stream", Some(&token), None).await;
    assert_eq!(stream.status(), 200);
    // Let the stream register before the commit.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let first = event("198.51.100.20", "db-01", "connect");
    let second = event("198.51.100.20", "db-01", "command");
    let (id1, id2) = (first.id.to_string(), second.id.to_string());
    let committed = Instant::now();
    api.ingest()
        .commit("sensor-1", vec![first, second])
        .await
        .unwrap();

    let frames = read_sse(&mut stream, Duration::from_secs(10), |f| {
        f.id.as_deref() == Some(id2.as_str())
    })
    .await;
    let latency = committed.elapsed();
    let events: Vec<_> = frames
        .iter()
        .filter(|f| f.event.as_deref() == Some("event"))
        .collect();
    let ids: Vec<&str> = events.iter().filter_map(|f| f.id.as_deref()).collect();
    assert_eq!(ids, [id1.as_str(), id2.as_str()], "frames: {frames:?}");
    let body = events[0].json();
    assert_eq!(
        (body["decky"].as_str(), body["src_ip"].as_str()),
        (Some("db-01"), Some("198.51.100.20"))
    );

    let listed: Value = api
        .get("/events?search=decky:db-01", &token)
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [id2.as_str(), id1.as_str()], "newest first");

    // Resume: a new stream with Last-Event-ID gets what came after.
    let third = event("198.51.100.20", "db-01", "disconnect");
    let id3 = third.id.to_string();
    drop(stream);
    api.ingest().commit("sensor-1", vec![third]).await.unwrap();
    let mut resumed = open(api, "/stream", Some(&token), Some(&id1)).await;
    let frames = read_sse(&mut resumed, Duration::from_secs(10), |f| {
        f.id.as_deref() == Some(id3.as_str())
    })
    .await;
    let ids: Vec<&str> = frames.iter().filter_map(|f| f.id.as_deref()).collect();
    assert_eq!(ids, [id2.as_str(), id3.as_str()], "replayed after {id1}");
    latency
}

#[tokio::test]
async fn committed_events_reach_events_and_the_stream_over_the_bus() {
    let api = Api::start().await;
    let latency = end_to_end(&api).await;
    // Bus-driven: well under the 5 s reconcile read.
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    let health: Value = api
        .http
        .get(api.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["live"]["driven_by"], "bus");
}

#[tokio::test]
async fn without_the_bus_the_stream_polls_the_database() {
    let api = Api::start_with(Options {
        bus: false,
        ..Options::default()
    })
    .await;
    let latency = end_to_end(&api).await;
    assert!(latency < Duration::from_secs(4), "{latency:?}");
    let health: Value = api
        .http
        .get(api.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["live"]["driven_by"], "polling");
    assert_eq!(health["bus"]["status"], "disabled");
}

#[tokio::test]
async fn attacker_streams_carry_only_that_attacker() {
    let api = Api::start().await;
    api.seed().await;
    api.user("ned", Role::Viewer, false).await;
    let token = api.token("ned").await;
    let list: Value = api.get("/attackers", &token).await.json().await.unwrap();
    let id = list["attackers"][0]["id"].as_str().unwrap().to_owned();
    let ip = list["attackers"][0]["ip"].as_str().unwrap().to_owned();
    assert_eq!(
        open(
            &api,
            &format!("/attackers/{}/stream", uuid::Uuid::now_v7()),
            Some(&token),
            None
        )
        .await
        .status(),
        404
    );

    let mut stream = open(&api, &format!("/attackers/{id}/stream"), Some(&token), None).await;
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = event("192.0.2.99", "web-01", "connect");
    let mine = decnet_event::Event::builder()
        .host("sensor-1")
        .decky("web-01")
        .service("ssh")
        .event_type("auth")
        .src(format!("{ip}:40001").parse().unwrap())
        .dst_port(22)
        .credential(
            "admin",
            "plaintext",
            b"letmein",
            decnet_event::Outcome::Failure,
        )
        .build()
        .unwrap();
    let mine_id = mine.id.to_string();
    api.ingest()
        .commit("sensor-1", vec![other, mine])
        .await
        .unwrap();
    let frames = read_sse(&mut stream, Duration::from_secs(10), |f| {
        f.id.as_deref() == Some(mine_id.as_str())
    })
    .await;
    let events: Vec<&str> = frames
        .iter()
        .filter(|f| f.event.as_deref() == Some("event"))
        .map(|f| f.id.as_deref().unwrap())
        .collect();
    assert_eq!(events, [mine_id.as_str()], "{frames:?}");
    let captured = decnet_mesh::topic::credential::captured();
    let notices: Vec<_> = frames
        .iter()
        .filter(|f| f.event.as_deref() == Some(captured.as_str()))
        .collect();
    assert_eq!(notices.len(), 1, "{frames:?}");
    assert_eq!(notices[0].json()["payload"]["principal"], "admin");
}

#[tokio::test]
async fn database_failures_become_error_frames_and_keepalives_flow() {
    let mut api = Api::start().await;
    api.user("olga", Role::Viewer, false).await;
    let token = api.token("olga").await;
    let mut stream = open(&api, "/stream", Some(&token), None).await;
    assert_eq!(stream.status(), 200);
    let started = Instant::now();
    let frames = read_sse(&mut stream, Duration::from_secs(20), |f| {
        f.comment.is_some()
    })
    .await;
    assert_eq!(
        frames.last().and_then(|f| f.comment.as_deref()),
        Some("keepalive")
    );
    assert!(
        started.elapsed() >= Duration::from_secs(14),
        "{:?}",
        started.elapsed()
    );

    api.db.cluster_mut().stop_immediate().unwrap();
    api.announce().await;
    let frames = read_sse(&mut stream, Duration::from_secs(20), |f| {
        f.event.as_deref() == Some("error")
    })
    .await;
    let error = frames
        .iter()
        .find(|f| f.event.as_deref() == Some("error"))
        .expect("an error frame");
    let message = error.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("error id"), "{message}");
    assert!(
        !message.to_lowercase().contains("postgres") && !message.contains("connection"),
        "no internal detail: {message}"
    );
}
