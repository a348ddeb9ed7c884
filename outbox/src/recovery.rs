//! Opening a directory after a clean stop or a crash: trim, scan the active segment, cut a torn tail.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::metrics::Counters;
use crate::record::ScanSummary;
use crate::segment::{self, Catalogue, Segment, SparseIndex};
use crate::state::{self, AckState};

/// The active segment as the commit thread owns it.
#[derive(Debug)]
pub(crate) struct Writer {
    /// First sequence number (the file name).
    pub first_seq: u64,
    /// Write handle; writes are positioned at `len`.
    pub file: File,
    /// Bytes known durable; anything beyond is cut before the next write.
    pub len: u64,
}

/// Everything `Outbox::open` needs to start.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub catalogue: Catalogue,
    pub writer: Writer,
    pub next_seq: u64,
    pub state: AckState,
}

/// Records in `[lo, hi)` that were not acknowledged, i.e. the ones whose loss matters.
fn unacked_in(lo: u64, hi: u64, acked: u64) -> u64 {
    hi.saturating_sub(lo.max(acked.saturating_add(1)))
}

/// Logs and counts damage found by a scan; `seq_end` is the next segment's first sequence number.
///
/// Returns the number of unacknowledged records lost. A trailing invalid region in the active
/// segment (`seq_end == None`) is a torn write, not damage, and is left to the caller.
pub(crate) fn report_damage(
    path: &Path,
    first_seq: u64,
    seq_end: Option<u64>,
    summary: &ScanSummary,
    file_len: u64,
    acked: u64,
    counters: &Counters,
) -> u64 {
    let mut lost = 0u64;
    for gap in &summary.gaps {
        let hi = gap.first_missing.saturating_add(gap.lost_records);
        let n = unacked_in(gap.first_missing, hi, acked);
        lost = lost.saturating_add(n);
        tracing::error!(
            segment = %path.display(),
            offset = gap.start,
            skipped_bytes = gap.end - gap.start,
            lost_records = n,
            "outbox segment is corrupt; skipped to the next valid record"
        );
    }
    if let Some(end) = seq_end
        && (summary.valid_end as u64) < file_len
    {
        let lo = summary.last_seq.map_or(first_seq, |s| s.saturating_add(1));
        let n = unacked_in(lo, end, acked);
        lost = lost.saturating_add(n);
        tracing::error!(
            segment = %path.display(),
            offset = summary.valid_end,
            skipped_bytes = file_len - summary.valid_end as u64,
            lost_records = n,
            "outbox sealed segment ends in damaged bytes; continuing with the next segment"
        );
    }
    Counters::add(&counters.corrupt_records, lost);
    lost
}

/// Recovers the directory's segments and ack state.
pub(crate) fn recover(dir: &Path, counters: &Counters) -> Result<Recovered> {
    state::remove_leftovers(dir);
    let state = state::load(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = segment::list(dir).map_err(|e| Error::io(dir, e))?;

    // Segments wholly acknowledged before the crash may still be here if trimming lagged.
    let mut trimmed = 0usize;
    while files.len() > 1 && files[1].0.saturating_sub(1) <= state.acked {
        let (_, path) = files.remove(0);
        match fs::remove_file(&path) {
            Ok(()) => trimmed += 1,
            Err(e) => {
                return Err(Error::io(path, e));
            }
        }
    }
    if trimmed > 0 {
        state::sync_dir(dir).map_err(|e| Error::io(dir, e))?;
    }

    let mut catalogue = Catalogue::default();
    let last = files.pop();
    for (first_seq, path) in files {
        let len = fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
        let file = segment::open_read(&path).map_err(|e| Error::io(&path, e))?;
        catalogue.insert(Segment {
            first_seq,
            path,
            file,
            readable_len: len,
            disk_len: len,
            index: None,
        });
    }

    let floor = state.acked.checked_add(1).ok_or(Error::SequenceExhausted)?;
    let (writer, next_seq) = match last {
        None => (create_segment(dir, floor, &mut catalogue)?, floor),
        Some((first_seq, path)) => recover_active(
            dir,
            first_seq,
            path,
            floor,
            state.acked,
            &mut catalogue,
            counters,
        )?,
    };
    Ok(Recovered {
        catalogue,
        writer,
        next_seq,
        state,
    })
}

fn recover_active(
    dir: &Path,
    first_seq: u64,
    path: PathBuf,
    floor: u64,
    acked: u64,
    catalogue: &mut Catalogue,
    counters: &Counters,
) -> Result<(Writer, u64)> {
    let io = |e| Error::io(&path, e);
    let data = fs::read(&path).map_err(io)?;
    let (index, summary) = SparseIndex::from_scan(&data, first_seq, None);
    report_damage(
        &path,
        first_seq,
        None,
        &summary,
        data.len() as u64,
        acked,
        counters,
    );
    let valid_end = summary.valid_end as u64;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    if valid_end < data.len() as u64 {
        let torn = data.len() as u64 - valid_end;
        tracing::warn!(
            segment = %path.display(),
            offset = valid_end,
            bytes = torn,
            "outbox segment has a torn tail (unsynced write cut by a crash); truncating it"
        );
        file.set_len(valid_end).map_err(io)?;
        counters.truncated_bytes.fetch_add(torn, Ordering::Relaxed);
    }
    // Data a killed process wrote may sit only in the page cache; make it durable before readers see it.
    file.sync_all().map_err(io)?;

    let continues_at = match summary.last_seq {
        Some(last) => last.checked_add(1).ok_or(Error::SequenceExhausted)?,
        None => first_seq,
    };
    let next_seq = continues_at.max(floor).max(1);
    if next_seq == continues_at {
        let read = segment::open_read(&path).map_err(io)?;
        catalogue.insert(Segment {
            first_seq,
            path,
            file: read,
            readable_len: valid_end,
            disk_len: valid_end,
            index: Some(index),
        });
        let writer = Writer {
            first_seq,
            file,
            len: valid_end,
        };
        return Ok((writer, next_seq));
    }
    // Sequence numbers inside a segment are consecutive, so a jump (the ack position is
    // ahead of the log) starts a new segment.
    drop(file);
    if summary.records == 0 {
        fs::remove_file(&path).map_err(io)?;
    } else {
        let read = segment::open_read(&path).map_err(io)?;
        catalogue.insert(Segment {
            first_seq,
            path,
            file: read,
            readable_len: valid_end,
            disk_len: valid_end,
            index: Some(index),
        });
    }
    Ok((create_segment(dir, next_seq, catalogue)?, next_seq))
}

/// Creates an empty segment file and makes its directory entry durable.
pub(crate) fn create_segment_file(
    dir: &Path,
    first_seq: u64,
) -> io::Result<(PathBuf, File, Arc<File>)> {
    let path = dir.join(segment::file_name(first_seq));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let registered = state::sync_dir(dir).and_then(|()| segment::open_read(&path));
    match registered {
        Ok(read) => Ok((path, file, read)),
        Err(e) => {
            let _ = fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Creates an empty segment and registers it in the catalogue.
fn create_segment(dir: &Path, first_seq: u64, catalogue: &mut Catalogue) -> Result<Writer> {
    let (path, file, read) = create_segment_file(dir, first_seq).map_err(|e| Error::io(dir, e))?;
    catalogue.insert(Segment {
        first_seq,
        path,
        file: read,
        readable_len: 0,
        disk_len: 0,
        index: Some(SparseIndex::default()),
    });
    Ok(Writer {
        first_seq,
        file,
        len: 0,
    })
}
