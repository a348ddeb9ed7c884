//! Durable on-disk outbox: a segmented append-only log of records with CRCs, batched fsync and acknowledged trimming.
//!
//! The agent appends every attacker event here before anything else happens to it; the mesh
//! link streams records by sequence number and acknowledges them once the master committed
//! them, after which fully acknowledged segments are deleted. Redelivery is allowed, loss is not.
//!
//! # On disk
//!
//! A directory holds `NNNNNNNNNNNNNNNNNNNN.seg` files (20-digit first sequence number),
//! `ack.state` (acknowledged position and the dropped-records counter, replaced through a
//! tmp file, fsync and rename) and `outbox.lock` (an advisory lock against a second opener).
//! Each segment is a plain run of frames `[len u32][crc32 u32][seq u64][payload]` with
//! consecutive sequence numbers; see [`record`].
//!
//! # Durability
//!
//! [`Outbox::append`] only encodes into memory. A commit thread writes and fsyncs the buffer as
//! a group every `flush_interval` (20 ms), as soon as `flush_bytes` accumulate, or at once when
//! someone waits in [`Outbox::sync`]. Readers only ever see fsynced records, so a sequence
//! number the master acknowledged can never be reused after a crash.
//!
//! # Recovery
//!
//! On open the active (last) segment is scanned and its CRCs verified; a torn tail is
//! truncated with a warning. Damaged bytes in the middle of a segment are skipped by
//! resynchronising on the next valid frame (a frame is accepted only if its sequence number
//! fits the gap), so one bad record does not cost the rest of the segment; lost records are
//! counted in `corrupt_records` and logged as errors. Older segments are scanned the same
//! way the first time they are read.
//!
//! # Failure
//!
//! A failing disk (e.g. ENOSPC) never panics: the unwritten records stay buffered and are
//! retried every `retry_interval`, new appends are refused with [`Error::Storage`] until a
//! retry succeeds, and waiters in `sync` get the error. Past `max_total_bytes` the oldest
//! segment is dropped even if unacknowledged, counted in `dropped_records` and logged loudly.

#![warn(missing_docs)]

mod config;
mod error;
mod fault;
mod log;
mod metrics;
mod reader;
pub mod record;
mod recovery;
mod segment;
mod state;
mod syncer;

pub use config::Config;
pub use error::{Error, Result};
#[doc(hidden)]
pub use fault::FaultInjector;
pub use log::{Outbox, ReadLimits};
pub use metrics::Metrics;
pub use segment::Record;
