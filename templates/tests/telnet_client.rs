//! The Linux `telnet` client (in a pty through `script`) and `nmap` against a
//! real `decnet-decky` running the Telnet emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Decky, run_client, session_of, shape};

fn start(name: &str, data: &tempfile::TempDir) -> Decky {
    Decky::start(
        name,
        &format!("data_dir = \"{}\"", data.path().display()),
        "[services.telnet]\nport = 23\nusers = \"root:toor\"",
    )
}

/// Types `steps` (text, then a pause) into `telnet IP 23` running on a pty.
fn telnet_session(ip: &str, steps: &[(&str, u64)]) -> String {
    let mut child = Command::new("script")
        .args(["-qfec", &format!("telnet {ip} 23"), "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    for (text, pause) in steps {
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(*pause));
    }
    drop(stdin);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let _ = child.wait();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn telnet_login_session_produces_exact_events() {
    let data = tempfile::tempdir().unwrap();
    let mut decky = start("iot-01", &data);
    let ip = decky.ip.to_string();
    let out = telnet_session(
        &ip,
        &[
            ("root\r", 400),
            ("wrongpass\r", 4500),
            ("root\r", 400),
            ("toor\r", 1200),
            ("uname -a\r", 600),
            ("exit\r", 1000),
        ],
    );
    println!("telnet transcript:\n{out}");
    assert!(out.contains("Escape character is '^]'."));
    assert!(out.contains(" (iot-01) (pts/"), "issue line: {out}");
    assert!(out.contains("iot-01 login: root\r\nPassword: \r\n\r\nLogin incorrect\r\niot-01 login: root\r\nPassword: \r\n"), "{out:?}");
    assert!(
        out.contains("root@iot-01:~# uname -a\r\n\u{1b}[?2004l\rLinux iot-01 "),
        "{out:?}"
    );
    assert!(out.contains("logout\r\n"));

    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let sid = events[0].session_id.clone().unwrap();
    let conn = session_of(&events, &sid);
    assert_eq!(
        shape(&conn, "outcome"),
        [
            ("connect", ""),
            ("auth", "failure"),
            ("auth", "success"),
            ("command", ""),
            ("command", ""),
            ("session_recorded", ""),
            ("disconnect", ""),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(conn[1].fields["principal"], "root");
    assert_eq!(conn[1].fields["secret_printable"], "wrongpass");
    assert_eq!(conn[1].fields["secret_kind"], "plaintext");
    assert_eq!(conn[1].fields["term"], "XTERM");
    assert_eq!(conn[2].fields["secret_b64"], "dG9vcg==");
    assert_eq!(conn[3].fields["cmd"], "uname -a");
    assert_eq!(conn[4].fields["cmd"], "exit");
    assert_eq!(conn[5].fields["sid"], sid);
    assert_eq!(conn[6].fields["reason"], "server_closed");
    for e in &conn {
        assert_eq!(e.service, "telnet");
        assert_eq!(e.dst_port, 23);
    }
    let cast = decnet_templates::recording::read_session(
        &data.path().join("transcripts"),
        "iot-01",
        "telnet",
        None,
        &sid,
        Default::default(),
    )
    .unwrap();
    let typed: String = cast
        .events
        .iter()
        .filter(|e| e.1 == "i")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(typed, "uname -a\rexit\r");
    assert!(decky.stop().success());
}

#[test]
fn first_bytes_are_inetutils_telnetd_and_nmap_agrees() {
    let data = tempfile::tempdir().unwrap();
    let decky = start("iot-02", &data);
    let mut s = common::connect(decky.addr(23));
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    // Debian's inetutils-telnetd, never Cowrie's lone IAC DO NAWS.
    assert_eq!(
        &buf[..n],
        b"\xff\xfb%\xff\xfb&\xff\xfd\x18\xff\xfd \xff\xfd#\xff\xfd'\xff\xfd$"
    );
    drop(s);
    let (status, out, err) = run_client(
        Command::new("nmap").args(["-sV", "-Pn", "-p", "23", &decky.ip.to_string()]),
        None,
    );
    common::keep_log("nmap-telnet", &format!("{out}\n{err}"));
    assert!(status.success());
    // nmap has no version probe for inetutils-telnetd: the real daemon is
    // reported exactly like this, with no product, and nothing honeypot-like.
    assert!(out.contains("23/tcp open  telnet"), "{out}");
    assert!(!out.to_lowercase().contains("honeypot"));
    // The real daemon is "unrecognized despite returning data" too; what must
    // match is the fingerprint nmap records, tn3270 answer included.
    let fingerprint: String = out
        .lines()
        .filter(|l| l.starts_with("SF"))
        .map(|l| l.trim_start_matches("SF:"))
        .collect();
    assert!(
        fingerprint.contains(r#"r(tn3270,21,"\xff\xfb%\xff\xfb&\xff\xfd\x18\xff\xfd\x20\xff\xfd#\xff\xfd'\xff\xfd\$\xff\xfe\x19\xff\xfc\x19\xff\xfd\0\xff\xfb\0")"#),
        "{fingerprint}"
    );
}
