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

/// A client socket bound to `src` (another loopback address: another source).
fn connect_from(src: &str, addr: std::net::SocketAddr) -> std::net::TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
        sock.connect(addr).await.unwrap()
    });
    let s = s.into_std().unwrap();
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn ping(s: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    s.write_all(b"PING\r\n")?;
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf)?;
    Ok(buf[..n].to_vec())
}

#[test]
fn per_decky_cap_and_total_session_timeout() {
    let decky = Decky::start(
        "capped",
        "[limits]\nmax_connections = 2\nmax_connections_per_ip = 10\nsession_timeout_s = 3\nidle_timeout_s = 60",
        "[services.redis]\nversion = \"7.0.15\"",
    );
    let addr = decky.addr(6379);
    let started = Instant::now();
    let mut a = connect_from("127.88.0.1", addr);
    let mut b = connect_from("127.88.0.2", addr);
    assert_eq!(ping(&mut a).unwrap(), b"+PONG\r\n");
    assert_eq!(ping(&mut b).unwrap(), b"+PONG\r\n");
    // A third source is over the decky's cap although under its own.
    let mut c = connect_from("127.88.0.3", addr);
    assert!(
        ping(&mut c).map(|r| r.is_empty()).unwrap_or(true),
        "third connection served"
    );
    drop(b);
    // Busy, never idle: the total lifetime still ends the connection.
    let mut closed_after = None;
    while started.elapsed() < Duration::from_secs(8) {
        match ping(&mut a) {
            Ok(r) if r == b"+PONG\r\n" => std::thread::sleep(Duration::from_millis(300)),
            _ => {
                closed_after = Some(started.elapsed());
                break;
            }
        }
    }
    let closed_after = closed_after.expect("session timeout never fired");
    assert!(
        closed_after >= Duration::from_millis(2900) && closed_after < Duration::from_secs(5),
        "{closed_after:?}"
    );
    let events = decky.wait_for("two disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 2
    });
    let connects: Vec<String> = events
        .iter()
        .filter(|e| e.event_type == "connect")
        .map(|e| e.src_ip.to_string())
        .collect();
    assert_eq!(connects.len(), 2, "the refused connection is not a session");
    let reasons: Vec<(String, &str)> = events
        .iter()
        .filter(|e| e.event_type == "disconnect")
        .map(|e| (e.src_ip.to_string(), e.fields["reason"].as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("127.88.0.2".to_owned(), "client_closed"),
            ("127.88.0.1".to_owned(), "session_timeout")
        ]
    );
}
