//! The `mysql` client and `nmap` against a real `decnet-decky` running the MySQL emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::process::Command;

use common::{Decky, run_client, session_of, shape};

fn login(decky: &Decky, user: &str, password: Option<&str>) -> (std::process::ExitStatus, String) {
    let ip = decky.ip.to_string();
    let mut cmd = Command::new("mysql");
    cmd.args([
        "-h",
        &ip,
        "-P",
        "3306",
        "-u",
        user,
        "--connect-timeout=5",
        "-e",
        "select 1",
    ]);
    if let Some(p) = password {
        cmd.arg(format!("-p{p}"));
    }
    let (status, out, err) = run_client(&mut cmd, None);
    println!("mysql stdout:\n{out}\nstderr:\n{err}");
    (status, err)
}

fn check_login_events(decky: &Decky, plugin: &str, user: &str, with_password: bool) {
    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let sid = events[0].session_id.clone().unwrap();
    let conn = session_of(&events, &sid);
    assert_eq!(
        shape(&conn, "outcome"),
        [("connect", ""), ("auth", "failure"), ("disconnect", "")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(conn[0].fields["connection_id"].parse::<u32>().unwrap() > 0);
    let auth = &conn[1].fields;
    assert_eq!(auth["principal"], user);
    assert_eq!(auth["secret_kind"], plugin);
    assert_eq!(auth["auth_plugin"], plugin);
    assert_eq!(auth["client_name"], "libmariadb");
    assert_eq!(auth["salt_hex"].len(), 40);
    let scramble_len = base64_len(&auth["secret_b64"]);
    let expected = match (with_password, plugin) {
        (false, _) => 0,
        (true, "caching_sha2_password") => 32,
        (true, _) => 20,
    };
    assert_eq!(scramble_len, expected, "{auth:?}");
    assert_eq!(conn[2].fields["reason"], "server_closed");
    for e in &conn {
        assert_eq!((e.service.as_str(), e.dst_port), ("mysql", 3306));
        assert!(e.src_ip.is_loopback());
    }
}

fn base64_len(b64: &str) -> usize {
    let pad = b64.bytes().rev().take_while(|&b| b == b'=').count();
    b64.len() / 4 * 3 - pad
}

#[test]
fn mysql_native_login_is_denied_like_mysql_57() {
    let mut decky = Decky::start("db-01", "", "[services.mysql]\nversion = \"5.7.44\"");
    let (status, err) = login(&decky, "root", Some("bad"));
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        err.trim_end(),
        "ERROR 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES)"
    );
    check_login_events(&decky, "mysql_native_password", "root", true);
    assert!(decky.stop().success());
}

#[test]
fn mysql_8_login_uses_caching_sha2_and_no_password_says_no() {
    let decky = Decky::start("db-02", "", "[services.mysql]\nversion = \"8.0.36\"");
    let (status, err) = login(&decky, "admin", None);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        err.trim_end(),
        "ERROR 1045 (28000): Access denied for user 'admin'@'127.0.0.1' (using password: NO)"
    );
    check_login_events(&decky, "caching_sha2_password", "admin", false);
}

#[test]
fn mysql_8_with_password() {
    let decky = Decky::start("db-03", "", "[services.mysql]\nversion = \"8.0.36\"");
    let (status, err) = login(&decky, "root", Some("bad"));
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        err.trim_end(),
        "ERROR 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES)"
    );
    check_login_events(&decky, "caching_sha2_password", "root", true);
}

#[test]
fn nmap_names_mysql_and_its_version() {
    let decky = Decky::start("db-04", "", "[services.mysql]\nversion = \"8.0.36\"");
    let (status, out, err) = run_client(
        Command::new("nmap").args(["-sV", "-Pn", "-n", "-p", "3306", &decky.ip.to_string()]),
        None,
    );
    common::keep_log("nmap-mysql", &format!("{out}\n{err}"));
    assert!(status.success(), "nmap failed: {err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("3306/tcp"))
        .expect("port line");
    assert!(
        line.contains("open") && line.contains("MySQL 8.0.36"),
        "nmap did not name the product: {line}"
    );
    assert!(!out.to_lowercase().contains("honeypot"));
    assert!(
        decky
            .events()
            .iter()
            .any(|e| e.event_type == "connect" && e.service == "mysql")
    );
}
