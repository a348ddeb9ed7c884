//! The [`Outbox`] handle: appends, durability waits, acknowledgements and metrics.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::{Counters, Metrics};
use crate::record::{self, frame_len};
use crate::recovery;
use crate::segment::Catalogue;
use crate::syncer::Syncer;

const LOCK_FILE: &str = "outbox.lock";

/// Why the commit thread could not write; kept so appends and waiters can report it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: io::ErrorKind,
    pub message: String,
}

impl Failure {
    pub(crate) fn from_io(e: &io::Error) -> Self {
        Failure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    pub(crate) fn to_error(&self) -> Error {
        Error::Storage {
            kind: self.kind,
            message: self.message.clone(),
        }
    }
}

/// Records appended but not yet handed to the commit thread.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Encoded frames waiting for the next group commit.
    pub buf: Vec<u8>,
    /// An empty buffer kept to swap in, so steady-state appends do not reallocate.
    pub spare: Vec<u8>,
    /// Sequence number of the first frame in `buf`.
    pub first_seq: u64,
    /// Number of frames in `buf`.
    pub records: u64,
    /// Sequence number the next append receives.
    pub next_seq: u64,
    /// When `buf` became non-empty; the commit is due `flush_interval` later.
    pub since: Option<Instant>,
    /// A caller waits in `sync`, so commit without waiting for the interval.
    pub sync_requested: bool,
    /// The commit thread was already woken because `flush_bytes` was reached.
    pub kicked: bool,
    /// An acknowledgement arrived that the commit thread has not seen yet.
    pub ack_pending: bool,
    /// Set while writes fail; appends are refused until a retry succeeds.
    pub failure: Option<Failure>,
    /// No more appends; the commit thread drains and stops.
    pub shutdown: bool,
}

/// What sync waiters look at.
#[derive(Debug)]
pub(crate) struct Durability {
    /// Every record up to here is fsynced.
    pub seq: u64,
    /// Set while writes fail.
    pub failure: Option<Failure>,
    /// The commit thread has stopped.
    pub closed: bool,
}

/// State shared by handles, readers and the commit thread.
pub(crate) struct Shared {
    pub dir: PathBuf,
    pub cfg: Config,
    pub pending: Mutex<Pending>,
    /// Wakes the commit thread.
    pub wake: Condvar,
    pub catalogue: RwLock<Catalogue>,
    pub durability: Mutex<Durability>,
    pub durable_cv: Condvar,
    /// Bumped on every durability change so async waiters need not poll.
    pub durable_tx: watch::Sender<u64>,
    /// Highest acknowledged sequence number (in memory; the commit thread persists it).
    pub acked: AtomicU64,
    /// Records up to here were dropped by the size cap.
    pub dropped_through: AtomicU64,
    pub counters: Counters,
}

impl Shared {
    /// Publishes a durability change to blocking and async waiters.
    pub(crate) fn publish(&self, update: impl FnOnce(&mut Durability)) {
        let seq = {
            let mut d = self.durability.lock();
            update(&mut d);
            d.seq
        };
        self.durable_cv.notify_all();
        self.durable_tx.send_replace(seq);
    }

    pub(crate) fn durable_seq(&self) -> u64 {
        self.durability.lock().seq
    }

    /// First record a reader should start from: not acknowledged, not dropped, still on disk.
    pub(crate) fn first_unacked(&self) -> u64 {
        let acked = self.acked.load(Ordering::SeqCst);
        let dropped = self.dropped_through.load(Ordering::SeqCst);
        let oldest = self
            .catalogue
            .read()
            .segments
            .keys()
            .next()
            .copied()
            .unwrap_or(0);
        acked.max(dropped).saturating_add(1).max(oldest)
    }
}

struct Handle {
    shared: Arc<Shared>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    lock: Mutex<Option<File>>,
}

impl Handle {
    fn shutdown(&self) -> Result<()> {
        {
            let mut p = self.shared.pending.lock();
            p.shutdown = true;
        }
        self.shared.wake.notify_all();
        let Some(thread) = self.syncer.lock().take() else {
            // Already closed through another clone; that call reported the outcome.
            return Ok(());
        };
        if thread.join().is_err() {
            tracing::error!("outbox commit thread panicked");
        }
        self.lock.lock().take();
        let p = self.shared.pending.lock();
        if p.records > 0 {
            let failure = p.failure.clone().unwrap_or(Failure {
                kind: io::ErrorKind::Other,
                message: "commit thread stopped".into(),
            });
            return Err(failure.to_error());
        }
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "outbox closed with records that never reached the disk");
        }
    }
}

/// Durable on-disk outbox; cheap to clone, every clone is the same log.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Handle>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("dir", &self.inner.shared.dir)
            .field("durable_seq", &self.durable_seq())
            .finish()
    }
}

/// Limits of one [`Outbox::read_from`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most records to return.
    pub max_records: usize,
    /// Most payload bytes to return; the first record is returned even when larger.
    pub max_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_records: 1024,
            max_bytes: 1024 * 1024,
        }
    }
}

