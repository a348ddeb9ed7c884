use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use sha2::Digest as _;

use super::*;
use crate::session::{Action, Draft, SideOutput};

type Kept = Arc<Mutex<Vec<Vec<u8>>>>;

fn memory_store(kept: Kept) -> MailStore {
    Arc::new(move |eml: Vec<u8>| {
        let stored = Stored {
            sha256: hex::encode(sha2::Sha256::digest(&eml)),
            size: eml.len() as u64,
            received: eml.len() as u64,
            truncated: false,
            path: format!("/a/{}.eml", hex::encode(sha2::Sha256::digest(&eml))).into(),
        };
        kept.lock().push(eml);
        let r: StoreResult = Ok(stored);
        Box::pin(std::future::ready(Box::new(r) as SideOutput))
    })
}

fn service(mta: Mta, tls: bool, kept: Kept) -> SmtpService {
    let tls = tls.then(|| {
        let ck = crate::tls::cert::generate(
            &crate::persona::Seed::from_spec(Some("s"), "s"),
            "mail.example.org",
            std::time::SystemTime::now(),
        )
        .unwrap();
        crate::tls::cert::server_config(&ck, &[]).unwrap()
    });
    SmtpService::with_shared(
        25,
        Arc::new(SmtpShared {
            size_limit: mta.default_size_limit(),
            mta,
            host: "mail.example.org".into(),
            banner: None,
            store_cap: 100,
            tls,
            store: memory_store(kept),
            budget: Budget::new(1000),
            auth_delay: Duration::from_secs(2),
            clock: || 1_700_000_000,
        }),
    )
}

fn conn() -> ConnInfo {
    ConnInfo {
        peer: "192.0.2.7:40000".parse().unwrap(),
        local: "198.51.100.1:25".parse().unwrap(),
        session_id: "s".into(),
    }
}

fn drive(s: &mut dyn Session, input: &[u8]) -> (String, Vec<Draft>, Vec<Duration>, bool) {
    let (mut out, mut ev, mut pauses, mut closed) = (Vec::new(), Vec::new(), Vec::new(), false);
    let mut actions = s.feed(input);
    loop {
        for a in actions {
            match a {
                Action::Send(b) => out.extend(b),
                Action::Emit(d) => ev.push(d),
                Action::Pause(p) => pauses.push(p),
                Action::Close => closed = true,
            }
        }
        let Some(mut task) = s.take_side_task() else {
            break;
        };
        let Poll::Ready(o) = task.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
            panic!("pending store")
        };
        actions = s.side_done(o);
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        ev,
        pauses,
        closed,
    )
}

