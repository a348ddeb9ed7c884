//! Behaviour of the outbox against real files: durability, restarts, acks, trimming, caps, damage.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests abort on the first surprise

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{payload_for, read_all, segment_files, small_config};
use decnet_outbox::{Config, Error, FaultInjector, Outbox, ReadLimits};

fn append_n(outbox: &Outbox, n: u64) -> Vec<u64> {
    (0..n)
        .map(|_| {
            let seq = outbox.next_seq();
            outbox.append(&payload_for(seq)).unwrap()
        })
        .collect()
}

fn assert_payloads(records: &[decnet_outbox::Record]) {
    for r in records {
        assert_eq!(
            r.payload.as_ref(),
            payload_for(r.seq).as_slice(),
            "payload of {}",
            r.seq
        );
    }
}

#[test]
fn sequence_numbers_start_at_one_and_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    let seqs = append_n(&outbox, 100);
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    assert_eq!(outbox.sync().unwrap(), 100);
    outbox.close().unwrap();
    drop(outbox);

    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    assert_eq!(outbox.next_seq(), 101);
    assert_eq!(outbox.first_unacked(), 1);
    let records = read_all(&outbox, 1);
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), seqs);
    assert_payloads(&records);
    assert!(
        segment_files(dir.path()).len() > 3,
        "4 KiB segments must have rolled"
    );
}

#[test]
fn records_are_readable_only_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        flush_interval: Duration::from_secs(3600),
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    outbox.append(b"first").unwrap();
    assert!(
        outbox
            .read_from(1, ReadLimits::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(outbox.durable_seq(), 0);
    assert_eq!(outbox.sync().unwrap(), 1);
    let records = outbox.read_from(1, ReadLimits::default()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].payload.as_ref(), b"first");
}

#[test]
fn group_commit_happens_without_sync_within_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    outbox.append(b"x").unwrap();
    let got = outbox
        .wait_for_records_timeout(0, Duration::from_secs(5))
        .unwrap();
    assert_eq!(got, Some(1));
    let m = outbox.metrics();
    assert!(m.fsyncs >= 1);
    assert_eq!(m.durable_seq, 1);
    assert_eq!(
        outbox
            .wait_for_records_timeout(1, Duration::from_millis(30))
            .unwrap(),
        None
    );
}

#[test]
fn flush_bytes_triggers_an_early_commit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        flush_interval: Duration::from_secs(3600),
        flush_bytes: 2048,
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    for _ in 0..20 {
        outbox.append(&[1u8; 200]).unwrap();
    }
    let got = outbox
        .wait_for_records_timeout(0, Duration::from_secs(5))
        .unwrap();
    assert!(
        got.is_some(),
        "2 KiB of frames must commit before the 1 h interval"
    );
}

#[tokio::test]
async fn async_waiters_wake_on_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    let reader = outbox.clone();
    let waiter = tokio::spawn(async move { reader.wait_for_records(0).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished());
    outbox.append(b"wake").unwrap();
    let seq = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seq, 1);
    outbox.append(b"two").unwrap();
    // Spawned, so the future must be Send (no lock guard held across an await).
    let syncer = outbox.clone();
    let durable = tokio::spawn(async move { syncer.sync_async().await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(durable, 2);
    fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    send_sync(&outbox);
}

#[test]
fn ack_is_persisted_and_acknowledged_segments_are_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    append_n(&outbox, 200);
    outbox.sync().unwrap();
    let before = segment_files(dir.path()).len();
    assert!(matches!(
        outbox.ack(201),
        Err(Error::AckBeyondDurable {
            seq: 201,
            durable: 200
        })
    ));
    outbox.ack(150).unwrap();
    outbox.ack(20).unwrap(); // a stale ack never moves the position back
    assert_eq!(outbox.acked(), 150);
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox.metrics().persisted_ack_seq < 150 || segment_files(dir.path()).len() >= before {
        assert!(
            Instant::now() < deadline,
            "ack never persisted or nothing trimmed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Every remaining segment still holds a record above the ack.
    let records = read_all(&outbox, 1);
    assert!(records.first().unwrap().seq <= 151);
    assert_eq!(records.last().unwrap().seq, 200);
    outbox.close().unwrap();
    drop(outbox);

    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    assert_eq!(outbox.acked(), 150);
    assert_eq!(outbox.first_unacked(), 151);
    let records = read_all(&outbox, outbox.first_unacked());
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (151..=200).collect::<Vec<_>>()
    );
    assert_payloads(&records);
    assert_eq!(outbox.metrics().pending_records, 50);
}

#[test]
fn everything_acked_then_restart_keeps_counting() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    append_n(&outbox, 50);
    outbox.sync().unwrap();
    outbox.ack(50).unwrap();
    outbox.close().unwrap();
    drop(outbox);
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    assert_eq!(outbox.next_seq(), 51);
    assert!(read_all(&outbox, outbox.first_unacked()).is_empty());
    assert_eq!(outbox.append(b"next").unwrap(), 51);
    assert_eq!(segment_files(dir.path()).len(), 1);
}

