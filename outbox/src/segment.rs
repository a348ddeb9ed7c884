//! Segment files: naming, the in-memory catalogue with its sparse offset index, and reading runs of frames.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::record::{self, Frame, ScanSummary};

const SUFFIX: &str = ".seg";
const NAME_DIGITS: usize = 20;

/// An index entry is kept at least every this many bytes, bounding the scan to find a record.
const INDEX_SPACING: u64 = 16 * 1024;

/// Default read size; a frame larger than this is read whole.
const READ_CHUNK: usize = 256 * 1024;

/// One acknowledged-or-not record as handed to the streaming link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number assigned at append time.
    pub seq: u64,
    /// The payload exactly as appended.
    pub payload: Bytes,
}

/// Name of the segment whose first record is `first_seq`.
pub(crate) fn file_name(first_seq: u64) -> String {
    format!("{first_seq:0NAME_DIGITS$}{SUFFIX}")
}

/// Sequence number encoded in a segment file name, if it is one.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Segment files in `dir`, sorted by first sequence number.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = parse_name(name) {
            if entry.file_type()?.is_file() {
                out.push((seq, entry.path()));
            }
        } else if name.ends_with(SUFFIX) {
            tracing::warn!(file = %entry.path().display(), "ignoring misnamed outbox segment");
        }
    }
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out)
}

/// Sparse map from sequence numbers to file offsets of valid frames.
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseIndex {
    entries: Vec<(u64, u64)>,
}

impl SparseIndex {
    /// Records a frame; `force` keeps an entry right after damaged bytes so reads can jump over them.
    pub(crate) fn note(&mut self, seq: u64, offset: u64, force: bool) {
        let due = match self.entries.last() {
            None => true,
            Some(&(_, last)) => force || offset.saturating_sub(last) >= INDEX_SPACING,
        };
        if due {
            self.entries.push((seq, offset));
        }
    }

    /// The entry at or before `seq`, else the first one.
    pub(crate) fn locate(&self, seq: u64) -> Option<(u64, u64)> {
        let i = self.entries.partition_point(|&(s, _)| s <= seq);
        self.entries.get(i.saturating_sub(1)).copied()
    }

    /// The first entry strictly after byte `offset`.
    pub(crate) fn after_offset(&self, offset: u64) -> Option<(u64, u64)> {
        let i = self.entries.partition_point(|&(_, o)| o <= offset);
        self.entries.get(i).copied()
    }

    /// Builds the index of a scanned segment image.
    pub(crate) fn from_scan(
        bytes: &[u8],
        first_seq: u64,
        seq_end: Option<u64>,
    ) -> (Self, ScanSummary) {
        let mut index = SparseIndex::default();
        let summary = record::scan(bytes, first_seq, seq_end, |f| {
            index.note(f.seq, f.offset as u64, f.after_gap);
        });
        (index, summary)
    }
}

/// A segment as known to the catalogue.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Sequence number in the file name.
    pub first_seq: u64,
    /// Location on disk.
    pub path: PathBuf,
    /// Read handle; reads use positioned I/O so sharing it is safe.
    pub file: Arc<File>,
    /// Bytes that hold valid durable frames (the rest is unwritten, unsynced or damaged).
    pub readable_len: u64,
    /// Bytes the file occupies, counted against the size cap.
    pub disk_len: u64,
    /// Offset index; `None` for a sealed segment from an earlier run that was not read yet.
    pub index: Option<SparseIndex>,
}

/// The ordered set of segments; the last one is the active segment the writer appends to.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    pub segments: BTreeMap<u64, Segment>,
    /// Sum of `disk_len` over all segments.
    pub disk_bytes: u64,
}

impl Catalogue {
    /// Adds a segment and accounts for its size.
    pub(crate) fn insert(&mut self, segment: Segment) {
        self.disk_bytes = self.disk_bytes.saturating_add(segment.disk_len);
        if let Some(old) = self.segments.insert(segment.first_seq, segment) {
            self.disk_bytes = self.disk_bytes.saturating_sub(old.disk_len);
        }
    }

    /// Removes the oldest segment and returns it with the first sequence number after it.
    pub(crate) fn pop_oldest(&mut self) -> Option<(Segment, u64)> {
        if self.segments.len() < 2 {
            return None;
        }
        let (_, segment) = self.segments.pop_first()?;
        self.disk_bytes = self.disk_bytes.saturating_sub(segment.disk_len);
        let next = self.segments.first_key_value().map(|(k, _)| *k)?;
        Some((segment, next))
    }

    /// First sequence number of the segment after the oldest one, i.e. the oldest's exclusive end.
    pub(crate) fn oldest_end(&self) -> Option<u64> {
        self.segments.keys().nth(1).copied()
    }

    /// First sequence number of the segment following `first_seq`.
    pub(crate) fn next_after(&self, first_seq: u64) -> Option<u64> {
        self.segments
            .range(first_seq.saturating_add(1)..)
            .next()
            .map(|(k, _)| *k)
    }

    /// The segment that would hold `seq` (the last one starting at or before it, else the first).
    pub(crate) fn holding(&self, seq: u64) -> Option<&Segment> {
        self.segments
            .range(..=seq)
            .next_back()
            .or_else(|| self.segments.iter().next())
            .map(|(_, s)| s)
    }
}

/// Opens a second descriptor of a segment file for readers.
pub(crate) fn open_read(path: &Path) -> io::Result<Arc<File>> {
    File::open(path).map(Arc::new)
}

