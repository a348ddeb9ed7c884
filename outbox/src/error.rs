//! Errors returned by the outbox.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong when using an [`crate::Outbox`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process (or another handle in this one) holds the directory's lock.
    #[error("outbox directory {path} is already in use")]
    Locked {
        /// The outbox directory.
        path: PathBuf,
    },
    /// A file operation failed while opening, recovering or reading.
    #[error("outbox I/O error on {path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The storage is failing (for example a full disk); the record was not accepted or not made durable.
    #[error("outbox storage is failing ({kind}): {message}")]
    Storage {
        /// Kind of the last write or fsync error, e.g. [`io::ErrorKind::StorageFull`].
        kind: io::ErrorKind,
        /// Text of the last write or fsync error.
        message: String,
    },
    /// More unwritten bytes are buffered than the configuration allows.
    #[error("outbox has {buffered} bytes waiting for the disk; record rejected")]
    Overloaded {
        /// Bytes currently waiting to be written.
        buffered: usize,
    },
    /// The payload is larger than the configured maximum.
    #[error("record of {len} bytes exceeds the {max}-byte limit")]
    RecordTooLarge {
        /// Payload size.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// An acknowledgement named a record that is not durable yet (or never existed).
    #[error("ack {seq} is beyond the last durable record {durable}")]
    AckBeyondDurable {
        /// Acknowledged sequence number.
        seq: u64,
        /// Last durable sequence number.
        durable: u64,
    },
    /// The 64-bit sequence space is used up.
    #[error("outbox sequence numbers are exhausted")]
    SequenceExhausted,
    /// The outbox was closed.
    #[error("outbox is closed")]
    Closed,
    /// The configuration is inconsistent.
    #[error("invalid outbox configuration: {0}")]
    Config(String),
}

impl Error {
    /// True when the error comes from a full disk (ENOSPC or a quota).
    pub fn is_storage_full(&self) -> bool {
        match self {
            Error::Storage { kind, .. } => {
                matches!(
                    kind,
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                )
            }
            Error::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for outbox operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
