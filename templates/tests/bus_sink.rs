//! `decnet-decky --bus`: events reach subscribers of the host bus as CBOR events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::time::{Duration, Instant};

use common::{Decky, run_to_failure};
use decnet_event::Event;
use decnet_mesh::bus::{Broker, BusServer, ServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_published_on_the_decky_traffic_topic() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bus.sock");
    let broker = Broker::default();
    let server = BusServer::bind(broker.clone(), ServerConfig::new(&socket))
        .await
        .unwrap();
    let watcher = broker.client("test-watcher");
    let mut sub = watcher.subscribe(&decnet_mesh::topic::decky::all_traffic());

    let socket_arg = socket.to_str().unwrap().to_owned();
    let decky = tokio::task::spawn_blocking(move || {
        Decky::start_with(
            "bus-decky",
            "",
            "[services.redis]\nversion = \"7.0.15\"",
            &["--bus", &socket_arg],
        )
    })
    .await
    .unwrap();
    let mut s = tokio::net::TcpStream::connect(decky.addr(6379))
        .await
        .unwrap();
    s.write_all(b"PING\r\nQUIT\r\n").await.unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"+PONG\r\n+OK\r\n");

    let mut got: Vec<(String, String, Event)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got
        .last()
        .is_none_or(|(_, _, e)| e.event_type != "disconnect")
    {
        assert!(Instant::now() < deadline, "events so far: {got:#?}");
        match sub.try_next() {
            Some(env) => got.push((
                env.topic().to_string(),
                env.kind().to_string(),
                env.decode().unwrap(),
            )),
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    let expected_topic = decnet_mesh::topic::decky::traffic("bus-decky")
        .unwrap()
        .to_string();
    let kinds: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["connect", "command", "command", "disconnect"]);
    for (topic, kind, event) in &got {
        assert_eq!(topic, &expected_topic);
        assert_eq!(kind, &event.event_type);
        assert_eq!(
            (
                event.decky.as_str(),
                event.service.as_str(),
                event.host.as_str()
            ),
            ("bus-decky", "redis", "test-sensor")
        );
    }
    assert_eq!(got[1].2.fields["cmd"], "PING");
    assert_eq!(got[2].2.fields["cmd"], "QUIT");
    assert_eq!(got[3].2.fields["reason"], "server_closed");
    // With a bus, nothing goes to stdout.
    assert!(decky.stdout_lines().is_empty());
    drop(decky);
    server.shutdown().await;
}

#[test]
fn unreachable_bus_fails_start_up_clearly() {
    let spec = format!(
        "name = \"d\"\nhostname = \"h\"\nbind = [\"{}\"]\n[services.redis]",
        common::fresh_addr()
    );
    let (status, err) = run_to_failure(&spec, &["--bus", "/nonexistent/bus.sock"]);
    assert!(!status.success());
    assert!(
        err.contains("--bus /nonexistent/bus.sock: no bus server answered within 5 s"),
        "{err}"
    );
}
