//! Counters kept by the outbox and the snapshot handed to callers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Live counters shared by the appenders, the readers and the commit thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub appended: AtomicU64,
    pub rejected_appends: AtomicU64,
    pub dropped_records: AtomicU64,
    pub corrupt_records: AtomicU64,
    pub truncated_bytes: AtomicU64,
    pub write_errors: AtomicU64,
    pub fsyncs: AtomicU64,
    pub last_fsync_micros: AtomicU64,
    pub persisted_ack: AtomicU64,
    pub storage_failing: AtomicBool,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A point-in-time view of an outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Records appended since this process opened the outbox.
    pub appended_records: u64,
    /// Appends refused because the storage was failing or overloaded.
    pub rejected_appends: u64,
    /// Sequence number of the newest appended record (0 when none ever was).
    pub last_seq: u64,
    /// Every record up to this sequence number is on disk and fsynced.
    pub durable_seq: u64,
    /// Highest acknowledged sequence number.
    pub acked_seq: u64,
    /// Highest acknowledged sequence number written to the state file.
    pub persisted_ack_seq: u64,
    /// Records appended but neither acknowledged nor dropped.
    pub pending_records: u64,
    /// Bytes of segments holding unacknowledged records, plus bytes waiting for the disk.
    pub pending_bytes: u64,
    /// Bytes of all segment files.
    pub disk_bytes: u64,
    /// Bytes appended but not yet written.
    pub buffered_bytes: u64,
    /// Number of segment files.
    pub segments: u64,
    /// Unacknowledged records discarded by the size cap (persisted across restarts).
    pub dropped_records: u64,
    /// Records lost to damaged bytes found in segments.
    pub corrupt_records: u64,
    /// Bytes of torn tails cut off during recovery.
    pub truncated_tail_bytes: u64,
    /// Failed segment writes or fsyncs.
    pub write_errors: u64,
    /// Completed segment fsyncs.
    pub fsyncs: u64,
    /// Duration of the latest segment fsync.
    pub last_fsync_latency: Duration,
    /// False while writes are failing (e.g. the disk is full).
    pub storage_healthy: bool,
}