/// How a run of sequential reads ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunEnd {
    /// The caller's record or byte budget is used up.
    Limit,
    /// The readable part of the segment is exhausted.
    End,
    /// A frame at this offset failed to decode (damage found after the index was built).
    Invalid(u64),
}

/// Budget of one `read_from` call.
#[derive(Debug)]
pub(crate) struct Budget {
    pub records_left: usize,
    pub bytes_left: usize,
}

impl Budget {
    fn admits(&self, payload_len: usize, out: &[Record]) -> bool {
        // Always hand out one record, however large, or a big record would stall the stream.
        self.records_left > 0 && (out.is_empty() || payload_len <= self.bytes_left)
    }
}

/// Reads consecutive frames from `offset` up to `end`, keeping those with `seq >= from_seq`.
///
/// `expected` is the sequence number of the frame at `offset` (known from the index); a frame
/// breaking the sequence is treated like damage, exactly as the recovery scan treats it.
pub(crate) fn read_run(
    file: &File,
    mut offset: u64,
    mut expected: u64,
    end: u64,
    from_seq: u64,
    budget: &mut Budget,
    out: &mut Vec<Record>,
) -> io::Result<RunEnd> {
    let mut chunk = Bytes::new();
    let mut chunk_start = offset;
    while offset < end {
        let pos = usize::try_from(offset - chunk_start).unwrap_or(usize::MAX);
        let rest = chunk.get(pos..).unwrap_or_default();
        match record::decode(rest) {
            Frame::Valid {
                seq,
                payload,
                frame_len,
            } if seq == expected => {
                if seq >= from_seq {
                    if !budget.admits(payload.len(), out) {
                        return Ok(RunEnd::Limit);
                    }
                    budget.records_left -= 1;
                    budget.bytes_left = budget.bytes_left.saturating_sub(payload.len());
                    out.push(Record {
                        seq,
                        payload: chunk.slice(pos + payload.start..pos + payload.end),
                    });
                }
                offset += frame_len as u64;
                expected = seq.wrapping_add(1);
            }
            Frame::Incomplete { needed } => {
                let available = end - offset;
                if needed as u64 > available {
                    // The readable length ends on a frame boundary, so a frame crossing it is damage.
                    return Ok(RunEnd::Invalid(offset));
                }
                // Small budgets get small reads; the slack covers records skipped before `from_seq`.
                let hint = budget
                    .bytes_left
                    .saturating_add(INDEX_SPACING as usize)
                    .min(READ_CHUNK);
                let want = usize::try_from(available)
                    .unwrap_or(usize::MAX)
                    .min(needed.max(hint));
                chunk = read_chunk(file, offset, want)?;
                chunk_start = offset;
                if chunk.len() < needed {
                    return Ok(RunEnd::Invalid(offset));
                }
            }
            Frame::Valid { .. } | Frame::Invalid => return Ok(RunEnd::Invalid(offset)),
        }
    }
    Ok(RunEnd::End)
}

fn read_chunk(file: &File, offset: u64, len: usize) -> io::Result<Bytes> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip_and_reject_lookalikes() {
        assert_eq!(file_name(42), "00000000000000000042.seg");
        assert_eq!(parse_name(&file_name(42)), Some(42));
        assert_eq!(parse_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_name("42.seg"), None);
        assert_eq!(parse_name("0000000000000000004a.seg"), None);
        assert_eq!(parse_name("99999999999999999999.seg"), None);
        assert_eq!(parse_name("00000000000000000042.seg.tmp"), None);
    }

    #[test]
    fn index_locates_entry_at_or_before() {
        let mut idx = SparseIndex::default();
        idx.note(10, 0, false);
        idx.note(11, 100, false);
        idx.note(50, 20_000, false);
        idx.note(60, 20_100, true);
        assert_eq!(idx.locate(5), Some((10, 0)));
        assert_eq!(idx.locate(49), Some((10, 0)));
        assert_eq!(idx.locate(55), Some((50, 20_000)));
        assert_eq!(idx.locate(100), Some((60, 20_100)));
        assert_eq!(idx.after_offset(0), Some((50, 20_000)));
        assert_eq!(idx.after_offset(20_100), None);
    }

    #[test]
    fn read_run_honours_budget_and_large_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let mut buf = Vec::new();
        let big = vec![7u8; READ_CHUNK * 2];
        record::encode_into(&mut buf, 1, b"one");
        record::encode_into(&mut buf, 2, &big);
        record::encode_into(&mut buf, 3, b"three");
        fs::write(&path, &buf).unwrap();
        let file = File::open(&path).unwrap();
        let end = buf.len() as u64;

        let mut out = Vec::new();
        let mut budget = Budget {
            records_left: 10,
            bytes_left: usize::MAX,
        };
        assert_eq!(
            read_run(&file, 0, 1, end, 0, &mut budget, &mut out).unwrap(),
            RunEnd::End
        );
        let seqs: Vec<u64> = out.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(out[1].payload.len(), big.len());

        let mut out = Vec::new();
        let mut budget = Budget {
            records_left: 10,
            bytes_left: 10,
        };
        assert_eq!(
            read_run(&file, 0, 1, end, 0, &mut budget, &mut out).unwrap(),
            RunEnd::Limit
        );
        assert_eq!(out.len(), 1);

        let mut out = Vec::new();
        let mut budget = Budget {
            records_left: 10,
            bytes_left: 10,
        };
        assert_eq!(
            read_run(&file, 0, 1, end, 2, &mut budget, &mut out).unwrap(),
            RunEnd::Limit
        );
        assert_eq!(out.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2]);
    }
}