#[test]
fn ack_ahead_of_a_lost_tail_never_reuses_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    append_n(&outbox, 10);
    outbox.sync().unwrap();
    outbox.ack(10).unwrap();
    outbox.close().unwrap();
    drop(outbox);
    // Simulate the log losing its tail while the ack survived (e.g. a disk that lied about fsync).
    let last = segment_files(dir.path()).pop().unwrap();
    OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(0)
        .unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    assert_eq!(outbox.append(b"after").unwrap(), 11);
    outbox.sync().unwrap();
    let records = read_all(&outbox, 1);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].seq, 11);
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        segment_bytes: 1024 * 1024,
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg.clone()).unwrap();
    append_n(&outbox, 30);
    outbox.sync().unwrap();
    outbox.close().unwrap();
    drop(outbox);

    let seg = segment_files(dir.path()).pop().unwrap();
    let len = fs::metadata(&seg).unwrap().len();
    // Cut the last record in half and add the start of a frame that never finished.
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&[0x20, 0, 0, 0, 0xde, 0xad])
        .unwrap();

    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    let m = outbox.metrics();
    assert!(m.truncated_tail_bytes > 0);
    assert_eq!(m.corrupt_records, 0, "a torn tail is not corruption");
    assert_eq!(outbox.next_seq(), 30);
    let records = read_all(&outbox, 1);
    assert_eq!(records.len(), 29);
    assert_payloads(&records);
    let seq = outbox.next_seq();
    assert_eq!(outbox.append(&payload_for(seq)).unwrap(), 30);
    outbox.sync().unwrap();
    let records = read_all(&outbox, 1);
    assert_eq!(records.len(), 30);
    assert_payloads(&records);
}

fn corrupt_byte(path: &std::path::Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0xff;
    fs::write(path, bytes).unwrap();
}

#[test]
fn damaged_record_in_the_active_segment_is_skipped_not_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        segment_bytes: 1024 * 1024,
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg.clone()).unwrap();
    for i in 1..=20u64 {
        outbox.append(&[i as u8; 100]).unwrap();
    }
    outbox.sync().unwrap();
    outbox.close().unwrap();
    drop(outbox);

    // Record 5 starts at 4 * 116 bytes; hit its payload.
    let seg = segment_files(dir.path()).pop().unwrap();
    corrupt_byte(&seg, 4 * 116 + 40);

    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    let m = outbox.metrics();
    assert_eq!(m.corrupt_records, 1);
    assert_eq!(m.truncated_tail_bytes, 0);
    let seqs: Vec<u64> = read_all(&outbox, 1).iter().map(|r| r.seq).collect();
    let expected: Vec<u64> = (1..=20).filter(|&s| s != 5).collect();
    assert_eq!(seqs, expected);
    assert_eq!(outbox.append(b"more").unwrap(), 21);
}

#[test]
fn damaged_sealed_segment_is_read_around_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    for _ in 0..100 {
        outbox.append(&[7u8; 100]).unwrap();
    }
    outbox.sync().unwrap();
    outbox.close().unwrap();
    drop(outbox);
    let files = segment_files(dir.path());
    assert!(files.len() >= 3);
    // Damage the middle of the first (sealed) segment and the header of its last record.
    let first = &files[0];
    let len = fs::metadata(first).unwrap().len();
    corrupt_byte(first, 116 * 3 + 20);
    corrupt_byte(first, len - 116 + 2);

    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    assert_eq!(
        outbox.metrics().corrupt_records,
        0,
        "sealed segments are scanned lazily"
    );
    let seqs: Vec<u64> = read_all(&outbox, 1).iter().map(|r| r.seq).collect();
    let per_segment = len / 116;
    let expected: Vec<u64> = (1..=100).filter(|&s| s != 4 && s != per_segment).collect();
    assert_eq!(seqs, expected);
    assert_eq!(outbox.metrics().corrupt_records, 2);
    read_all(&outbox, 1);
    assert_eq!(
        outbox.metrics().corrupt_records,
        2,
        "damage is counted once"
    );
}

#[test]
fn size_cap_drops_oldest_unacked_segment_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        segment_bytes: 4 * 1024,
        max_total_bytes: 16 * 1024,
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg.clone()).unwrap();
    for _ in 0..500 {
        outbox.append(&[3u8; 100]).unwrap();
    }
    outbox.sync().unwrap();
    // The cap is enforced by the commit thread right after the write that crossed it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox.metrics().disk_bytes > 16 * 1024 {
        assert!(Instant::now() < deadline, "cap never enforced");
        std::thread::sleep(Duration::from_millis(2));
    }
    let m = outbox.metrics();
    assert!(m.dropped_records > 0);
    let records = read_all(&outbox, 1);
    let first = outbox.first_unacked();
    assert_eq!(records.first().unwrap().seq, first);
    assert_eq!(records.last().unwrap().seq, 500);
    assert_eq!(
        m.dropped_records + records.len() as u64,
        500,
        "every record is either kept or counted"
    );
    assert_eq!(m.pending_records, records.len() as u64);
    let dropped = m.dropped_records;
    outbox.close().unwrap();
    drop(outbox);

    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    assert_eq!(
        outbox.metrics().dropped_records,
        dropped,
        "dropped counter is persisted"
    );
    assert_eq!(outbox.first_unacked(), first);
    assert_eq!(outbox.append(b"still accepting").unwrap(), 501);
}

