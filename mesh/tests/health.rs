//! Heartbeats on `system.{worker}.health` and control requests on
//! `system.{worker}.control`.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use decnet_mesh::bus::health::{
    ControlAction, ControlRequest, Heartbeat, control_requests, send_control, spawn_heartbeat,
};
use decnet_mesh::bus::{Broker, Bus};
use decnet_mesh::topic::system;
use futures::StreamExt;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn heartbeats_report_worker_pid_uptime_and_drops() {
    let broker = Broker::default();
    let worker = broker.client("sniffer");
    // A tiny queue the worker never reads, so it falls behind and drops.
    let _lagging = worker.subscribe_with_capacity(&system::all_control(), 1);
    let other = broker.client("ops");
    for _ in 0..5 {
        other
            .publish(&system::control("anyone").unwrap(), "noise", &())
            .unwrap();
    }
    let monitor = broker.client("monitor");
    let mut beats = monitor.subscribe(&system::all_health());
    let task = spawn_heartbeat(worker.into(), "sniffer", Duration::from_millis(30)).unwrap();

    let first = tokio::time::timeout(WAIT, beats.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.topic(), &system::health("sniffer").unwrap());
    let hb: Heartbeat = first.decode().unwrap();
    assert_eq!(hb.worker, "sniffer");
    assert_eq!(hb.pid, std::process::id());
    assert_eq!(hb.dropped, 4);
    assert_eq!(
        hb.published, 0,
        "the first beat counts nothing published before it"
    );
    let second: Heartbeat = tokio::time::timeout(WAIT, beats.next())
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert!(second.ts > hb.ts);
    assert_eq!(second.published, 1);
    task.abort();
    assert!(spawn_heartbeat(Bus::disabled("x"), "bad.name", Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn control_requests_reach_the_worker_typed() {
    let broker = Broker::default();
    let worker = Bus::local(&broker, "prober");
    let ops = Bus::local(&broker, "api");
    let mut requests = control_requests(&worker, "prober").unwrap();

    send_control(
        &ops,
        "prober",
        &ControlRequest::new(ControlAction::Stop, "alice"),
    )
    .await
    .unwrap();
    // Garbage on the control topic is skipped, not fatal.
    ops.publish(
        &system::control("prober").unwrap(),
        "worker.control",
        "nonsense",
    )
    .await
    .unwrap();
    // Addressed to someone else.
    send_control(
        &ops,
        "sniffer",
        &ControlRequest::new(ControlAction::Stop, "bob"),
    )
    .await
    .unwrap();
    send_control(
        &ops,
        "prober",
        &ControlRequest::new(ControlAction::Start, "carol"),
    )
    .await
    .unwrap();

    let stop = tokio::time::timeout(WAIT, requests.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stop.action, ControlAction::Stop);
    assert_eq!(stop.requested_by, "alice");
    assert!(stop.ts > 0);
    let start = tokio::time::timeout(WAIT, requests.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(start.action, ControlAction::Start);
    assert_eq!(start.requested_by, "carol");
    assert_eq!(requests.dropped(), 0);

    // The wire form is the documented one.
    let v = ciborium::Value::serialized(&ControlRequest::new(ControlAction::Stop, "x")).unwrap();
    let keys: Vec<&str> = v
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_text().unwrap())
        .collect();
    assert_eq!(keys, ["action", "requested_by", "ts"]);
    assert_eq!(v.as_map().unwrap()[0].1.as_text(), Some("stop"));
}

#[tokio::test]
async fn health_helpers_work_on_the_disabled_bus() {
    let bus = Bus::disabled("w");
    let task = spawn_heartbeat(bus.clone(), "w", Duration::from_millis(5)).unwrap();
    let mut requests = control_requests(&bus, "w").unwrap();
    send_control(&bus, "w", &ControlRequest::new(ControlAction::Stop, "me"))
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(50), requests.next())
            .await
            .is_err()
    );
    assert!(!task.is_finished());
    task.abort();
}
