//! A child process appends and syncs until it is killed with SIGKILL; nothing it reported as synced may be lost.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests abort on the first surprise

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{payload_for, read_all};
use decnet_outbox::{Config, Outbox};

const CHILD_ENV: &str = "DECNET_OUTBOX_CRASH_DIR";

fn config() -> Config {
    Config {
        segment_bytes: 64 * 1024,
        flush_interval: Duration::from_millis(2),
        ..Config::default()
    }
}

/// Body of the child process; only meaningful when spawned by `kill9_loses_no_synced_record`.
#[test]
#[ignore = "child process of kill9_loses_no_synced_record, which spawns it"]
fn crash_child() {
    let dir = std::env::var_os(CHILD_ENV).expect("run by kill9_loses_no_synced_record");
    let outbox = Outbox::open(&dir, config()).unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for round in 0u64.. {
        for _ in 0..=(round % 40) {
            let seq = outbox.next_seq();
            outbox.append(&payload_for(seq)).unwrap();
        }
        // Some rounds leave records in flight so the kill lands mid-write as well.
        if round % 3 == 0 {
            continue;
        }
        let durable = outbox.sync().unwrap();
        writeln!(out, "SYNCED {durable}").unwrap();
        if round % 10 == 9 {
            let ack = durable.saturating_sub(300);
            outbox.ack(ack).unwrap();
            writeln!(out, "ACKED {ack}").unwrap();
        }
        out.flush().unwrap();
    }
}

/// What the child reported so far.
#[derive(Default)]
struct Seen {
    highest_synced: u64,
    highest_acked: u64,
    reports: u64,
}

impl Seen {
    fn observe(&mut self, line: &str) {
        if let Some(n) = line.strip_prefix("SYNCED ") {
            self.highest_synced = self.highest_synced.max(n.parse().unwrap());
            self.reports += 1;
        } else if let Some(n) = line.strip_prefix("ACKED ") {
            self.highest_acked = self.highest_acked.max(n.parse().unwrap());
        }
    }
}

#[test]
fn kill9_loses_no_synced_record() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen = Seen::default();
    for round in 0..5u64 {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        seen.reports = 0;
        let wanted = 40 + round * 53;
        for line in lines.by_ref() {
            seen.observe(&line.unwrap());
            if seen.reports >= wanted {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(round * 3));
        child.kill().unwrap();
        child.wait().unwrap();
        // Reports already in the pipe were synced before the kill, so they count too.
        for line in lines {
            match line {
                Ok(line) => seen.observe(&line),
                Err(_) => break,
            }
        }
        assert!(seen.reports >= wanted, "child died early in round {round}");
        let (highest_synced, highest_acked) = (seen.highest_synced, seen.highest_acked);

        let outbox = Outbox::open(dir.path(), config()).unwrap();
        let acked = outbox.acked();
        assert!(acked <= highest_acked, "ack {acked} was never given");
        assert_eq!(
            outbox.first_unacked(),
            acked + 1,
            "records above the ack vanished"
        );
        let records = read_all(&outbox, outbox.first_unacked());
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        let last = seqs.last().copied().unwrap_or(acked);
        assert!(
            last >= highest_synced,
            "round {round}: synced up to {highest_synced} but only {last} survived"
        );
        assert_eq!(
            seqs,
            (acked + 1..=last).collect::<Vec<_>>(),
            "round {round}: gap or disorder"
        );
        for r in &records {
            assert_eq!(
                r.payload.as_ref(),
                payload_for(r.seq).as_slice(),
                "payload of {}",
                r.seq
            );
        }
        assert_eq!(outbox.metrics().corrupt_records, 0);
        assert_eq!(outbox.next_seq(), last + 1);
        outbox.close().unwrap();
    }
    assert!(
        seen.highest_acked > 0,
        "the child never acknowledged anything"
    );
}
