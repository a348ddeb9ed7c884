//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // shared by several test binaries

use std::path::{Path, PathBuf};
use std::time::Duration;

use decnet_outbox::{Config, Outbox, ReadLimits, Record};

/// A payload whose content and length depend on the sequence number, so any mix-up shows.
pub fn payload_for(seq: u64) -> Vec<u8> {
    let len = 20 + (seq.wrapping_mul(7919) % 400) as usize;
    let mut out = Vec::with_capacity(len);
    let tag = seq.to_le_bytes();
    while out.len() < len {
        out.extend_from_slice(&tag);
    }
    out.truncate(len);
    out
}

/// Small segments and a short interval so tests roll and commit quickly.
pub fn small_config() -> Config {
    Config {
        segment_bytes: 4 * 1024,
        max_total_bytes: 64 * 1024 * 1024,
        flush_interval: Duration::from_millis(5),
        retry_interval: Duration::from_millis(20),
        ..Config::default()
    }
}

/// Reads everything from `from` in several small batches.
pub fn read_all(outbox: &Outbox, from: u64) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut next = from;
    loop {
        let batch = outbox
            .read_from(
                next,
                ReadLimits {
                    max_records: 37,
                    max_bytes: 8 * 1024,
                },
            )
            .unwrap();
        let Some(last) = batch.last() else { break };
        next = last.seq + 1;
        out.extend(batch);
    }
    out
}

/// Segment files in `dir`, sorted.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

/// A temp dir on tmpfs when available, so fsync-heavy property tests run fast on real files.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}
