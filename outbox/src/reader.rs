//! Reading durable records for the streaming link, including lazy indexing of older segments.

use std::fs;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::log::{Outbox, ReadLimits};
use crate::recovery;
use crate::segment::{self, Budget, Record, RunEnd, SparseIndex};

/// Where the next read of one segment starts.
enum Step {
    /// The segment comes from an earlier run and has not been scanned yet.
    NeedIndex(u64),
    /// Read frames from `offset` (whose record is `seq`) up to `end`.
    Read {
        first_seq: u64,
        file: Arc<fs::File>,
        path: std::path::PathBuf,
        offset: u64,
        seq: u64,
        end: u64,
        next: Option<u64>,
    },
    /// The segment holds no valid record; continue with the next one, if any.
    Skip(Option<u64>),
    /// Nothing left to read.
    Done,
}

impl Outbox {
    /// Returns durable records with `seq >= from`, oldest first, within `limits`.
    ///
    /// Records that were acknowledged but not trimmed yet are returned too, so a link can
    /// re-read after reconnecting; use [`Outbox::first_unacked`] to start after a restart.
    /// Records dropped by the size cap or lost to corruption are simply absent (the
    /// sequence numbers jump). This does positioned file reads (usually from the page
    /// cache); async callers reading large batches may prefer `spawn_blocking`.
    pub fn read_from(&self, from: u64, limits: ReadLimits) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut budget = Budget {
            records_left: limits.max_records,
            bytes_left: limits.max_bytes,
        };
        let durable = self.durable_seq();
        let mut from = from;
        // Set after damage is met mid-segment: continue at this (segment, offset, seq).
        let mut resume: Option<(u64, u64, u64)> = None;
        while budget.records_left > 0 && from <= durable {
            match self.step(from, resume) {
                Step::Done | Step::Skip(None) => break,
                Step::Skip(Some(next)) => from = from.max(next),
                Step::NeedIndex(first_seq) => self.index_segment(first_seq)?,
                Step::Read {
                    first_seq,
                    file,
                    path,
                    offset,
                    seq,
                    end,
                    next,
                } => {
                    let run =
                        segment::read_run(&file, offset, seq, end, from, &mut budget, &mut out)
                            .map_err(|e| Error::io(&path, e))?;
                    resume = None;
                    let to_next = match run {
                        RunEnd::Limit => break,
                        RunEnd::End => true,
                        RunEnd::Invalid(at) => {
                            tracing::error!(
                                segment = %path.display(),
                                offset = at,
                                "outbox read met a damaged record; skipping to the next valid one"
                            );
                            resume = self
                                .entry_after(first_seq, at)
                                .map(|(s, o)| (first_seq, o, s));
                            resume.is_none()
                        }
                    };
                    if to_next {
                        match next {
                            Some(n) => from = from.max(n),
                            None => break,
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Decides which segment and offset to read next.
    fn step(&self, from: u64, resume: Option<(u64, u64, u64)>) -> Step {
        let cat = self.shared().catalogue.read();
        let segment = match resume {
            Some((first, _, _)) => cat.segments.get(&first),
            None => cat.holding(from),
        };
        let Some(seg) = segment else {
            return Step::Done;
        };
        let Some(index) = &seg.index else {
            return Step::NeedIndex(seg.first_seq);
        };
        let next = cat.next_after(seg.first_seq);
        let (seq, offset) = match resume {
            Some((_, offset, seq)) => (seq, offset),
            None => match index.locate(from) {
                Some(entry) => entry,
                None => return Step::Skip(next),
            },
        };
        Step::Read {
            first_seq: seg.first_seq,
            file: seg.file.clone(),
            path: seg.path.clone(),
            offset,
            seq,
            end: seg.readable_len,
            next,
        }
    }

    /// The index entry following damaged bytes at `offset`.
    fn entry_after(&self, first_seq: u64, offset: u64) -> Option<(u64, u64)> {
        let cat = self.shared().catalogue.read();
        cat.segments
            .get(&first_seq)?
            .index
            .as_ref()?
            .after_offset(offset)
    }

    /// Scans a sealed segment from an earlier run, counting any damage once, and installs its index.
    fn index_segment(&self, first_seq: u64) -> Result<()> {
        let sh = self.shared();
        let (path, next) = {
            let cat = sh.catalogue.read();
            match cat.segments.get(&first_seq) {
                Some(seg) if seg.index.is_none() => (seg.path.clone(), cat.next_after(first_seq)),
                _ => return Ok(()),
            }
        };
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::error!(segment = %path.display(), "outbox segment vanished from disk");
                Vec::new()
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let (index, summary) = SparseIndex::from_scan(&data, first_seq, next);
        let mut cat = sh.catalogue.write();
        if let Some(seg) = cat.segments.get_mut(&first_seq)
            && seg.index.is_none()
        {
            recovery::report_damage(
                &path,
                first_seq,
                next,
                &summary,
                data.len() as u64,
                sh.acked.load(Ordering::SeqCst),
                &sh.counters,
            );
            seg.readable_len = summary.valid_end as u64;
            seg.index = Some(index);
        }
        Ok(())
    }
}
