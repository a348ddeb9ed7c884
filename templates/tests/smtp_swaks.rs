//! `swaks` and `nmap` against a real `decnet-decky` running the SMTP emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::process::Command;

use common::{Decky, run_client, session_of, shape};
use decnet_event::Event;
use sha2::Digest as _;

fn swaks(decky: &Decky, args: &[&str]) -> (std::process::ExitStatus, String) {
    let (status, out, err) = run_client(
        Command::new("swaks")
            .args([
                "--server",
                &decky.ip.to_string(),
                "--timeout",
                "20",
                "--helo",
                "client.example.net",
            ])
            .args(args),
        None,
    );
    println!("swaks {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    (status, out + &err)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Every connection's events, in connection order, once `n` have ended.
fn sessions(decky: &Decky, n: usize) -> Vec<Vec<Event>> {
    let events = decky.wait_for("disconnects", |e| {
        e.iter().filter(|e| e.event_type == "disconnect").count() >= n
    });
    events
        .iter()
        .filter(|e| e.event_type == "connect")
        .map(|c| {
            session_of(&events, c.session_id.as_deref().unwrap())
                .into_iter()
                .cloned()
                .collect()
        })
        .collect()
}

fn cmds(s: &[Event]) -> Vec<(String, String)> {
    let refs: Vec<&Event> = s.iter().collect();
    shape(&refs, "cmd")
}

#[test]
fn swaks_auth_login_and_plain_are_captured() {
    let decky = Decky::start(
        "mail-01",
        "",
        "[services.smtp]\nhostname = \"mail.example.org\"\nstarttls = false",
    );
    let (status, out) = swaks(
        &decky,
        &[
            "--quit-after",
            "AUTH",
            "--auth",
            "LOGIN",
            "--auth-user",
            "admin",
            "--auth-password",
            "Summer2025!",
        ],
    );
    assert!(!status.success());
    assert!(
        out.contains("<-  220 mail.example.org ESMTP Postfix (Debian/GNU)"),
        "{out}"
    );
    assert!(out.contains("<-  250-AUTH PLAIN LOGIN"));
    assert!(!out.contains("STARTTLS"));
    assert!(out.contains("<** 535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6"));
    let (status, out) = swaks(
        &decky,
        &[
            "--quit-after",
            "AUTH",
            "--auth",
            "PLAIN",
            "--auth-user",
            "backup",
            "--auth-password",
            "b4ckup",
        ],
    );
    assert!(!status.success());
    // Postfix + Dovecot: a one-step PLAIN failure has an empty reason.
    let line = out.lines().find(|l| l.contains(" 535 ")).unwrap();
    assert_eq!(
        line.trim_end(),
        "<** 535 5.7.8 Error: authentication failed:"
    );
    let all = sessions(&decky, 2);
    assert_eq!(all.len(), 2);
    for (s, (mech, user, pass)) in all.iter().zip([
        ("LOGIN", "admin", "Summer2025!"),
        ("PLAIN", "backup", "b4ckup"),
    ]) {
        assert_eq!(
            cmds(s),
            pairs(&[
                ("connect", ""),
                ("command", "EHLO"),
                ("command", "AUTH"),
                ("auth", ""),
                ("command", "QUIT"),
                ("disconnect", "")
            ])
        );
        assert_eq!(s[1].fields["args"], "client.example.net");
        assert_eq!(s[2].fields["args"], mech, "AUTH shows only the mechanism");
        let a = &s[3].fields;
        assert_eq!(a["auth_mechanism"], mech);
        assert_eq!(a["principal"], user);
        assert_eq!(a["secret_printable"], pass);
        assert_eq!(a["secret_kind"], "plaintext");
        assert_eq!(a["outcome"], "failure");
        for e in s {
            assert_eq!((e.service.as_str(), e.dst_port), ("smtp", 25));
        }
    }
}

#[test]
fn swaks_message_over_starttls_is_stored_as_eml() {
    let data = tempfile::tempdir().unwrap();
    let decky = Decky::start(
        "mail-02",
        &format!("data_dir = \"{}\"", data.path().display()),
        "[services.smtp]\nhostname = \"mx1.example.org\"",
    );
    let (status, out) = swaks(
        &decky,
        &[
            "--tls",
            "--from",
            "ceo@example.net",
            "--to",
            "accounts@example.org",
            "--header",
            "Subject: Urgent wire transfer",
            "--body",
            "Please pay the attached invoice today.\n.hidden line",
        ],
    );
    assert!(status.success(), "{out}");
    assert!(out.contains("<-  250-STARTTLS"));
    assert!(out.contains("<-  220 2.0.0 Ready to start TLS"));
    assert!(out.contains("<~  250 2.0.0 Ok: queued as "));
    let all = sessions(&decky, 1);
    let s = &all[0];
    assert_eq!(
        cmds(s),
        pairs(&[
            ("connect", ""),
            ("command", "EHLO"),
            ("command", "STARTTLS"),
            ("tls_handshake", ""),
            ("command", "EHLO"),
            ("command", "MAIL"),
            ("command", "RCPT"),
            ("command", "DATA"),
            ("message_stored", ""),
            ("command", "QUIT"),
            ("disconnect", ""),
        ])
    );
    let m = &s[8].fields;
    assert_eq!(m["mail_from"], "ceo@example.net");
    assert_eq!(m["rcpt_to"], "accounts@example.org");
    assert_eq!(m["subject"], "Urgent wire transfer");
    assert_eq!(m["truncated"], "false");
    assert!(out.contains(&format!("<~  250 2.0.0 Ok: queued as {}", m["queue_id"])));
    let path = data.path().join("artifacts").join(&m["stored_as"]);
    let eml = std::fs::read(&path).unwrap();
    assert_eq!(m["stored_as"], format!("{}.eml", m["sha256"]));
    assert_eq!(hex::encode(sha2::Sha256::digest(&eml)), m["sha256"]);
    assert_eq!(eml.len().to_string(), m["size"]);
    let text = String::from_utf8(eml).unwrap();
    assert!(text.starts_with("Received: from client.example.net (unknown [127.0.0.1])\r\n\tby mx1.example.org (Postfix) with ESMTPS id "), "{text}");
    assert!(text.contains("\r\nSubject: Urgent wire transfer\r\n"));
    assert!(
        text.contains("\r\nPlease pay the attached invoice today.\r\n.hidden line\r\n"),
        "dot-unstuffed: {text}"
    );
}

#[test]
fn exim_speaks_like_exim() {
    let decky = Decky::start(
        "mail-03",
        "",
        "[services.smtp]\nmta = \"exim\"\nversion = \"4.96\"\nhostname = \"relay.example.org\"\nstarttls = false",
    );
    let (status, out) = swaks(
        &decky,
        &["--from", "a@example.net", "--to", "b@example.org"],
    );
    assert!(status.success(), "{out}");
    assert!(
        out.contains("<-  220 relay.example.org ESMTP Exim 4.96 "),
        "{out}"
    );
    assert!(out.contains("<-  250-relay.example.org Hello client.example.net [127.0.0.1]"));
    assert!(out.contains("<-  250 Accepted"));
    assert!(out.contains("<-  250 OK id="));
    assert!(out.contains("<-  221 relay.example.org closing connection"));
    let all = sessions(&decky, 1);
    assert!(
        all[0]
            .iter()
            .any(|e| e.event_type == "message_stored" && e.fields["rcpt_to"] == "b@example.org")
    );
}

fn nmap_line(decky: &Decky) -> String {
    let (status, out, err) = run_client(
        Command::new("nmap").args(["-sV", "-Pn", "-n", "-p", "25", &decky.ip.to_string()]),
        None,
    );
    common::keep_log(
        &format!("nmap-smtp-{}", decky.name),
        &format!("{out}\n{err}"),
    );
    assert!(status.success(), "nmap failed: {err}");
    assert!(!out.to_lowercase().contains("honeypot"));
    out.lines()
        .find(|l| l.starts_with("25/tcp"))
        .expect("port line")
        .to_owned()
}

#[test]
fn nmap_names_postfix() {
    let decky = Decky::start(
        "mail-04",
        "",
        "[services.smtp]\nhostname = \"mail.example.org\"",
    );
    let line = nmap_line(&decky);
    // Postfix never shows its version; nmap names the product.
    assert!(
        line.contains("open") && line.contains("smtp") && line.contains("Postfix smtpd"),
        "{line}"
    );
}

#[test]
fn nmap_names_exim_and_its_version() {
    let decky = Decky::start(
        "mail-05",
        "",
        "[services.smtp]\nmta = \"exim\"\nversion = \"4.96\"",
    );
    let line = nmap_line(&decky);
    assert!(
        line.contains("open") && line.contains("Exim smtpd 4.96"),
        "{line}"
    );
}
