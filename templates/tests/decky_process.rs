//! The `decnet-decky` process: start-up refusals, clean SIGTERM, caps and timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use common::{Decky, fresh_addr, run_to_failure};

fn spec(services: &str) -> String {
    format!(
        "name = \"d\"\nhostname = \"h\"\nbind = [\"{}\"]\n{services}",
        fresh_addr()
    )
}

#[test]
fn unimplemented_and_unknown_services_are_refused_at_start() {
    // Whatever is still planned when this runs (services are being added).
    let planned = decnet_templates::services::PLANNED[0];
    let implemented = decnet_templates::services::IMPLEMENTED.join(", ");
    let (status, err) = run_to_failure(
        &spec(&format!(
            "[services.redis]\n[services.{planned}]\nport = 2222"
        )),
        &[],
    );
    assert!(!status.success());
    assert!(
        err.contains(&format!(
            "services.{planned}: service \"{planned}\" is not implemented by this decnet-decky yet (implemented: {implemented})"
        )),
        "{err}"
    );
    let (status, err) = run_to_failure(&spec("[services.gopher]"), &[]);
    assert!(!status.success());
    assert!(
        err.contains("services.gopher: unknown service \"gopher\""),
        "{err}"
    );
    let (_, err) = run_to_failure(&spec("[services.redis]\nverison = \"7.0.15\""), &[]);
    assert!(err.contains("services.redis.verison: unknown key"), "{err}");
    let (_, err) = run_to_failure(
        &spec("[services.redis]\n[services.mysql]\nport = 6379"),
        &[],
    );
    assert!(
        err.contains("services.redis.port: port 6379 is already used by services.mysql"),
        "{err}"
    );
}

#[test]
fn sigterm_ends_open_connections_and_exits_cleanly() {
    let mut decky = Decky::start(
        "stopper",
        "",
        "[services.redis]\nversion = \"7.0.15\"\n[services.mysql]\nversion = \"5.7.44\"",
    );
    let mut idle = common::connect(decky.addr(6379));
    idle.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    idle.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    let status = decky.stop();
    assert!(status.success(), "{status}: {}", decky.stderr_text());
    let mut rest = Vec::new();
    assert_eq!(
        idle.read_to_end(&mut rest).unwrap(),
        0,
        "server closed the connection"
    );
    let events = decky.events();
    let last = events.last().unwrap();
    assert_eq!(
        (last.event_type.as_str(), last.fields["reason"].as_str()),
        ("disconnect", "shutdown")
    );
}

#[test]
fn per_source_cap_idle_and_frame_timeouts() {
    let decky = Decky::start(
        "limited",
        "[limits]\nmax_connections_per_ip = 2\nidle_timeout_s = 2\nframe_timeout_s = 1",
        "[services.redis]\nversion = \"7.0.15\"",
    );
    let addr = decky.addr(6379);
    let _a = common::connect(addr);
    let _b = common::connect(addr);
    decky.wait_for("two connects", |e| {
        e.iter().filter(|e| e.event_type == "connect").count() == 2
    });
    let mut third = common::connect(addr);
    let mut buf = [0u8; 1];
    assert_eq!(
        third.read(&mut buf).unwrap_or(0),
        0,
        "third connection from one source is closed"
    );
    drop((_a, _b));
    decky.wait_for("two disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 2
    });
    assert_eq!(
        decky
            .events()
            .iter()
            .filter(|e| e.event_type == "connect")
            .count(),
        2
    );

    // Idle: nothing sent → closed after idle_timeout_s.
    let started = Instant::now();
    let mut idle = common::connect(addr);
    assert_eq!(idle.read(&mut buf).unwrap(), 0);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );

    // Slowloris: one byte every 300 ms never completes a frame → frame timeout.
    let started = Instant::now();
    let mut slow = common::connect(addr);
    slow.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut closed = false;
    for byte in b"*2\r\n$4\r\nECHO\r\n$100\r\n".iter().cycle().take(60) {
        if slow.write_all(std::slice::from_ref(byte)).is_err() {
            closed = true;
            break;
        }
        if let Ok(0) = slow.read(&mut buf) {
            closed = true;
            break;
        }
    }
    assert!(
        closed && started.elapsed() < Duration::from_secs(4),
        "slow sender not cut: {:?}",
        started.elapsed()
    );
    let events = decky.wait_for("four disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 4
    });
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e.event_type == "disconnect")
        .map(|e| e.fields["reason"].as_str())
        .collect();
    assert_eq!(&reasons[2..], ["idle_timeout", "frame_timeout"]);
}
