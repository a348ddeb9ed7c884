//! Feeds arbitrary bytes to the frame decoder and the segment scanner, checking their invariants.
//!
//! Half of the inputs are used raw; the other half are first turned into a run of valid frames
//! (one per `0xff`-separated piece) and then damaged, so the resync path sees realistic images
//! that random bytes would almost never reach (a random CRC match is 1 in 2^32).
#![no_main]

use decnet_outbox::record::{self, Frame, HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fn build_image(first_seq: u64, control: u8, body: &[u8]) -> Vec<u8> {
    let mut image = Vec::new();
    let mut seq = first_seq;
    for (i, piece) in body.split(|&b| b == 0xff).enumerate() {
        // Occasionally skip a sequence number or insert junk, as damage or a bad writer would.
        if control & 2 != 0 && i % 3 == 2 {
            seq = seq.wrapping_add(1);
        }
        if control & 4 != 0 && i % 4 == 3 {
            image.extend_from_slice(&piece[..piece.len().min(5)]);
        }
        record::encode_into(&mut image, seq, piece);
        seq = seq.wrapping_add(1);
    }
    if control & 8 != 0 && !image.is_empty() {
        let at = usize::from(control >> 4) * image.len() / 16;
        image[at] ^= 0x5a;
    }
    if control & 16 != 0 {
        let cut = image.len() - usize::from(control >> 5).min(image.len());
        image.truncate(cut);
    }
    image
}

fuzz_target!(|data: &[u8]| {
    // The first 10 bytes pick the parameters; the rest is the segment image or its recipe.
    let (params, body) = data.split_at(data.len().min(10));
    let mut seq_bytes = [0u8; 8];
    seq_bytes[..params.len().min(8)].copy_from_slice(&params[..params.len().min(8)]);
    let first_seq = u64::from_le_bytes(seq_bytes);
    let seq_end = match params.get(8) {
        Some(&b) if b & 1 == 1 => Some(first_seq.saturating_add(u64::from(b >> 1))),
        _ => None,
    };
    let control = params.get(9).copied().unwrap_or(0);
    let built;
    let image: &[u8] = if control & 1 == 1 {
        built = build_image(first_seq, control, body);
        &built
    } else {
        body
    };

    if let Frame::Valid { payload, frame_len, .. } = record::decode(image) {
        assert!(frame_len <= image.len());
        assert_eq!(payload.start, HEADER_LEN);
        assert_eq!(payload.end, frame_len);
    }

    let mut last: Option<(u64, usize)> = None;
    let summary = record::scan(image, first_seq, seq_end, |f| {
        assert!(f.offset + f.frame_len <= image.len());
        assert!(matches!(record::decode(&image[f.offset..]), Frame::Valid { seq, .. } if seq == f.seq));
        if let Some((seq, end)) = last {
            assert!(f.seq > seq || (f.after_gap && f.seq == seq + 1), "sequence went backwards");
            assert!(f.offset >= end, "frames overlap");
            assert!(f.after_gap || (f.seq == seq + 1 && f.offset == end));
        } else {
            assert!(f.seq >= first_seq);
            assert!(f.after_gap || (f.seq == first_seq && f.offset == 0));
        }
        if let Some(end) = seq_end {
            assert!(f.seq < end);
        }
        last = Some((f.seq, f.offset + f.frame_len));
    });
    assert!(summary.valid_end <= image.len());
    assert_eq!(summary.last_seq, last.map(|(s, _)| s));
    if let Some((_, end)) = last {
        assert_eq!(summary.valid_end, end);
    }
    // An undamaged image built from frames must be read back completely.
    if control & 0b1_1111 == 1 && seq_end.is_none() && first_seq < u64::MAX / 2 {
        assert_eq!(summary.valid_end, image.len());
        assert!(summary.gaps.is_empty());
    }
});
