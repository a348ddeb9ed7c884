//! The commit thread: group commit of buffered frames, segment rolling, ack persistence,
//! trimming and the size cap. It is the only writer of segment files.

use std::fs;
use std::io;
use std::mem;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::log::{Failure, Shared};
use crate::metrics::Counters;
use crate::record::{self, frame_len};
use crate::recovery::{self, Writer};
use crate::segment::{Segment, SparseIndex};
use crate::state::{self, AckState};

/// While storage keeps failing, repeat the loud log line at most this often.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// Frames taken from the pending buffer for one commit.
struct Batch {
    buf: Vec<u8>,
    first_seq: u64,
    records: u64,
}

/// What the commit loop should do next.
struct Work {
    batch: Option<Batch>,
    shutdown: bool,
}

/// Owner of the active segment's write handle and of the persisted ack state.
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    writer: Writer,
    persisted: AckState,
    ack_dirty: bool,
    ack_retry_at: Option<Instant>,
    data_retry_at: Option<Instant>,
    last_error_log: Option<Instant>,
    /// Reused list of (seq, offset) of the frames in the chunk being written.
    frames: Vec<(u64, u64)>,
}

impl Syncer {
    pub(crate) fn new(shared: Arc<Shared>, writer: Writer, persisted: AckState) -> Self {
        Syncer {
            shared,
            writer,
            persisted,
            ack_dirty: false,
            ack_retry_at: None,
            data_retry_at: None,
            last_error_log: None,
            frames: Vec::new(),
        }
    }

    pub(crate) fn run(mut self) {
        // The cap may already be exceeded by what a previous run left behind.
        self.enforce_cap();
        loop {
            let work = self.next_work();
            self.handle_acks(work.shutdown);
            if let Some(batch) = work.batch {
                self.commit(batch);
            }
            self.enforce_cap();
            if work.shutdown {
                self.handle_acks(true);
                break;
            }
        }
        let left = self.shared.pending.lock().records;
        if left > 0 {
            tracing::error!(
                records = left,
                "outbox closing while storage fails; buffered records were never written"
            );
        }
        self.shared.publish(|d| d.closed = true);
    }

    /// Sleeps until a commit is due, an ack arrives, a retry is due or shutdown is requested.
    fn next_work(&mut self) -> Work {
        let shared = self.shared.clone();
        let cfg = &shared.cfg;
        let mut p = shared.pending.lock();
        loop {
            let now = Instant::now();
            if p.shutdown {
                p.ack_pending = false;
                return Work {
                    batch: take(&mut p),
                    shutdown: true,
                };
            }
            let mut deadline: Option<Instant> = None;
            if !p.buf.is_empty() {
                match self.data_retry_at {
                    Some(retry) if now < retry => deadline = Some(retry),
                    _ => {
                        let due = p.since.map_or(now, |s| s + cfg.flush_interval);
                        if p.sync_requested || p.buf.len() >= cfg.flush_bytes || now >= due {
                            p.ack_pending = false;
                            return Work {
                                batch: take(&mut p),
                                shutdown: false,
                            };
                        }
                        deadline = Some(due);
                    }
                }
            }
            let ack_retry_due = self.ack_dirty && self.ack_retry_at.is_none_or(|t| now >= t);
            if p.ack_pending || ack_retry_due {
                p.ack_pending = false;
                return Work {
                    batch: None,
                    shutdown: false,
                };
            }
            if self.ack_dirty
                && let Some(t) = self.ack_retry_at
            {
                deadline = Some(deadline.map_or(t, |d| d.min(t)));
            }
            match deadline {
                Some(d) => {
                    shared.wake.wait_until(&mut p, d);
                }
                None => shared.wake.wait(&mut p),
            }
        }
    }

