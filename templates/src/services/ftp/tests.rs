use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::data::InstantPlane;
use super::*;
use crate::persona::Seed;
use crate::session::{Action, Draft};

fn shared(product: &str, plane: InstantPlane) -> Arc<FtpShared> {
    Arc::new(FtpShared {
        flavor: Flavor::new(product, None).unwrap(),
        fs: FakeFs::generate(&Seed::from_spec(Some("t"), "t"), "files-01", 1_790_000_000),
        anonymous: true,
        users: vec![("bob".into(), "builder".into())],
        plane: Arc::new(plane),
        clock: || 1_790_000_000,
    })
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "192.0.2.7:40000".parse().unwrap(),
        local: "198.51.100.1:21".parse().unwrap(),
        session_id: "s".into(),
    }
}

/// Feeds `input`, running side tasks to completion; returns what was sent and emitted.
fn drive(s: &mut dyn Session, input: &[u8]) -> (String, Vec<Draft>, bool) {
    let mut out = Vec::new();
    let mut ev = Vec::new();
    let mut closed = false;
    let mut actions = s.feed(input);
    loop {
        for a in actions {
            match a {
                Action::Send(b) => out.extend(b),
                Action::Emit(d) => ev.push(d),
                Action::Close => closed = true,
                Action::Pause(_) => {}
            }
        }
        let Some(mut task) = s.take_side_task() else {
            break;
        };
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(o) = task.as_mut().poll(&mut cx) else {
            panic!("instant plane pending")
        };
        actions = s.side_done(o);
    }
    (String::from_utf8(out).unwrap(), ev, closed)
}

#[test]
fn vsftpd_anonymous_session_lists_downloads_and_uploads() {
    let svc = FtpService::with_shared(
        21,
        shared(
            "vsftpd",
            InstantPlane {
                upload: b"payload".to_vec(),
                refuse: false,
            },
        ),
    );
    let mut s = svc.open(&conn());
    let banner = s.start();
    assert_eq!(
        banner,
        vec![Action::Send(b"220 (vsFTPd 3.0.3)\r\n".to_vec())]
    );
    let (out, ev, _) = drive(
        s.as_mut(),
        b"USER anonymous\r\nPASS a@b\r\nSYST\r\nPWD\r\nCWD pub\r\nPASV\r\nLIST\r\n",
    );
    assert_eq!(
        out,
        "331 Please specify the password.\r\n230 Login successful.\r\n215 UNIX Type: L8\r\n257 \"/\" is the current directory\r\n250 Directory successfully changed.\r\n227 Entering Passive Mode (198,51,100,1,156,64).\r\n150 Here comes the directory listing.\r\n226 Directory send OK.\r\n"
    );
    let auth = ev.iter().find(|d| d.event_type == "auth").unwrap();
    assert_eq!(auth.get("principal"), Some("anonymous"));
    assert_eq!(auth.get("outcome"), Some("success"));
    assert!(
        ev.iter()
            .all(|d| d.get("cmd") != Some("PASS") || d.get("args").is_none())
    );
    let (out, ev, _) = drive(
        s.as_mut(),
        b"TYPE I\r\nPASV\r\nRETR README.txt\r\nPORT 192,0,2,7,200,10\r\nSTOR ../upload/x.sh\r\n",
    );
    assert!(
        out.contains("150 Opening BINARY mode data connection for README.txt ("),
        "{out}"
    );
    assert!(out.contains("200 PORT command successful. Consider using PASV.\r\n150 Ok to send data.\r\n226 Transfer complete.\r\n"), "{out}");
    let dl = ev.iter().find(|d| d.event_type == FILE_DOWNLOAD).unwrap();
    assert_eq!(dl.get("path"), Some("/pub/README.txt"));
    let cap = ev.iter().find(|d| d.event_type == FILE_CAPTURED).unwrap();
    assert_eq!(cap.get("path"), Some("/upload/x.sh"));
    assert_eq!(cap.get("size"), Some("7"));
    // The upload now shows up.
    let (out, _, _) = drive(s.as_mut(), b"SIZE /upload/x.sh\r\nQUIT\r\n");
    assert_eq!(out, "213 7\r\n221 Goodbye.\r\n");
}

