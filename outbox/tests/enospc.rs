//! A real full disk: the outbox lives on a 1 MiB tmpfs that fills up, then space comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests abort on the first surprise

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{payload_for, read_all};
use decnet_outbox::{Config, Error, Outbox};

/// A tmpfs mounted for the test and unmounted however the test ends.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let plain = Command::new("umount").arg(self.dir.path()).status();
        if !plain.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

#[test]
fn full_disk_refuses_appends_keeps_data_and_recovers() {
    let Some(fs) = Tmpfs::mount("1m") else {
        // Covered without privileges by the fault-injection test in outbox.rs.
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let dir = fs.path().join("outbox");
    let cfg = Config {
        segment_bytes: 64 * 1024,
        max_total_bytes: 64 * 1024 * 1024,
        flush_interval: Duration::from_millis(5),
        retry_interval: Duration::from_millis(20),
        ..Config::default()
    };
    let outbox = Outbox::open(&dir, cfg.clone()).unwrap();

    let mut durable = 0;
    let mut failure = None;
    for i in 0..100_000u64 {
        let seq = outbox.next_seq();
        match outbox.append(&payload_for(seq)) {
            Ok(s) => assert_eq!(s, seq),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        if i % 50 == 49 {
            match outbox.sync() {
                Ok(d) => durable = d,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    let failure = failure.expect("a 1 MiB tmpfs never filled up");
    assert!(failure.is_storage_full(), "unexpected error {failure}");
    let refused = outbox.append(b"refused while full").unwrap_err();
    assert!(matches!(refused, Error::Storage { .. }) && refused.is_storage_full());
    let m = outbox.metrics();
    assert!(!m.storage_healthy);
    assert!(m.write_errors >= 1);
    assert!(m.rejected_appends >= 1);
    assert!(durable > 1000, "only {durable} records fitted in 1 MiB");
    let appended = outbox.next_seq() - 1;
    assert!(
        appended > durable,
        "the failed batch must still be buffered"
    );

    // What was durable before the disk filled is intact.
    let records = read_all(&outbox, 1);
    assert!(records.len() as u64 >= durable);
    for r in &records {
        assert_eq!(r.payload.as_ref(), payload_for(r.seq).as_slice());
    }

    // Acknowledging frees whole segments; the buffered records then reach the disk.
    let acked = durable - 100;
    outbox.ack(acked).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox.durable_seq() < appended {
        assert!(
            Instant::now() < deadline,
            "outbox never recovered after space returned"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(outbox.metrics().storage_healthy);
    let seq = outbox.next_seq();
    assert_eq!(outbox.append(&payload_for(seq)).unwrap(), appended + 1);
    assert_eq!(outbox.sync().unwrap(), appended + 1);
    outbox.close().unwrap();
    drop(outbox);

    let outbox = Outbox::open(&dir, cfg).unwrap();
    assert_eq!(outbox.acked(), acked);
    let records = read_all(&outbox, outbox.first_unacked());
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (acked + 1..=appended + 1).collect::<Vec<_>>());
    for r in &records {
        assert_eq!(r.payload.as_ref(), payload_for(r.seq).as_slice());
    }
    outbox.close().unwrap();
}