    /// Writes a batch; on failure the unwritten rest goes back in front of the pending buffer.
    fn commit(&mut self, mut batch: Batch) {
        let (written, written_records, result) = self.write_batch(&batch);
        let shared = self.shared.clone();
        match result {
            Ok(()) => {
                let recovered = {
                    let mut p = shared.pending.lock();
                    batch.buf.clear();
                    if p.spare.capacity() < batch.buf.capacity()
                        && batch.buf.capacity() <= shared.cfg.flush_bytes.saturating_mul(4)
                    {
                        p.spare = mem::take(&mut batch.buf);
                    }
                    p.failure.take().is_some()
                };
                if recovered {
                    self.data_retry_at = None;
                    self.last_error_log = None;
                    shared
                        .counters
                        .storage_failing
                        .store(false, Ordering::Relaxed);
                    shared.publish(|d| d.failure = None);
                    tracing::info!("outbox storage recovered; appends accepted again");
                }
            }
            Err(e) => {
                Counters::add(&shared.counters.write_errors, 1);
                shared
                    .counters
                    .storage_failing
                    .store(true, Ordering::Relaxed);
                let failure = Failure::from_io(&e);
                let now = Instant::now();
                let remaining = batch.records - written_records;
                {
                    let mut p = shared.pending.lock();
                    let rest = batch.buf.get(written..).unwrap_or_default();
                    let mut buf = Vec::with_capacity(rest.len() + p.buf.len());
                    buf.extend_from_slice(rest);
                    buf.extend_from_slice(&p.buf);
                    p.buf = buf;
                    p.first_seq = batch.first_seq + written_records;
                    p.records += remaining;
                    p.since.get_or_insert(now);
                    p.failure = Some(failure.clone());
                }
                shared.publish(|d| d.failure = Some(failure));
                self.data_retry_at = Some(now + shared.cfg.retry_interval);
                if self
                    .last_error_log
                    .is_none_or(|t| now.duration_since(t) >= ERROR_LOG_EVERY)
                {
                    self.last_error_log = Some(now);
                    tracing::error!(
                        error = %e,
                        dir = %shared.dir.display(),
                        unwritten_records = remaining,
                        "outbox cannot write to disk; new events are refused until it recovers"
                    );
                }
            }
        }
    }

    /// Writes frames segment by segment, fsyncing each chunk; returns how much became durable.
    fn write_batch(&mut self, batch: &Batch) -> (usize, u64, io::Result<()>) {
        let buf = &batch.buf;
        let seg_bytes = self.shared.cfg.segment_bytes;
        let mut pos = 0usize;
        let mut seq = batch.first_seq;
        let mut done = 0u64;
        while pos < buf.len() {
            let Some(first_len) = frame_at(buf, pos) else {
                break;
            };
            if self.writer.len > 0
                && self.writer.len + first_len as u64 > seg_bytes
                && let Err(e) = self.roll(seq)
            {
                return (pos, done, Err(e));
            }
            let room = seg_bytes.saturating_sub(self.writer.len);
            self.frames.clear();
            let mut end = pos;
            while let Some(len) = frame_at(buf, end) {
                if end > pos && (end - pos + len) as u64 > room {
                    break;
                }
                self.frames.push((
                    seq + self.frames.len() as u64,
                    self.writer.len + (end - pos) as u64,
                ));
                end += len;
            }
            let chunk = buf.get(pos..end).unwrap_or_default();
            if let Err(e) = self.write_chunk(chunk) {
                return (pos, done, Err(e));
            }
            let n = self.frames.len() as u64;
            self.publish_chunk(seq + n - 1);
            pos = end;
            seq += n;
            done += n;
        }
        (pos, done, Ok(()))
    }

    fn write_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        let fault = self.shared.cfg.fault.clone();
        let at = self.writer.len;
        let file = &self.writer.file;
        let cut_back = |e: io::Error| {
            // Drop whatever part of the chunk landed so the retry starts on a frame boundary.
            if let Err(cut) = file.set_len(at) {
                tracing::warn!(error = %cut, "outbox could not cut a failed write back");
            }
            e
        };
        if let Some(f) = &fault {
            f.write()?;
        }
        file.write_all_at(chunk, at).map_err(cut_back)?;
        let started = Instant::now();
        if let Some(f) = &fault {
            f.sync().map_err(cut_back)?;
        }
        file.sync_data().map_err(cut_back)?;
        let took = started.elapsed();
        let counters = &self.shared.counters;
        Counters::add(&counters.fsyncs, 1);
        counters.last_fsync_micros.store(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.writer.len += chunk.len() as u64;
        Ok(())
    }

    /// Makes the chunk just written visible to readers and sync waiters.
    fn publish_chunk(&mut self, last_seq: u64) {
        {
            let mut cat = self.shared.catalogue.write();
            let mut grew = 0;
            if let Some(seg) = cat.segments.get_mut(&self.writer.first_seq) {
                grew = self.writer.len.saturating_sub(seg.disk_len);
                seg.readable_len = self.writer.len;
                seg.disk_len = self.writer.len;
                let index = seg.index.get_or_insert_with(SparseIndex::default);
                for &(seq, offset) in &self.frames {
                    index.note(seq, offset, false);
                }
            }
            cat.disk_bytes = cat.disk_bytes.saturating_add(grew);
        }
        self.shared.publish(|d| d.seq = d.seq.max(last_seq));
    }