impl Outbox {
    /// Opens (creating if needed) the outbox in `dir`, recovering whatever a crash left behind.
    pub fn open(dir: impl AsRef<Path>, cfg: Config) -> Result<Outbox> {
        cfg.validate()?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked { path: dir }),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }

        let counters = Counters::default();
        let rec = recovery::recover(&dir, &counters)?;
        counters
            .dropped_records
            .store(rec.state.dropped_records, Ordering::Relaxed);
        counters
            .persisted_ack
            .store(rec.state.acked, Ordering::Relaxed);
        let durable = rec.next_seq - 1;
        let (durable_tx, _) = watch::channel(durable);
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(cfg.flush_bytes),
                spare: Vec::with_capacity(cfg.flush_bytes),
                first_seq: rec.next_seq,
                records: 0,
                next_seq: rec.next_seq,
                since: None,
                sync_requested: false,
                kicked: false,
                ack_pending: false,
                failure: None,
                shutdown: false,
            }),
            wake: Condvar::new(),
            catalogue: RwLock::new(rec.catalogue),
            durability: Mutex::new(Durability {
                seq: durable,
                failure: None,
                closed: false,
            }),
            durable_cv: Condvar::new(),
            durable_tx,
            acked: AtomicU64::new(rec.state.acked),
            dropped_through: AtomicU64::new(0),
            counters,
            dir,
            cfg,
        });
        tracing::info!(
            dir = %shared.dir.display(),
            next_seq = rec.next_seq,
            acked = rec.state.acked,
            "outbox opened"
        );
        let syncer = Syncer::new(shared.clone(), rec.writer, rec.state);
        let thread = std::thread::Builder::new()
            .name("outbox-commit".into())
            .spawn(move || syncer.run())
            .map_err(|e| Error::io(&shared.dir, e))?;
        Ok(Outbox {
            inner: Arc::new(Handle {
                shared,
                syncer: Mutex::new(Some(thread)),
                lock: Mutex::new(Some(lock)),
            }),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Buffers a record and returns its sequence number; it becomes durable at the next group commit.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        let sh = self.shared();
        let reject = |e: Error| {
            Counters::add(&sh.counters.rejected_appends, 1);
            Err(e)
        };
        if payload.len() > sh.cfg.max_record_bytes {
            return reject(Error::RecordTooLarge {
                len: payload.len(),
                max: sh.cfg.max_record_bytes,
            });
        }
        let mut wake = false;
        let seq = {
            let mut p = sh.pending.lock();
            if p.shutdown {
                return Err(Error::Closed);
            }
            if let Some(failure) = &p.failure {
                let e = failure.to_error();
                drop(p);
                return reject(e);
            }
            let frame = frame_len(payload.len());
            if p.buf.len() + frame > sh.cfg.max_buffered_bytes {
                let buffered = p.buf.len();
                drop(p);
                return reject(Error::Overloaded { buffered });
            }
            let seq = p.next_seq;
            let Some(next) = seq.checked_add(1) else {
                drop(p);
                return reject(Error::SequenceExhausted);
            };
            if p.buf.is_empty() {
                p.first_seq = seq;
                p.since = Some(Instant::now());
                wake = true;
            }
            record::encode_into(&mut p.buf, seq, payload);
            p.records += 1;
            p.next_seq = next;
            if !p.kicked && p.buf.len() >= sh.cfg.flush_bytes {
                p.kicked = true;
                wake = true;
            }
            seq
        };
        if wake {
            sh.wake.notify_one();
        }
        Counters::add(&sh.counters.appended, 1);
        Ok(seq)
    }

    /// Requests an immediate commit and returns the sequence number to wait for.
    fn request_sync(&self) -> Result<u64> {
        let sh = self.shared();
        let target = {
            let mut p = sh.pending.lock();
            if p.shutdown {
                return Err(Error::Closed);
            }
            if p.records > 0 {
                p.sync_requested = true;
            }
            p.next_seq - 1
        };
        sh.wake.notify_one();
        Ok(target)
    }

    fn check_durable(d: &Durability, target: u64) -> Option<Result<u64>> {
        if d.seq >= target {
            Some(Ok(d.seq))
        } else if let Some(failure) = &d.failure {
            Some(Err(failure.to_error()))
        } else if d.closed {
            Some(Err(Error::Closed))
        } else {
            None
        }
    }

    /// Blocks until every record appended so far is durable; returns the durable sequence number.
    ///
    /// Fails at once while the storage is failing rather than waiting for it to recover.
    pub fn sync(&self) -> Result<u64> {
        let target = self.request_sync()?;
        let sh = self.shared();
        let mut d = sh.durability.lock();
        loop {
            if let Some(outcome) = Self::check_durable(&d, target) {
                return outcome;
            }
            sh.durable_cv.wait(&mut d);
        }
    }

    /// Async form of [`Outbox::sync`] that does not block the executor thread.
    pub async fn sync_async(&self) -> Result<u64> {
        let mut rx = self.shared().durable_tx.subscribe();
        let target = self.request_sync()?;
        loop {
            if let Some(outcome) = Self::check_durable(&self.shared().durability.lock(), target) {
                return outcome;
            }
            if rx.changed().await.is_err() {
                return Err(Error::Closed);
            }
        }
    }

    /// Waits until a record newer than `after` is durable (readable) and returns the durable sequence number.
    pub async fn wait_for_records(&self, after: u64) -> Result<u64> {
        let mut rx = self.shared().durable_tx.subscribe();
        loop {
            {
                let d = self.shared().durability.lock();
                if d.seq > after {
                    return Ok(d.seq);
                }
                if d.closed {
                    return Err(Error::Closed);
                }
            }
            if rx.changed().await.is_err() {
                return Err(Error::Closed);
            }
        }
    }

    /// Blocking form of [`Outbox::wait_for_records`]; `Ok(None)` on timeout.
    pub fn wait_for_records_timeout(&self, after: u64, timeout: Duration) -> Result<Option<u64>> {
        let sh = self.shared();
        let deadline = Instant::now() + timeout;
        let mut d = sh.durability.lock();
        loop {
            if d.seq > after {
                return Ok(Some(d.seq));
            }
            if d.closed {
                return Err(Error::Closed);
            }
            if sh.durable_cv.wait_until(&mut d, deadline).timed_out() {
                return Ok((d.seq > after).then_some(d.seq));
            }
        }
    }

    /// A channel carrying the durable sequence number, for callers that select over several sources.
    pub fn subscribe_durable(&self) -> watch::Receiver<u64> {
        self.shared().durable_tx.subscribe()
    }

    /// Acknowledges every record up to and including `seq`; persisted and trimmed in the background.
    pub fn ack(&self, seq: u64) -> Result<()> {
        let sh = self.shared();
        let durable = sh.durable_seq();
        if seq > durable {
            return Err(Error::AckBeyondDurable { seq, durable });
        }
        if sh.acked.fetch_max(seq, Ordering::SeqCst) < seq {
            sh.pending.lock().ack_pending = true;
            sh.wake.notify_one();
        }
        Ok(())
    }

    /// Highest acknowledged sequence number.
    pub fn acked(&self) -> u64 {
        self.shared().acked.load(Ordering::SeqCst)
    }

    /// Where a reader starts after a restart: the first record neither acknowledged nor dropped.
    pub fn first_unacked(&self) -> u64 {
        self.shared().first_unacked()
    }

    /// Every record up to this sequence number is durable and readable.
    pub fn durable_seq(&self) -> u64 {
        self.shared().durable_seq()
    }

    /// Sequence number the next append will receive.
    pub fn next_seq(&self) -> u64 {
        self.shared().pending.lock().next_seq
    }

    /// Directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.shared().dir
    }

    /// Drains buffered records to disk, persists the ack position and stops the commit thread.
    ///
    /// Other clones see [`Error::Closed`] afterwards; dropping the last clone closes implicitly.
    pub fn close(&self) -> Result<()> {
        self.inner.shutdown()
    }

    /// Current counters and positions.
    pub fn metrics(&self) -> Metrics {
        let sh = self.shared();
        let c = &sh.counters;
        let (last_seq, buffered) = {
            let p = sh.pending.lock();
            (p.next_seq - 1, p.buf.len() as u64)
        };
        let acked = sh.acked.load(Ordering::SeqCst);
        let first_unacked = sh.first_unacked();
        let (disk_bytes, segments, unacked_disk) = {
            let cat = sh.catalogue.read();
            let mut unacked = 0u64;
            let mut iter = cat.segments.values().peekable();
            while let Some(seg) = iter.next() {
                let end = iter.peek().map_or(u64::MAX, |n| n.first_seq);
                if end.saturating_sub(1) > acked {
                    unacked = unacked.saturating_add(seg.disk_len);
                }
            }
            (cat.disk_bytes, cat.segments.len() as u64, unacked)
        };
        Metrics {
            appended_records: Counters::get(&c.appended),
            rejected_appends: Counters::get(&c.rejected_appends),
            last_seq,
            durable_seq: sh.durable_seq(),
            acked_seq: acked,
            persisted_ack_seq: Counters::get(&c.persisted_ack),
            pending_records: (last_seq + 1).saturating_sub(first_unacked),
            pending_bytes: unacked_disk + buffered,
            disk_bytes,
            buffered_bytes: buffered,
            segments,
            dropped_records: Counters::get(&c.dropped_records),
            corrupt_records: Counters::get(&c.corrupt_records),
            truncated_tail_bytes: Counters::get(&c.truncated_bytes),
            write_errors: Counters::get(&c.write_errors),
            fsyncs: Counters::get(&c.fsyncs),
            last_fsync_latency: Duration::from_micros(Counters::get(&c.last_fsync_micros)),
            storage_healthy: !c.storage_failing.load(Ordering::Relaxed),
        }
    }
}