#[test]
fn port_to_another_host_is_refused() {
    let svc = FtpService::with_shared(21, shared("vsftpd", InstantPlane::default()));
    let mut s = svc.open(&conn());
    let (out, _, _) = drive(
        s.as_mut(),
        b"USER ftp\r\nPASS x\r\nPORT 10,0,0,1,200,10\r\nPORT 192,0,2,7,0,80\r\nLIST\r\n",
    );
    assert!(out.ends_with("500 Illegal PORT command.\r\n500 Illegal PORT command.\r\n425 Use PORT or PASV first.\r\n"), "{out}");
}

#[test]
fn failed_logins_pause_and_the_third_closes() {
    let svc = FtpService::with_shared(21, shared("proftpd", InstantPlane::default()));
    let mut s = svc.open(&conn());
    let banner = s.start();
    assert_eq!(
        banner,
        vec![Action::Send(
            b"220 ProFTPD 1.3.8 Server (Debian) [::ffff:198.51.100.1]\r\n".to_vec()
        )]
    );
    let actions = s.feed(b"LIST\r\nUSER root\r\nPASS a\r\nUSER root\r\nPASS b\r\nUSER bob\r\nPASS nope\r\nUSER bob\r\n");
    let pauses = actions
        .iter()
        .filter(|a| matches!(a, Action::Pause(_)))
        .count();
    assert_eq!(pauses, 3);
    assert!(matches!(actions.last(), Some(Action::Close)));
    let text: String = actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        text,
        "530 Please login with USER and PASS\r\n331 Password required for root\r\n530 Login incorrect.\r\n331 Password required for root\r\n530 Login incorrect.\r\n331 Password required for bob\r\n530 Login incorrect.\r\n"
    );
    let auths: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(d) if d.event_type == "auth" => Some((
                d.get("principal").unwrap().to_owned(),
                d.get("secret_printable").unwrap().to_owned(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        auths,
        [
            ("root".into(), "a".into()),
            ("root".into(), "b".into()),
            ("bob".into(), "nope".into())
        ]
    );
    assert!(s.feed(b"USER x\r\n").is_empty());
}

#[test]
fn configured_users_log_in_and_data_failures_are_reported() {
    let svc = FtpService::with_shared(
        21,
        shared(
            "vsftpd",
            InstantPlane {
                upload: Vec::new(),
                refuse: true,
            },
        ),
    );
    let mut s = svc.open(&conn());
    let (out, ev, _) = drive(
        s.as_mut(),
        b"USER bob\r\nPASS builder\r\nEPSV\r\nNLST\r\nFOO\r\n",
    );
    assert_eq!(
        out,
        "331 Please specify the password.\r\n230 Login successful.\r\n229 Entering Extended Passive Mode (|||40000|)\r\n425 Failed to establish connection.\r\n500 Unknown command.\r\n"
    );
    assert_eq!(
        ev.iter()
            .find(|d| d.event_type == "auth")
            .unwrap()
            .get("outcome"),
        Some("success")
    );
}

#[test]
fn long_lines_and_queued_input_are_bounded() {
    let svc = FtpService::with_shared(21, shared("vsftpd", InstantPlane::default()));
    let mut s = svc.open(&conn());
    let long = vec![b'A'; session::MAX_LINE + 10];
    let (out, _, closed) = drive(s.as_mut(), &long);
    assert_eq!(out, "500 Input line too long.\r\n");
    assert!(closed);
    // While a transfer is awaited, input is only queued.
    let mut s = svc.open(&conn());
    let _ = s.feed(b"USER ftp\r\nPASS x\r\nPASV\r\n");
    assert!(s.take_side_task().is_some());
    assert!(s.feed(b"NOOP\r\n").is_empty());
    assert_eq!(s.pending_bytes(), 0);
}
