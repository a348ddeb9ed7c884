//! The negotiation and login replayed against captures of Debian 12's
//! `inetutils-telnetd` + `/bin/login` (the `C>S` bytes are what the clients
//! sent, the expected `S>C` bytes what the real daemon answered).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::persona::Persona;
use crate::spec::DeckySpec;

fn service(dir: &std::path::Path) -> TelnetService {
    let spec = DeckySpec::parse(&format!(
        "name = \"decky-t\"\nhostname = \"web-01\"\nbind = [\"127.0.0.1\"]\ndata_dir = \"{}\"\n[services.telnet]\nusers = \"root:toor\"",
        dir.display()
    ))
    .unwrap();
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(&spec)),
        limits: spec.limits.clone(),
    };
    let mut cfg = spec.services["telnet"].clone();
    let svc = TelnetService::from_config(&mut cfg, &ctx).unwrap();
    cfg.table.finish().unwrap();
    svc
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "198.51.100.7:40000".parse().unwrap(),
        local: "192.0.2.10:23".parse().unwrap(),
        session_id: "0123456789abcdef".into(),
    }
}

fn sent(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::Send(b) = a {
                Some(b.clone())
            } else {
                None
            }
        })
        .flatten()
        .collect()
}

fn session(dir: &std::path::Path) -> (TelnetSession, String) {
    let svc = service(dir);
    let kernel = svc.shared.host.kernel.to_owned();
    let s = TelnetSession::new(Arc::clone(&svc.shared), &conn());
    (s, kernel)
}