    /// Seals the active segment (already fsynced) and starts a new one at `first_seq`.
    fn roll(&mut self, first_seq: u64) -> io::Result<()> {
        let (path, file, read) = recovery::create_segment_file(&self.shared.dir, first_seq)?;
        tracing::debug!(segment = %path.display(), "outbox rolled to a new segment");
        self.shared.catalogue.write().insert(Segment {
            first_seq,
            path,
            file: read,
            readable_len: 0,
            disk_len: 0,
            index: Some(SparseIndex::default()),
        });
        self.writer = Writer {
            first_seq,
            file,
            len: 0,
        };
        Ok(())
    }

    /// Persists a changed ack position or dropped count, then deletes fully acknowledged segments.
    fn handle_acks(&mut self, force: bool) {
        let shared = self.shared.clone();
        let want = AckState {
            acked: shared.acked.load(Ordering::SeqCst),
            dropped_records: Counters::get(&shared.counters.dropped_records),
        };
        let now = Instant::now();
        if want != self.persisted && (force || self.ack_retry_at.is_none_or(|t| now >= t)) {
            match state::store(&shared.dir, &want) {
                Ok(()) => {
                    self.persisted = want;
                    self.ack_dirty = false;
                    self.ack_retry_at = None;
                    shared
                        .counters
                        .persisted_ack
                        .store(want.acked, Ordering::Relaxed);
                }
                Err(e) => {
                    self.ack_dirty = true;
                    self.ack_retry_at = Some(now + shared.cfg.retry_interval);
                    tracing::warn!(
                        error = %e,
                        acked = want.acked,
                        "outbox could not persist the ack position; will retry (a crash now means redelivery)"
                    );
                }
            }
        }
        self.trim(want.acked);
    }

    fn trim(&mut self, acked: u64) {
        let mut removed = 0usize;
        loop {
            let victim = {
                let mut cat = self.shared.catalogue.write();
                match cat.oldest_end() {
                    Some(end) if end.saturating_sub(1) <= acked => cat.pop_oldest(),
                    _ => None,
                }
            };
            let Some((segment, _)) = victim else { break };
            remove_segment(&segment);
            removed += 1;
        }
        if removed > 0 {
            tracing::debug!(
                segments = removed,
                acked,
                "outbox trimmed acknowledged segments"
            );
            if let Err(e) = state::sync_dir(&self.shared.dir) {
                tracing::warn!(error = %e, "outbox could not fsync its directory after trimming");
            }
        }
    }

    /// Drops the oldest segments, acknowledged or not, while the total exceeds the cap.
    fn enforce_cap(&mut self) {
        let shared = self.shared.clone();
        let cap = shared.cfg.max_total_bytes;
        let mut dropped_any = false;
        loop {
            let victim = {
                let mut cat = shared.catalogue.write();
                if cat.disk_bytes <= cap {
                    None
                } else {
                    cat.pop_oldest()
                }
            };
            let Some((segment, next_first)) = victim else {
                break;
            };
            let acked = shared.acked.load(Ordering::SeqCst);
            let through = shared.dropped_through.load(Ordering::SeqCst);
            let lo = segment
                .first_seq
                .max(acked.saturating_add(1))
                .max(through.saturating_add(1));
            let lost = next_first.saturating_sub(lo);
            shared
                .dropped_through
                .fetch_max(next_first.saturating_sub(1), Ordering::SeqCst);
            Counters::add(&shared.counters.dropped_records, lost);
            tracing::error!(
                segment = %segment.path.display(),
                dropped_records = lost,
                total_dropped = Counters::get(&shared.counters.dropped_records),
                cap_bytes = cap,
                "outbox size cap exceeded: dropped the oldest segment with unacknowledged events"
            );
            remove_segment(&segment);
            dropped_any = true;
        }
        if dropped_any {
            // Persist the new dropped count with the next ack write.
            self.ack_dirty = true;
            self.ack_retry_at = None;
        }
    }
}

fn remove_segment(segment: &Segment) {
    match fs::remove_file(&segment.path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(
            segment = %segment.path.display(),
            error = %e,
            "outbox could not delete a segment; it will be retried on the next open"
        ),
    }
}

/// Frame length at `pos` of a buffer of frames this process encoded.
fn frame_at(buf: &[u8], pos: usize) -> Option<usize> {
    let header = record::parse_header(buf.get(pos..)?)?;
    Some(frame_len(header.len as usize))
}

/// Moves the pending frames into a batch, leaving the spare buffer in their place.
fn take(p: &mut crate::log::Pending) -> Option<Batch> {
    if p.buf.is_empty() {
        return None;
    }
    let spare = mem::take(&mut p.spare);
    let buf = mem::replace(&mut p.buf, spare);
    let batch = Batch {
        buf,
        first_seq: p.first_seq,
        records: p.records,
    };
    p.first_seq = p.next_seq;
    p.records = 0;
    p.since = None;
    p.sync_requested = false;
    p.kicked = false;
    Some(batch)
}
