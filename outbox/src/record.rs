//! Record framing and segment scanning, free of I/O so the decoder can be fuzzed on its own.
//!
//! A frame is `[len u32][crc u32][seq u64][payload; len]`, all integers little-endian.
//! The CRC-32 (IEEE, `crc32fast`) covers the length, the sequence number and the payload,
//! so a torn or flipped length is caught as surely as a damaged payload.

use std::ops::Range;

/// Size of the fixed frame header in bytes.
pub const HEADER_LEN: usize = 16;

/// Largest payload the decoder accepts; a larger length field is treated as corruption.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024 * 1024;

/// Total on-disk size of a frame carrying `payload_len` bytes.
pub const fn frame_len(payload_len: usize) -> usize {
    HEADER_LEN + payload_len
}

fn checksum(len: u32, seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len.to_le_bytes());
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Appends the frame for (`seq`, `payload`) to `out`; the caller has checked the payload size.
pub fn encode_into(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_PAYLOAD_LEN);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.reserve(frame_len(payload.len()));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(len, seq, payload).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Header fields as read from the first [`HEADER_LEN`] bytes of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Payload length claimed by the header.
    pub len: u32,
    /// Stored checksum.
    pub crc: u32,
    /// Sequence number.
    pub seq: u64,
}

/// Parses a header without validating it; `None` when fewer than [`HEADER_LEN`] bytes are given.
pub fn parse_header(buf: &[u8]) -> Option<Header> {
    let head: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
    let [
        l0,
        l1,
        l2,
        l3,
        c0,
        c1,
        c2,
        c3,
        s0,
        s1,
        s2,
        s3,
        s4,
        s5,
        s6,
        s7,
    ] = *head;
    Some(Header {
        len: u32::from_le_bytes([l0, l1, l2, l3]),
        crc: u32::from_le_bytes([c0, c1, c2, c3]),
        seq: u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]),
    })
}

/// Outcome of decoding one frame at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete frame whose checksum matches.
    Valid {
        /// Sequence number of the record.
        seq: u64,
        /// Byte range of the payload within the decoded buffer.
        payload: Range<usize>,
        /// Total frame size (header plus payload).
        frame_len: usize,
    },
    /// The buffer ends before the frame does; `needed` is the full frame size when known.
    Incomplete {
        /// Bytes the whole frame needs, or [`HEADER_LEN`] when even the header is cut.
        needed: usize,
    },
    /// The length is impossible or the checksum does not match.
    Invalid,
}

/// Decodes the frame that starts at `buf[0]`.
pub fn decode(buf: &[u8]) -> Frame {
    let Some(header) = parse_header(buf) else {
        return Frame::Incomplete { needed: HEADER_LEN };
    };
    let len = header.len as usize;
    if len > MAX_PAYLOAD_LEN {
        return Frame::Invalid;
    }
    let total = frame_len(len);
    let Some(payload) = buf.get(HEADER_LEN..total) else {
        return Frame::Incomplete { needed: total };
    };
    if checksum(header.len, header.seq, payload) != header.crc {
        return Frame::Invalid;
    }
    Frame::Valid {
        seq: header.seq,
        payload: HEADER_LEN..total,
        frame_len: total,
    }
}

/// One valid frame found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedFrame {
    /// Sequence number of the record.
    pub seq: u64,
    /// Offset of the frame header in the scanned buffer.
    pub offset: usize,
    /// Total frame size.
    pub frame_len: usize,
    /// True when damaged bytes were skipped right before this frame.
    pub after_gap: bool,
}

/// A damaged region skipped by [`scan`] between two valid frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// First damaged byte.
    pub start: usize,
    /// Offset of the next valid frame.
    pub end: usize,
    /// First sequence number missing across the gap.
    pub first_missing: u64,
    /// Sequence numbers missing across the gap.
    pub lost_records: u64,
}

/// What [`scan`] learned about a segment's bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Offset just past the last valid frame; bytes beyond it are an invalid tail.
    pub valid_end: usize,
    /// Sequence number of the last valid frame.
    pub last_seq: Option<u64>,
    /// Number of valid frames.
    pub records: u64,
    /// Damaged regions that were skipped.
    pub gaps: Vec<Gap>,
}

impl ScanSummary {
    /// Records known to be missing inside the scanned range (excluding an invalid tail).
    pub fn lost_in_gaps(&self) -> u64 {
        self.gaps
            .iter()
            .fold(0u64, |acc, g| acc.saturating_add(g.lost_records))
    }
}

/// Walks a whole segment image and reports every valid frame to `on_frame`.
///
/// Frames in a segment carry consecutive sequence numbers starting at `first_seq`, and
/// every sequence number must stay below `seq_end` (the next segment's first one) when
/// given. A frame that fails its checksum or breaks the sequence is damage: the scanner
/// resynchronises by searching byte by byte for the next valid frame whose sequence
/// number could follow (it must exceed the last good one by no more than the number of
/// whole headers that fit in the skipped bytes, which keeps frames forged inside a
/// payload from being picked up). When nothing valid follows, the scan stops and the
/// rest is an invalid tail: a torn write in the active segment, damage in a sealed one.
pub fn scan(
    buf: &[u8],
    first_seq: u64,
    seq_end: Option<u64>,
    mut on_frame: impl FnMut(ScannedFrame),
) -> ScanSummary {
    let mut summary = ScanSummary::default();
    let mut pos = 0usize;
    let mut expected = Some(first_seq);
    let mut after_gap = false;
    let below_end = |seq: u64| seq_end.is_none_or(|end| seq < end);
    while pos < buf.len() {
        let Some(want) = expected else { break };
        let rest = buf.get(pos..).unwrap_or_default();
        if let Frame::Valid { seq, frame_len, .. } = decode(rest)
            && seq == want
            && below_end(seq)
        {
            on_frame(ScannedFrame {
                seq,
                offset: pos,
                frame_len,
                after_gap,
            });
            after_gap = false;
            summary.records += 1;
            summary.last_seq = Some(seq);
            pos += frame_len;
            summary.valid_end = pos;
            expected = seq.checked_add(1);
            continue;
        }
        match resync(buf, pos, want, seq_end) {
            Some((next, seq)) => {
                summary.gaps.push(Gap {
                    start: pos,
                    end: next,
                    first_missing: want,
                    lost_records: seq - want,
                });
                pos = next;
                expected = Some(seq);
                after_gap = true;
            }
            None => break,
        }
    }
    summary
}