#[test]
fn linux_telnet_client_capture() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, kernel) = session(dir.path());
    assert_eq!(
        sent(&s.start()),
        b"\xff\xfb%\xff\xfb&\xff\xfd\x18\xff\xfd \xff\xfd#\xff\xfd'\xff\xfd$"
    );
    let out = s.feed(
        b"\xff\xfd%\xff\xfd&\xff\xfa&\x01\xff\xf0\xff\xfb\x18\xff\xfb \xff\xfc#\xff\xfb'\xff\xfc$",
    );
    assert_eq!(
        sent(&out),
        b"\xff\xfa \x01\xff\xf0\xff\xfa'\x01\xff\xf0\xff\xfa\x18\x01\xff\xf0"
    );
    let out = s.feed(
        b"\xff\xfa \x0038400,38400\xff\xf0\xff\xfa'\x00\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0",
    );
    assert_eq!(
        sent(&out),
        b"\xff\xfb\x03\xff\xfd\x01\xff\xfd\"\xff\xfd\x1f\xff\xfb\x05\xff\xfd!"
    );
    let out = s.feed(b"\xff\xfd\x03\xff\xfc\x01\xff\xfb\"\xff\xfa\"\x03\x01\x00\x00\x03b\x03\x04\x02\x0f\x05\x00\x00\x07b\x1c\x08\x02\x04\tB\x1a\n\x02\x7f\x0b\x02\x15\x0c\x02\x17\r\x02\x12\x0e\x02\x16\x0f\x02\x11\x10\x02\x13\x11\x00\x00\x12\x00\x00\xff\xf0\xff\xfb\x1f\xff\xfa\x1f\x00\x00\x00\x00\xff\xf0\xff\xfd\x05\xff\xfb!");
    assert_eq!(sent(&out), b"\xff\xfa\"\x01\x03\xff\xf0\x00");
    let out = sent(&s.feed(b"\xff\xfa\"\x01\x07\xff\xf0"));
    let mut want = b"\xff\xfa!\x03\xff\xf0\x00\xff\xfb\x01\xff\xfd\x00\xff\xfe\"\xff\xfa\"\x03\x03\xe2\x03\x04\x82\x0f\x07\xe2\x1c\x08\x82\x04\t\xc2\x1a\n\x82\x7f\x0b\x82\x15\x0c\x82\x17\r\x82\x12\x0e\x82\x16\x0f\x82\x11\x10\x82\x13\xff\xf0".to_vec();
    want.extend(format!("\r\nLinux {kernel} (web-01) (pts/").into_bytes());
    assert!(out.starts_with(&want), "{out:?}");
    assert!(out.ends_with(b")\r\n\r\nweb-01 login: "), "{out:?}");
    assert!(sent(&s.feed(b"\xff\xfd\x01\xff\xfb\x00\xff\xfc\"")).is_empty());
    let out = s.feed(b"nobody1\r");
    assert_eq!(sent(&out), b"nobody1\r\nPassword: ");
    assert!(out.contains(&Action::Pause(Duration::from_millis(40))));
    let out = s.feed(b"wrongpw\r");
    assert_eq!(sent(&out), b"\r\n\r\nLogin incorrect\r\nweb-01 login: ");
    let pause = out
        .iter()
        .find_map(|a| {
            if let Action::Pause(d) = a {
                Some(*d)
            } else {
                None
            }
        })
        .unwrap();
    assert!(
        pause >= Duration::from_millis(2250) && pause < Duration::from_millis(3750),
        "{pause:?}"
    );
    let auth = out
        .iter()
        .find_map(|a| {
            if let Action::Emit(d) = a {
                Some(d.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(auth.event_type, "auth");
    assert_eq!(auth.get("principal"), Some("nobody1"));
    assert_eq!(auth.get("secret_printable"), Some("wrongpw"));
    assert_eq!(auth.get("outcome"), Some("failure"));
    assert_eq!(auth.get("term"), Some("XTERM"));
}

#[test]
fn refusing_client_capture_and_retry_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, kernel) = session(dir.path());
    let _ = s.start();
    let out = s.feed(b"\xff\xfe%\xff\xfe&\xff\xfc\x18\xff\xfc \xff\xfc#\xff\xfc'\xff\xfc$");
    assert_eq!(
        sent(&out),
        b"\xff\xfb\x03\xff\xfd\x01\xff\xfd\"\xff\xfd\x1f\xff\xfb\x05\xff\xfd!"
    );
    let out = sent(&s.feed(b"\xff\xfe\x03\xff\xfc\x01\xff\xfc\"\xff\xfc\x1f\xff\xfe\x05\xff\xfc!"));
    let mut want = b"\xff\xfb\x01\xff\xfd\x06\xff\xfd\x00".to_vec();
    want.extend(format!("\r\nLinux {kernel} (web-01) (pts/").into_bytes());
    assert!(out.starts_with(&want), "{out:?}");
    for i in 0..4 {
        let _ = s.feed(format!("user{i}\r\n").as_bytes());
        let out = sent(&s.feed(format!("pw{i}\r\n").as_bytes()));
        assert_eq!(out, b"\r\n\r\nLogin incorrect\r\nweb-01 login: ");
    }
    let _ = s.feed(b"user4\r\n");
    let out = s.feed(b"pw4\r\n");
    assert_eq!(
        sent(&out),
        b"\r\n\r\nLogin incorrect\r\nMaximum number of tries exceeded (5)\r\n"
    );
    assert_eq!(out.last(), Some(&Action::Close));
}

#[test]
fn silent_client_never_gets_a_prompt_and_login_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = session(dir.path());
    let _ = s.start();
    assert!(sent(&s.feed(b"root\r\n")).is_empty());
    assert!(s.take_side_task().is_none());
    // A Mirai-style client: DO what is offered, WONT the rest.
    let _ = s.feed(b"\xff\xfd%\xff\xfd&\xff\xfc\x18\xff\xfc \xff\xfc#\xff\xfc'\xff\xfc$");
    let out = sent(&s.feed(b"\xff\xfd\x03\xff\xfc\x01\xff\xfc\"\xff\xfc\x1f\xff\xfd\x05\xff\xfc!"));
    // The held "root" is read as soon as the prompt is up.
    assert!(
        out.ends_with(b"web-01 login: root\r\nPassword: "),
        "{out:?}"
    );
    assert!(s.take_side_task().is_some());
    let out = s.side_done(Box::new(LoginTimeout));
    assert_eq!(sent(&out), b"\r\nLogin timed out after 60 seconds.\r\n");
    assert_eq!(out.last(), Some(&Action::Close));
}

