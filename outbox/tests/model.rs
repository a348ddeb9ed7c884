//! Property tests: the outbox against a model through appends, acks, restarts and torn tails,
//! and recovery of arbitrary garbage directories.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests abort on the first surprise

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{fast_tempdir, read_all, segment_files};
use decnet_outbox::record::{self, frame_len};
use decnet_outbox::{Config, Outbox};
use proptest::prelude::*;

fn config() -> Config {
    Config {
        segment_bytes: 2048,
        max_total_bytes: 1 << 30,
        flush_interval: Duration::from_millis(1),
        retry_interval: Duration::from_millis(5),
        ..Config::default()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append {
        len: usize,
        fill: u8,
    },
    Sync,
    Ack(u16),
    Reopen,
    /// Close, cut the active segment to `keep % (len + 1)` bytes, append `garbage`, reopen.
    TornReopen {
        keep: u32,
        garbage: Vec<u8>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..700, any::<u8>()).prop_map(|(len, fill)| Op::Append { len, fill }),
        2 => Just(Op::Sync),
        2 => any::<u16>().prop_map(Op::Ack),
        1 => Just(Op::Reopen),
        1 => (any::<u32>(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(keep, garbage)| Op::TornReopen { keep, garbage }),
    ]
}

/// What the outbox must contain: every surviving appended record and the ack position.
#[derive(Default)]
struct Model {
    records: BTreeMap<u64, Vec<u8>>,
    acked: u64,
}

impl Model {
    fn unacked(&self) -> Vec<(u64, Vec<u8>)> {
        self.records
            .range(self.acked + 1..)
            .map(|(s, p)| (*s, p.clone()))
            .collect()
    }
}

fn check(outbox: &Outbox, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(outbox.acked(), model.acked);
    let got: Vec<(u64, Vec<u8>)> = read_all(outbox, outbox.first_unacked())
        .into_iter()
        .map(|r| (r.seq, r.payload.to_vec()))
        .collect();
    let want = model.unacked();
    prop_assert_eq!(got.len(), want.len());
    prop_assert!(got == want, "records differ from the model");
    Ok(())
}

/// Cuts the active segment like a crash mid-write would and drops the lost records from the model.
fn tear(dir: &Path, model: &mut Model, keep: u32, garbage: &[u8]) -> Result<(), TestCaseError> {
    let Some(last) = segment_files(dir).pop() else {
        return Ok(());
    };
    let name = last.file_stem().unwrap().to_str().unwrap();
    let first: u64 = name.parse().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    let mut end = 0u64;
    let mut ends = Vec::new();
    for (seq, payload) in model.records.range(first..) {
        end += frame_len(payload.len()) as u64;
        ends.push((*seq, end));
    }
    prop_assert_eq!(end, len, "active segment size differs from its records");
    let cut = u64::from(keep) % (len + 1);
    OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(cut)
        .unwrap();
    OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap()
        .write_all(garbage)
        .unwrap();
    for (seq, end) in ends {
        if end > cut {
            model.records.remove(&seq);
        }
    }
    Ok(())
}

fn run_ops(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = fast_tempdir();
    let mut outbox = Outbox::open(dir.path(), config()).unwrap();
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Append { len, fill } => {
                let payload: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
                let seq = outbox.append(&payload).unwrap();
                let floor = model
                    .records
                    .keys()
                    .next_back()
                    .copied()
                    .unwrap_or(0)
                    .max(model.acked);
                prop_assert!(seq > floor, "seq {} reused (floor {})", seq, floor);
                model.records.insert(seq, payload);
            }
            Op::Sync => {
                let durable = outbox.sync().unwrap();
                let newest = model.records.keys().next_back().copied().unwrap_or(0);
                prop_assert!(durable >= newest);
                check(&outbox, &model)?;
            }
            Op::Ack(fraction) => {
                let durable = outbox.durable_seq();
                let span = durable.saturating_sub(model.acked);
                let seq = model.acked + span * u64::from(fraction) / u64::from(u16::MAX);
                outbox.ack(seq).unwrap();
                model.acked = model.acked.max(seq);
            }
            Op::Reopen => {
                outbox.close().unwrap();
                drop(outbox);
                outbox = Outbox::open(dir.path(), config()).unwrap();
                check(&outbox, &model)?;
            }
            Op::TornReopen { keep, garbage } => {
                outbox.close().unwrap();
                drop(outbox);
                tear(dir.path(), &mut model, keep, &garbage)?;
                outbox = Outbox::open(dir.path(), config()).unwrap();
                prop_assert_eq!(outbox.metrics().corrupt_records, 0);
                check(&outbox, &model)?;
            }
        }
    }
    outbox.close().unwrap();
    drop(outbox);
    let outbox = Outbox::open(dir.path(), config()).unwrap();
    check(&outbox, &model)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn appended_unacked_records_survive_reopen_exactly_once(ops in prop::collection::vec(op(), 1..60)) {
        run_ops(ops)?;
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Frame { seq: u64, payload: Vec<u8> },
    Garbage(Vec<u8>),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => (prop_oneof![0u64..20, Just(u64::MAX), Just(u64::MAX - 1)], prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(seq, payload)| Piece::Frame { seq, payload }),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Piece::Garbage),
    ]
}

fn segment_image(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Frame { seq, payload } => record::encode_into(&mut out, *seq, payload),
            Piece::Garbage(bytes) => out.extend_from_slice(bytes),
        }
    }
    out
}

fn segment_name() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..20, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn garbage_directories_never_panic_recovery(
        segments in prop::collection::vec((segment_name(), prop::collection::vec(piece(), 0..12)), 0..5),
        state in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        prior in prop::option::of((1u64..40, 0u64..40)),
    ) {
        let dir = fast_tempdir();
        // Optionally start from a real outbox (valid ack state, real segments) and damage it.
        if let Some((appended, acked)) = prior {
            let outbox = Outbox::open(dir.path(), config()).unwrap();
            for i in 0..appended {
                outbox.append(&[i as u8; 100]).unwrap();
            }
            outbox.sync().unwrap();
            outbox.ack(acked.min(appended)).unwrap();
            outbox.close().unwrap();
        }
        for (first, pieces) in &segments {
            fs::write(dir.path().join(format!("{first:020}.seg")), segment_image(pieces)).unwrap();
        }
        if let Some(state) = &state {
            fs::write(dir.path().join("ack.state"), state).unwrap();
        }
        let Ok(outbox) = Outbox::open(dir.path(), config()) else {
            return Ok(());
        };
        let records = read_all(&outbox, 0);
        for pair in records.windows(2) {
            prop_assert!(pair[0].seq < pair[1].seq, "out of order: {} then {}", pair[0].seq, pair[1].seq);
        }
        if let Ok(seq) = outbox.append(b"after garbage") {
            outbox.sync().unwrap();
            let tail = outbox.read_from(seq, decnet_outbox::ReadLimits::default()).unwrap();
            prop_assert_eq!(tail.len(), 1);
            prop_assert_eq!(tail[0].payload.as_ref(), b"after garbage");
        }
        outbox.close().unwrap();
    }
}
