//! `redis-cli` and `nmap` against a real `decnet-decky` running the Redis emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::process::Command;

use common::{Decky, run_client, session_of, shape};

const SERVICES: &str = "[services.redis]\nversion = \"7.0.15\"\nos_string = \"Linux 6.1.0-18-amd64 x86_64\"\nrequirepass = \"s3cret\"";

#[test]
fn redis_cli_session_produces_exact_events() {
    let mut decky = Decky::start("cache-01", "", SERVICES);
    let ip = decky.ip.to_string();
    // Commands on stdin, as a script would feed them. redis-cli handles QUIT
    // itself in this mode, so QUIT is sent in argument mode below.
    let script = "AUTH wrong\nAUTH s3cret\nPING\nINFO server\nSET greeting hello\nGET greeting\n";
    let (status, out, err) = run_client(
        Command::new("redis-cli").args(["-h", &ip, "-p", "6379"]),
        Some(script),
    );
    println!("redis-cli stdout:\n{out}\nstderr:\n{err}");
    assert!(status.success(), "redis-cli failed: {err}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(&lines[1..3], ["OK", "PONG"]);
    assert_eq!(lines[3], "# Server");
    assert_eq!(lines[4], "redis_version:7.0.15");
    assert!(lines.contains(&"os:Linux 6.1.0-18-amd64 x86_64"));
    assert!(lines.contains(&"tcp_port:6379"));
    assert_eq!(&lines[lines.len() - 2..], ["OK", "hello"]);

    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let sid = events[0].session_id.clone().expect("session id");
    let conn = session_of(&events, &sid);
    assert_eq!(conn.len(), events.len(), "one connection only: {events:#?}");
    // redis-cli 7 asks for COMMAND DOCS, then COMMAND, before the script;
    // both get NOAUTH, as from a real server with requirepass.
    assert_eq!(
        shape(&conn, "cmd"),
        [
            ("connect", ""),
            ("command", "COMMAND"),
            ("command", "COMMAND"),
            ("auth", ""),
            ("auth", ""),
            ("command", "PING"),
            ("command", "INFO"),
            ("command", "SET"),
            ("command", "GET"),
            ("disconnect", ""),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    for e in &conn {
        assert_eq!(e.decky, "cache-01");
        assert_eq!(e.service, "redis");
        assert_eq!(e.host, "test-sensor");
        assert!(e.src_ip.is_loopback());
        assert_ne!(e.src_port, 0);
        assert_eq!(e.dst_port, 6379);
    }
    assert_eq!(conn[1].fields["args"], "[\"DOCS\"]");
    let (bad, good) = (&conn[3].fields, &conn[4].fields);
    assert_eq!(bad["principal"], "default");
    assert_eq!(bad["secret_kind"], "plaintext");
    assert_eq!(bad["secret_printable"], "wrong");
    assert_eq!(bad["secret_b64"], "d3Jvbmc=");
    assert_eq!(bad["outcome"], "failure");
    assert_eq!(good["secret_printable"], "s3cret");
    assert_eq!(good["outcome"], "success");
    assert_eq!(conn[5].fields["args"], "[]");
    assert_eq!(conn[6].fields["args"], "[\"server\"]");
    assert_eq!(conn[7].fields["args"], "[\"greeting\",\"hello\"]");
    assert_eq!(conn[7].fields["argc"], "2");
    assert_eq!(conn[8].fields["args"], "[\"greeting\"]");
    assert_eq!(conn[9].fields["reason"], "client_closed");
    assert!(conn[9].fields["bytes_in"].parse::<u64>().unwrap() > 0);
    // No password ever appears outside the credential fields.
    assert!(
        conn.iter()
            .filter(|e| e.event_type != "auth")
            .all(|e| !format!("{e:?}").contains("s3cret"))
    );

    // QUIT: +OK, then the server closes, exactly like Redis.
    let (status, out, _) = run_client(
        Command::new("redis-cli").args([
            "-h",
            &ip,
            "-p",
            "6379",
            "-a",
            "s3cret",
            "--no-auth-warning",
            "QUIT",
        ]),
        None,
    );
    assert!(status.success());
    assert_eq!(out, "OK\n");
    let events = decky.wait_for("second disconnect", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 2
    });
    let sid = events.last().unwrap().session_id.clone().unwrap();
    let quit = session_of(&events, &sid);
    assert_eq!(
        shape(&quit, "outcome"),
        [
            ("connect", ""),
            ("auth", "success"),
            ("command", ""),
            ("disconnect", "")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(quit[2].fields["cmd"], "QUIT");
    assert_eq!(quit[3].fields["reason"], "server_closed");
    assert!(decky.stop().success());
}

#[test]
fn redis_cli_argument_mode_and_protocol_error() {
    let decky = Decky::start("cache-02", "", "[services.redis]\nversion = \"6.0.16\"");
    let ip = decky.ip.to_string();
    let (status, out, _) = run_client(
        Command::new("redis-cli").args(["-h", &ip, "-p", "6379", "FOO", "bar"]),
        None,
    );
    assert!(status.success());
    assert_eq!(
        out,
        "ERR unknown command `FOO`, with args beginning with: `bar`, \n\n"
    );
    let (_, out, _) = run_client(
        Command::new("redis-cli").args(["-h", &ip, "-p", "6379", "CONFIG", "GET", "dir"]),
        None,
    );
    assert_eq!(out, "dir\n/var/lib/redis\n");

    let mut raw = common::connect(decky.addr(6379));
    use std::io::{Read as _, Write as _};
    raw.write_all(b"*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n").unwrap();
    let mut reply = Vec::new();
    raw.read_to_end(&mut reply).unwrap();
    assert_eq!(
        reply,
        b"+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n"
    );
    let events = decky.wait_for("three disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() == 3
    });
    let err = events
        .iter()
        .find(|e| e.event_type == "protocol_error")
        .expect("protocol_error event");
    assert_eq!(err.fields["error"], "expected '$', got ':'");
}

#[test]
fn nmap_names_redis_and_its_version() {
    let decky = Decky::start("cache-03", "", "[services.redis]\nversion = \"7.0.15\"");
    let (status, out, err) = run_client(
        Command::new("nmap").args(["-sV", "-Pn", "-n", "-p", "6379", &decky.ip.to_string()]),
        None,
    );
    common::keep_log("nmap-redis", &format!("{out}\n{err}"));
    assert!(status.success(), "nmap failed: {err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("6379/tcp"))
        .expect("port line");
    assert!(line.contains("open"), "{line}");
    assert!(
        line.contains("Redis key-value store 7.0.15"),
        "nmap did not name the product: {line}"
    );
    assert!(!out.to_lowercase().contains("honeypot"));
    let events = decky.events();
    assert!(events.iter().any(|e| e.event_type == "connect"));
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "command" && e.fields["cmd"] == "INFO")
    );
}