/// Finds the first offset after `gap_start` holding a valid frame that may follow `want`.
fn resync(buf: &[u8], gap_start: usize, want: u64, seq_end: Option<u64>) -> Option<(usize, u64)> {
    let last_start = buf.len().checked_sub(HEADER_LEN)?;
    for pos in gap_start.saturating_add(1)..=last_start {
        let rest = buf.get(pos..)?;
        let header = parse_header(rest)?;
        let len = header.len as usize;
        if len > MAX_PAYLOAD_LEN || frame_len(len) > rest.len() {
            continue;
        }
        let max_lost = ((pos - gap_start) / HEADER_LEN) as u64;
        let plausible = header.seq >= want
            && header.seq - want <= max_lost
            && seq_end.is_none_or(|end| header.seq < end);
        if !plausible {
            continue;
        }
        if let Frame::Valid { seq, .. } = decode(rest) {
            return Some((pos, seq));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(first: u64, payloads: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        let mut offsets = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            offsets.push(buf.len());
            encode_into(&mut buf, first + i as u64, p);
        }
        (buf, offsets)
    }

    fn seqs(buf: &[u8], first: u64, end: Option<u64>) -> (Vec<u64>, ScanSummary) {
        let mut out = Vec::new();
        let summary = scan(buf, first, end, |f| out.push(f.seq));
        (out, summary)
    }

    #[test]
    fn roundtrip_decodes_payload_and_seq() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 42, b"hello");
        assert_eq!(buf.len(), frame_len(5));
        match decode(&buf) {
            Frame::Valid {
                seq,
                payload,
                frame_len: n,
            } => {
                assert_eq!(seq, 42);
                assert_eq!(&buf[payload], b"hello");
                assert_eq!(n, buf.len());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 7, b"payload bytes");
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut copy = buf.clone();
                copy[byte] ^= 1 << bit;
                assert!(
                    !matches!(decode(&copy), Frame::Valid { .. }),
                    "flip at {byte}:{bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn truncated_frame_is_incomplete() {
        let mut buf = Vec::new();
        encode_into(&mut buf, 1, &[9u8; 100]);
        assert_eq!(decode(&buf[..10]), Frame::Incomplete { needed: HEADER_LEN });
        assert_eq!(
            decode(&buf[..50]),
            Frame::Incomplete {
                needed: frame_len(100)
            }
        );
    }

    #[test]
    fn oversized_length_is_invalid() {
        let mut buf = vec![0u8; HEADER_LEN];
        buf[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&buf), Frame::Invalid);
    }

    #[test]
    fn scan_stops_at_torn_tail() {
        let (buf, offsets) = image(10, &[b"a", b"bb", b"ccc"]);
        let cut = offsets[2] + 5;
        let (got, summary) = seqs(&buf[..cut], 10, None);
        assert_eq!(got, vec![10, 11]);
        assert_eq!(summary.valid_end, offsets[2]);
        assert!(summary.gaps.is_empty());
    }

    #[test]
    fn scan_resynchronises_after_damaged_record() {
        let payloads: Vec<Vec<u8>> = (0..6).map(|i| vec![i as u8; 40]).collect();
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
        let (mut buf, offsets) = image(100, &refs);
        buf[offsets[2] + HEADER_LEN + 3] ^= 0xff;
        let (got, summary) = seqs(&buf, 100, None);
        assert_eq!(got, vec![100, 101, 103, 104, 105]);
        assert_eq!(summary.gaps.len(), 1);
        assert_eq!(summary.gaps[0].lost_records, 1);
        assert_eq!(summary.gaps[0].start, offsets[2]);
        assert_eq!(summary.gaps[0].end, offsets[3]);
        assert_eq!(summary.valid_end, buf.len());
    }

    #[test]
    fn scan_rejects_seq_beyond_next_segment() {
        let (buf, _) = image(5, &[b"x", b"y", b"z"]);
        let (got, summary) = seqs(&buf, 5, Some(7));
        assert_eq!(got, vec![5, 6]);
        assert!(summary.valid_end < buf.len());
    }

    #[test]
    fn forged_frame_with_far_seq_is_not_resynchronised() {
        let mut forged = Vec::new();
        encode_into(&mut forged, 1_000_000, b"evil");
        let (mut buf, offsets) = image(1, &[b"ok", &forged, b"later"]);
        // Damage record 2's header so the scanner must resync through its payload.
        buf[offsets[1]] ^= 0x55;
        let (got, _) = seqs(&buf, 1, None);
        assert_eq!(got, vec![1, 3]);
    }
}