#[test]
fn login_then_shell_and_recording() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = session(dir.path());
    let _ = s.start();
    let _ = s.feed(b"\xff\xfe%\xff\xfe&\xff\xfb\x18\xff\xfc \xff\xfc#\xff\xfc'\xff\xfc$");
    let _ = s.feed(b"\xff\xfa\x18\x00XTERM-256COLOR\xff\xf0");
    let _ = s.feed(b"\xff\xfd\x03\xff\xfc\x01\xff\xfc\"\xff\xfb\x1f\xff\xfa\x1f\x00\x78\x00\x28\xff\xf0\xff\xfe\x05\xff\xfc!");
    let _ = s.feed(b"root\r\n");
    let out = s.feed(b"toor\r\n");
    let text = String::from_utf8_lossy(&sent(&out)).into_owned();
    assert!(
        text.contains("Last login: ") && text.ends_with("root@web-01:~# "),
        "{text:?}"
    );
    let out = s.feed(b"id\r\n");
    let text = String::from_utf8_lossy(&sent(&out)).into_owned();
    assert!(
        text.contains("uid=0(root) gid=0(root) groups=0(root)\r\n"),
        "{text:?}"
    );
    let cmd = out
        .iter()
        .find_map(|a| {
            if let Action::Emit(d) = a {
                Some(d.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!((cmd.event_type, cmd.get("cmd")), ("command", Some("id")));
    let out = s.feed(b"exit\r\n");
    assert_eq!(out.last(), Some(&Action::Close));
    let rec = out
        .iter()
        .find_map(|a| {
            if let Action::Emit(d) = a {
                (d.event_type == "session_recorded").then(|| d.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(rec.get("sid"), Some("0123456789abcdef"));
    assert!(s.closed("client_closed").is_empty(), "recorded once");
    s.shared.recorder.flush();
    let cast = crate::recording::read_session(
        s.shared.recorder.dir(),
        "decky-t",
        "telnet",
        None,
        "0123456789abcdef",
        crate::recording::Page::default(),
    )
    .unwrap();
    assert_eq!((cast.header.width, cast.header.height), (120, 40));
    assert_eq!(cast.header.env["TERM"], "xterm-256color");
    assert!(cast.events.iter().any(|e| e.1 == "i" && e.2 == "id\r"));
}

#[test]
fn nmap_tn3270_probe_gets_the_real_daemons_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = session(dir.path());
    let _ = s.start();
    // nmap's tn3270 probe, and what inetutils-telnetd answered it.
    let out = s.feed(b"\xff\xfb\x18\xff\xfa\x18\x00IBM-3279-4-E\xff\xf0\xff\xfb\x19\xff\xfd\x19\xff\xfb\x00\xff\xfd\x00");
    assert_eq!(
        sent(&out),
        b"\xff\xfe\x19\xff\xfc\x19\xff\xfd\x00\xff\xfb\x00"
    );
    // "Wont all": WONT to our WILLs is no answer, so the daemon waits forever.
    let (mut s, _) = session(dir.path());
    let _ = s.start();
    assert!(
        sent(&s.feed(b"\xff\xfc%\xff\xfc&\xff\xfc\x18\xff\xfc \xff\xfc#\xff\xfc'\xff\xfc$"))
            .is_empty()
    );
    assert!(sent(&s.feed(b"\xff\xfc\xff\xfcroot\r\n")).is_empty());
}

#[test]
fn garbage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = session(dir.path());
    let _ = s.start();
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let mut buf = Vec::new();
        for _ in 0..16 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let b = (x >> 16) as u8;
            buf.push(if b.is_multiple_of(3) { 255 } else { b });
        }
        let _ = s.feed(&buf);
    }
}
