//! `decnet-master up` with its embedded agent: the demo fleet comes up on loopback, shows in
//! the API's fleet view, and a real `redis-cli` session against it arrives as events through
//! outbox → QUIC mesh → ingest → PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Master, tempdir};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "demo-fleet-Passw0rd!";

async fn login(api: &str, password: &str) -> (String, bool) {
    let resp: Value = reqwest::Client::new()
        .post(format!("{api}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        resp["access_token"].as_str().unwrap().to_owned(),
        resp["must_change_password"].as_bool().unwrap(),
    )
}

async fn get(api: &str, token: &str, path: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(format!("{api}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not seen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fleet_events_reach_the_api() {
    decnet_runtime::crypto::install_crypto_provider();
    let tmp = tempdir();
    let mut master = Master::up(
        tmp.path(),
        "[embedded]\ndemo_first_ip = \"127.77.3.10\"\ndemo_port_offset = 20000\n",
    );
    let api = master.api.clone();
    let (first, must_change) = login(&api, &master.password).await;
    assert!(must_change);
    let changed = reqwest::Client::new()
        .post(format!("{api}/api/v1/auth/change-password"))
        .bearer_auth(&first)
        .json(&json!({"current_password": master.password, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());
    let (token, _) = login(&api, NEW_PASSWORD).await;

    let deckies = wait_for(
        "three running demo deckies",
        Duration::from_secs(60),
        async || {
            let list = get(&api, &token, "/deckies").await;
            let running = list
                .as_array()?
                .iter()
                .filter(|d| d["state"] == "running" && d["host"] == "local")
                .count();
            (running == 3).then_some(list)
        },
    )
    .await;
    let db = deckies
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "db-01")
        .expect("the database decky");
    assert_eq!(db["ip"], "127.77.3.11");
    let redis_port = db["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "redis")
        .and_then(|s| s["port"].as_u64())
        .expect("redis on db-01");
    assert_eq!(redis_port, 26379);

    let hosts = get(&api, &token, "/hosts").await;
    let local = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "local")
        .expect("the embedded agent is an enrolled host");
    assert_eq!(local["link"]["state"], "up", "{local}");

    let out = Command::new("redis-cli")
        .args([
            "-h",
            "127.77.3.11",
            "-p",
            &redis_port.to_string(),
            "--no-auth-warning",
        ])
        .args(["-a", "demo-fleet-probe", "ping"])
        .output()
        .unwrap();
    let reply =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!reply.is_empty(), "redis-cli got no answer");

    let events = wait_for(
        "the redis auth event in the API",
        Duration::from_secs(30),
        async || {
            let page = get(
                &api,
                &token,
                "/events?search=decky:db-01%20service:redis&limit=100",
            )
            .await;
            let events = page["events"].as_array()?.clone();
            events
                .iter()
                .any(|e| e["event_type"] == "auth")
                .then_some(events)
        },
    )
    .await;
    let auth = events.iter().find(|e| e["event_type"] == "auth").unwrap();
    assert_eq!(auth["host"], "local");
    assert_eq!(auth["src_ip"], "127.0.0.1");
    assert_eq!(
        auth["fields"]["secret_printable"], "demo-fleet-probe",
        "{auth}"
    );
    assert!(events.iter().any(|e| e["event_type"] == "connect"));

    let status = master.proc.terminate(Duration::from_secs(30)).unwrap();
    assert!(
        status.success(),
        "{status:?}\n{}",
        master.proc.stderr_text()
    );
    // The embedded agent went with the master: nothing listens on the demo ports any more.
    assert!(std::net::TcpStream::connect(("127.77.3.11", 26379)).is_err());
}
