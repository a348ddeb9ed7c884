//! Tunables of an outbox, with the defaults the agent uses.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fault::FaultInjector;
use crate::record::{HEADER_LEN, MAX_PAYLOAD_LEN};

/// Outbox configuration; [`Config::default`] gives production values.
#[derive(Clone)]
pub struct Config {
    /// A segment is sealed and a new one started once it reaches this size.
    pub segment_bytes: u64,
    /// Cap on the bytes of all segments; past it the oldest segment is dropped, acknowledged or not.
    pub max_total_bytes: u64,
    /// Longest time an appended record waits before the group commit writes and fsyncs it.
    pub flush_interval: Duration,
    /// A group commit starts early once this many bytes are buffered.
    pub flush_bytes: usize,
    /// Largest accepted payload.
    pub max_record_bytes: usize,
    /// Appends are rejected while more than this many bytes wait for the disk.
    pub max_buffered_bytes: usize,
    /// Pause between retries after a write, fsync or state-file error.
    pub retry_interval: Duration,
    /// Test seam that makes writes or fsyncs fail on demand.
    #[doc(hidden)]
    pub fault: Option<Arc<FaultInjector>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            segment_bytes: 16 * 1024 * 1024,
            max_total_bytes: 1024 * 1024 * 1024,
            flush_interval: Duration::from_millis(20),
            flush_bytes: 1024 * 1024,
            max_record_bytes: 1024 * 1024,
            max_buffered_bytes: 64 * 1024 * 1024,
            retry_interval: Duration::from_millis(500),
            fault: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("segment_bytes", &self.segment_bytes)
            .field("max_total_bytes", &self.max_total_bytes)
            .field("flush_interval", &self.flush_interval)
            .field("flush_bytes", &self.flush_bytes)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("retry_interval", &self.retry_interval)
            .field("fault", &self.fault.is_some())
            .finish()
    }
}

impl Config {
    /// Checks that the values are consistent with each other.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::Config(msg));
        if self.segment_bytes == 0 {
            return fail("segment_bytes must be positive".into());
        }
        if self.max_total_bytes < self.segment_bytes.saturating_mul(2) {
            return fail(format!(
                "max_total_bytes ({}) must be at least twice segment_bytes ({})",
                self.max_total_bytes, self.segment_bytes
            ));
        }
        if self.flush_interval.is_zero() {
            return fail("flush_interval must be positive".into());
        }
        if self.max_record_bytes == 0 || self.max_record_bytes > MAX_PAYLOAD_LEN {
            return fail(format!(
                "max_record_bytes must be between 1 and {MAX_PAYLOAD_LEN}"
            ));
        }
        if self.max_buffered_bytes < self.max_record_bytes + HEADER_LEN {
            return fail("max_buffered_bytes must hold at least one maximal record".into());
        }
        if self.retry_interval.is_zero() {
            return fail("retry_interval must be positive".into());
        }
        Ok(())
    }
}
