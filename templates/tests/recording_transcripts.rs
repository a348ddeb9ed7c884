//! Session recording end to end: a real `ssh -tt` session recorded across a
//! day-shard rotation and read back, and the disk-pressure skip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::process::Command;

use common::{Decky, run_client, session_of};
use decnet_templates::recording::{Page, read_session};

fn ssh_tt(ip: &str, script: &str) -> String {
    let (status, out, err) = run_client(
        Command::new("sshpass").args([
            "-p",
            "toor",
            "ssh",
            "-tt",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "PubkeyAuthentication=no",
            &format!("root@{ip}"),
        ]),
        Some(script),
    );
    assert!(status.success(), "{err}");
    out
}

#[test]
fn a_session_spanning_a_rotation_reads_back_whole() {
    let data = tempfile::tempdir().unwrap();
    let decky = Decky::start(
        "rec-01",
        &format!("data_dir = \"{}\"", data.path().display()),
        "[services.ssh]\nport = 22\nusers = \"root:toor\"\ntranscript_shard_mb = 1\ntranscript_rotations = 3",
    );
    // Each seq prints ~589 kB: the 1 MB shard rotates mid-session.
    let out = ssh_tt(
        &decky.ip.to_string(),
        "seq 1 100000\nseq 1 100000\nseq 1 100000\nexit\n",
    );
    let events = decky.wait_for("session_recorded", |e| {
        e.iter().any(|e| e.event_type == "session_recorded")
    });
    let rec = events
        .iter()
        .find(|e| e.event_type == "session_recorded")
        .unwrap();
    let sid = rec.fields["sid"].clone();
    assert_eq!(rec.fields["truncated"], "false");
    let dir = data.path().join("transcripts");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    println!("shards: {files:?}");
    assert!(files.len() >= 2, "the day shard rotated: {files:?}");
    assert!(files.iter().any(|f| f.ends_with(".1.jsonl")));
    let all = read_session(
        &dir,
        "rec-01",
        "ssh",
        None,
        &sid,
        Page {
            offset: 0,
            limit: 5000,
        },
    )
    .unwrap();
    let shown: String = all
        .events
        .iter()
        .filter(|e| e.1 == "o")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(shown, out, "the cast is the session, whole and in order");
    assert!(!all.has_more);
    let page = read_session(
        &dir,
        "rec-01",
        "ssh",
        Some(&all.day),
        &sid,
        Page {
            offset: 2,
            limit: 3,
        },
    )
    .unwrap();
    assert_eq!(page.events, all.events[2..5]);
    assert_eq!(page.total, all.total);
    assert!(page.has_more);
    let cast = page.to_asciicast();
    assert!(cast.starts_with("{\"version\":2,"), "{cast}");
}

#[test]
fn disk_pressure_skips_recording_with_an_event() {
    let data = tempfile::tempdir().unwrap();
    let decky = Decky::start(
        "rec-02",
        &format!("data_dir = \"{}\"", data.path().display()),
        "[services.ssh]\nport = 22\nusers = \"root:toor\"\ntranscript_min_free_mb = 1048576",
    );
    let out = ssh_tt(&decky.ip.to_string(), "id\nexit\n");
    assert!(out.contains("uid=0(root)"));
    let events = decky.wait_for("disconnect", |e| {
        e.iter().any(|e| e.event_type == "disconnect")
    });
    let conn = session_of(&events, events[0].session_id.as_deref().unwrap());
    let kinds: Vec<&str> = conn.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "connect",
            "client_version",
            "auth",
            "session_skipped",
            "command",
            "command",
            "disconnect"
        ]
    );
    let skipped = conn[3];
    assert_eq!(skipped.fields["reason"], "disk_pressure");
    assert_eq!(skipped.fields["sid"], events[0].session_id.clone().unwrap());
    assert!(
        !data
            .path()
            .join("transcripts")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
    );
}