#[test]
fn postfix_session_with_auth_and_a_message() {
    let kept = Kept::default();
    let svc = service(Mta::Postfix, true, Arc::clone(&kept));
    let mut s = svc.open(&conn());
    assert_eq!(
        s.start(),
        vec![Action::Send(
            b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n".to_vec()
        )]
    );
    let (out, ev, pauses, _) = drive(
        s.as_mut(),
        b"EHLO client.test\r\nAUTH PLAIN AGFkbWluAHMzY3JldA==\r\nAUTH LOGIN\r\ncm9vdA==\r\ndG9vcg==\r\nMAIL FROM:<a@b.c> SIZE=100\r\nRCPT TO:<x@y.z>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n",
    );
    assert_eq!(
        out,
        "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n\
535 5.7.8 Error: authentication failed: \r\n\
334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\r\n\
250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
            .to_owned()
            + &out[out.find("250 2.0.0 Ok: queued as ").unwrap()..]
    );
    assert!(out.ends_with("\r\n221 2.0.0 Bye\r\n"));
    assert_eq!(pauses, [Duration::from_secs(2), Duration::from_secs(2)]);
    let auths: Vec<_> = ev
        .iter()
        .filter(|d| d.event_type == "auth")
        .map(|d| {
            (
                d.get("auth_mechanism").unwrap(),
                d.get("principal").unwrap(),
                d.get("secret_printable").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        auths,
        [("PLAIN", "admin", "s3cret"), ("LOGIN", "root", "toor")]
    );
    let cmds: Vec<_> = ev
        .iter()
        .filter(|d| d.event_type == "command")
        .map(|d| d.get("args").unwrap_or(""))
        .collect();
    assert_eq!(cmds[1], "PLAIN", "credentials never in command events");
    let stored = ev.iter().find(|d| d.event_type == MESSAGE_STORED).unwrap();
    assert_eq!(stored.get("subject"), Some("hi"));
    assert_eq!(stored.get("mail_from"), Some("a@b.c"));
    assert_eq!(stored.get("rcpt_to"), Some("x@y.z"));
    let eml = String::from_utf8(kept.lock()[0].clone()).unwrap();
    assert!(eml.starts_with("Received: from client.test (unknown [192.0.2.7])\r\n\tby mail.example.org (Postfix) with ESMTP id "), "{eml}");
    assert!(
        eml.ends_with(
            "\r\n\tfor <x@y.z>;\r\n\tTue, 14 Nov 2023 22:13:20 +0000\r\nSubject: hi\r\n\r\n.dot\r\n"
        ),
        "{eml}"
    );
}

#[test]
fn postfix_errors_and_forbidden_commands() {
    let svc = service(Mta::Postfix, false, Kept::default());
    let mut s = svc.open(&conn());
    let (out, _, _, _) = drive(s.as_mut(), b"AUTH PLAIN x\r\nRCPT TO:<a@b>\r\nMAIL FROM:\r\nDATA\r\nSTARTTLS\r\nXYZZY\r\nHELP\r\n\r\nVRFY root\r\n");
    assert_eq!(
        out,
        "503 5.5.1 Error: send HELO/EHLO first\r\n503 5.5.1 Error: need MAIL command\r\n501 5.5.4 Syntax: MAIL FROM:<address>\r\n503 5.5.1 Error: need RCPT command\r\n502 5.5.1 Error: command not implemented\r\n502 5.5.2 Error: command not recognized\r\n502 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: bad syntax\r\n252 2.0.0 root\r\n"
    );
    let (out, _, _, closed) = drive(s.as_mut(), b"GET / HTTP/1.1\r\n");
    assert_eq!(out, "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n");
    assert!(closed);
    // Twenty errors end the session.
    let mut s = svc.open(&conn());
    let (out, _, pauses, closed) = drive(s.as_mut(), &b"FOO\r\n".repeat(25));
    assert!(
        out.ends_with("421 4.7.0 mail.example.org Error: too many errors\r\n"),
        "{out}"
    );
    assert_eq!(pauses.len(), 9);
    assert!(closed);
}

#[test]
fn exim_dialect() {
    let kept = Kept::default();
    let svc = service(
        Mta::new("exim", Some("4.96")).unwrap(),
        false,
        Arc::clone(&kept),
    );
    let mut s = svc.open(&conn());
    assert_eq!(
        s.start(),
        vec![Action::Send(
            b"220 mail.example.org ESMTP Exim 4.96 Tue, 14 Nov 2023 22:13:20 +0000\r\n".to_vec()
        )]
    );
    let (out, _, _, _) = drive(
        s.as_mut(),
        b"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\nBDAT 5\r\nhelloBDAT 3 LAST\r\nabcRSET\r\n",
    );
    assert!(out.starts_with("250 mail.example.org Hello c [192.0.2.7]\r\n250 OK\r\n250 Accepted\r\n250 5 byte chunk received\r\n250 OK id="), "{out}");
    assert!(out.ends_with("\r\n250 Reset OK\r\n"));
    assert!(kept.lock()[0].ends_with(b"helloabc"));
    let (out, _, _, closed) = drive(s.as_mut(), b"A\r\nB\r\nC\r\nD\r\n");
    assert_eq!(
        out,
        "500 unrecognized command\r\n500 unrecognized command\r\n500 unrecognized command\r\n500 Too many unrecognized commands\r\n"
    );
    assert!(closed);
}

#[test]
fn messages_are_capped_and_slow_bodies_are_pending() {
    let kept = Kept::default();
    let svc = service(Mta::Postfix, false, Arc::clone(&kept));
    let mut s = svc.open(&conn());
    let _ = drive(
        s.as_mut(),
        b"HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
    );
    assert!(s.pending_bytes() > 0);
    let body = "x".repeat(150) + "\r\n.\r\n";
    let (out, ev, _, _) = drive(s.as_mut(), body.as_bytes());
    assert!(out.starts_with("250 2.0.0 Ok: queued as "));
    let st = ev.iter().find(|d| d.event_type == MESSAGE_STORED).unwrap();
    assert_eq!(st.get("truncated"), Some("true"));
    assert_eq!(st.get("message_bytes"), Some("152"));
    assert_eq!(s.pending_bytes(), 0);
    // The budget is returned once the message is stored.
    assert_eq!(svc.shared.budget.used(), 0);
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    let svc = service(Mta::Postfix, true, Kept::default());
    let mut s = svc.open(&conn());
    let (out, ev, _, _) = drive(s.as_mut(), b"EHLO a\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\n");
    assert!(out.ends_with("220 2.0.0 Ready to start TLS\r\n"), "{out}");
    assert!(ev.iter().any(|d| d.event_type == "protocol_error"));
    // What follows must be TLS: garbage is a handshake failure.
    let (_, ev, _, closed) = drive(s.as_mut(), b"MAIL FROM:<x@y>\r\n");
    assert!(closed);
    assert!(
        ev.iter()
            .any(|d| d.get("error").is_some_and(|e| e.starts_with("tls:")))
    );
}