#[test]
fn oversized_record_is_rejected_and_large_ones_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        max_record_bytes: 200_000,
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    assert!(matches!(
        outbox.append(&vec![0u8; 200_001]),
        Err(Error::RecordTooLarge { .. })
    ));
    let big = vec![9u8; 150_000];
    outbox.append(b"small").unwrap();
    outbox.append(&big).unwrap();
    outbox.append(b"tail").unwrap();
    outbox.sync().unwrap();
    let one = outbox
        .read_from(
            1,
            ReadLimits {
                max_records: 10,
                max_bytes: 100,
            },
        )
        .unwrap();
    assert_eq!(one.len(), 1, "byte budget stops before the big record");
    let rest = outbox
        .read_from(
            2,
            ReadLimits {
                max_records: 10,
                max_bytes: 100,
            },
        )
        .unwrap();
    assert_eq!(
        rest.len(),
        1,
        "the big record is returned alone despite the budget"
    );
    assert_eq!(rest[0].payload.len(), big.len());
    assert_eq!(outbox.metrics().rejected_appends, 1);
}

#[test]
fn second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    assert!(matches!(
        Outbox::open(dir.path(), small_config()),
        Err(Error::Locked { .. })
    ));
    outbox.close().unwrap();
    Outbox::open(dir.path(), small_config()).unwrap();
}

#[test]
fn closed_outbox_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    let other = outbox.clone();
    outbox.append(b"a").unwrap();
    outbox.close().unwrap();
    assert!(matches!(other.append(b"b"), Err(Error::Closed)));
    assert!(matches!(other.sync(), Err(Error::Closed)));
    assert_eq!(other.read_from(1, ReadLimits::default()).unwrap().len(), 1);
}

#[test]
fn failing_fsync_refuses_appends_then_recovers_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let fault = Arc::new(FaultInjector::default());
    let cfg = Config {
        fault: Some(fault.clone()),
        ..small_config()
    };
    let outbox = Outbox::open(dir.path(), cfg.clone()).unwrap();
    append_n(&outbox, 10);
    outbox.sync().unwrap();

    // Fail until told otherwise, so the assertions below cannot race a successful retry.
    fault.fail_syncs(u32::MAX);
    append_n(&outbox, 5);
    let err = outbox.sync().unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err}");
    let refused = outbox.append(b"refused");
    assert!(matches!(refused, Err(Error::Storage { .. })));
    let m = outbox.metrics();
    assert!(!m.storage_healthy);
    assert!(m.write_errors >= 1);
    assert_eq!(m.durable_seq, 10);
    assert!(
        outbox
            .read_from(11, ReadLimits::default())
            .unwrap()
            .is_empty()
    );

    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        outbox.durable_seq(),
        10,
        "retries keep failing while the fault lasts"
    );
    assert!(
        outbox.metrics().write_errors >= 2,
        "the commit thread retries"
    );

    // Retries run every 20 ms; once the fault clears the buffered records land.
    fault.fail_syncs(0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox.durable_seq() < 15 {
        assert!(Instant::now() < deadline, "never recovered");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(outbox.metrics().storage_healthy);
    let seq = outbox.next_seq();
    assert_eq!(seq, 16);
    outbox.append(&payload_for(seq)).unwrap();
    outbox.sync().unwrap();

    fault.fail_writes(u32::MAX);
    let seq = outbox.next_seq();
    outbox.append(&payload_for(seq)).unwrap();
    assert!(outbox.sync().is_err());
    assert!(outbox.append(b"refused").is_err());
    fault.fail_writes(0);
    while outbox.durable_seq() < seq {
        assert!(
            Instant::now() < deadline,
            "never recovered from the write error"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    outbox.close().unwrap();
    drop(outbox);

    let outbox = Outbox::open(dir.path(), cfg).unwrap();
    let records = read_all(&outbox, 1);
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=17).collect::<Vec<_>>()
    );
    assert_payloads(&records);
}

#[test]
fn invalid_configuration_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        segment_bytes: 1024,
        max_total_bytes: 1500,
        ..Config::default()
    };
    assert!(matches!(
        Outbox::open(dir.path(), cfg),
        Err(Error::Config(_))
    ));
}

#[test]
fn garbage_files_next_to_segments_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    fs::write(dir.path().join("42.seg"), b"misnamed").unwrap();
    let outbox = Outbox::open(dir.path(), small_config()).unwrap();
    outbox.append(b"x").unwrap();
    outbox.sync().unwrap();
    assert!(dir.path().join("notes.txt").exists());
    assert_eq!(read_all(&outbox, 1).len(), 1);
}
