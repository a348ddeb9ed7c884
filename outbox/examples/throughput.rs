//! Append and read throughput of the outbox on this machine's disk.
//!
//! `cargo run --release -p decnet-outbox --example throughput -- [records] [payload_bytes] [threads]`
//! (defaults 1,000,000 × 300 bytes from 1 thread). The directory is a temp dir under
//! `$OUTBOX_BENCH_DIR` if set, else under the system temp dir.

use std::time::Instant;

use decnet_outbox::{Config, Outbox, ReadLimits};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records = arg(1, 1_000_000);
    let size = arg(2, 300) as usize;
    let threads = arg(3, 1).max(1);
    let base = std::env::var_os("OUTBOX_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base)?;
    let outbox = Outbox::open(dir.path(), Config::default())?;
    let payload = vec![0xa5u8; size];

    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let outbox = outbox.clone();
            let payload = &payload;
            s.spawn(move || {
                for _ in 0..records / threads {
                    // A full buffer means the disk is behind: back off briefly like a producer would.
                    while outbox.append(payload).is_err() {
                        std::thread::yield_now();
                    }
                }
            });
        }
    });
    let appended = started.elapsed();
    let durable = outbox.sync()?;
    let synced = started.elapsed();
    let m = outbox.metrics();
    println!(
        "append: {} records x {} B from {} thread(s): {:.0} appends/s buffered, {:.0} records/s durable \
         ({:.1} MB/s), {} fsyncs, last fsync {:?}, rejected {}",
        durable,
        size,
        threads,
        durable as f64 / appended.as_secs_f64(),
        durable as f64 / synced.as_secs_f64(),
        (m.disk_bytes as f64 / 1e6) / synced.as_secs_f64(),
        m.fsyncs,
        m.last_fsync_latency,
        m.rejected_appends,
    );

    let started = Instant::now();
    let mut next = 1;
    let mut read = 0u64;
    loop {
        let batch = outbox.read_from(
            next,
            ReadLimits {
                max_records: 4096,
                max_bytes: 4 << 20,
            },
        )?;
        let Some(last) = batch.last() else { break };
        next = last.seq + 1;
        read += batch.len() as u64;
    }
    let took = started.elapsed();
    println!(
        "read: {read} records in {:?}: {:.0} records/s",
        took,
        read as f64 / took.as_secs_f64()
    );

    let started = Instant::now();
    outbox.ack(durable)?;
    outbox.close()?;
    println!("ack + trim + close: {:?}", started.elapsed());
    Ok(())
}
