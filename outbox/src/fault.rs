//! Write-error injection, so tests can exercise failing fsyncs that a full tmpfs cannot produce.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

/// Makes the next N data writes or fsyncs of an outbox fail with a chosen error.
#[derive(Debug, Default)]
pub struct FaultInjector {
    writes: AtomicU32,
    syncs: AtomicU32,
}

impl FaultInjector {
    /// Fails the next `n` segment writes.
    pub fn fail_writes(&self, n: u32) {
        self.writes.store(n, Ordering::SeqCst);
    }

    /// Fails the next `n` segment fsyncs.
    pub fn fail_syncs(&self, n: u32) {
        self.syncs.store(n, Ordering::SeqCst);
    }

    pub(crate) fn write(&self) -> io::Result<()> {
        take(&self.writes, "injected write failure")
    }

    pub(crate) fn sync(&self) -> io::Result<()> {
        take(&self.syncs, "injected fsync failure")
    }
}

fn take(counter: &AtomicU32, what: &str) -> io::Result<()> {
    let taken = counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    match taken {
        Ok(_) => Err(io::Error::other(what.to_string())),
        Err(_) => Ok(()),
    }
}
