//! Append-to-durable latency at a paced rate, i.e. what the group commit adds to end-to-end latency.
//!
//! `cargo run --release -p decnet-outbox --example commit_latency -- [rate_per_s] [seconds] [flush_ms]`
//! (defaults 100,000/s for 3 s with the default 20 ms interval, 300-byte records).

use std::time::{Duration, Instant};

use decnet_outbox::{Config, Outbox};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rate = arg(1, 100_000);
    let seconds = arg(2, 3);
    let flush_ms = arg(3, 20);
    let base = std::env::var_os("OUTBOX_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base)?;
    let cfg = Config {
        flush_interval: Duration::from_millis(flush_ms),
        ..Config::default()
    };
    let outbox = Outbox::open(dir.path(), cfg)?;
    let total = rate * seconds;
    let payload = vec![0x5au8; 300];

    let watcher = {
        let outbox = outbox.clone();
        std::thread::spawn(move || {
            let mut seen = 0u64;
            let mut marks = Vec::new();
            while seen < total {
                match outbox.wait_for_records_timeout(seen, Duration::from_millis(200)) {
                    Ok(Some(durable)) => {
                        marks.push((durable, Instant::now()));
                        seen = durable;
                    }
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
            marks
        })
    };

    let mut appended_at = Vec::with_capacity(total as usize);
    let started = Instant::now();
    let tick = Duration::from_millis(1);
    let per_tick = (rate / 1000).max(1);
    let mut sent = 0u64;
    let mut rejected = 0u64;
    while sent < total {
        let due = started + tick * (sent / per_tick) as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for _ in 0..per_tick.min(total - sent) {
            match outbox.append(&payload) {
                Ok(seq) => appended_at.push((seq, Instant::now())),
                Err(_) => rejected += 1,
            }
            sent += 1;
        }
    }
    let marks = watcher.join().map_err(|_| "watcher panicked")?;
    let elapsed = started.elapsed();

    let mut latencies: Vec<Duration> = Vec::with_capacity(appended_at.len());
    let mut m = 0;
    for (seq, at) in &appended_at {
        while m < marks.len() && marks[m].0 < *seq {
            m += 1;
        }
        if let Some((_, durable_at)) = marks.get(m) {
            latencies.push(durable_at.saturating_duration_since(*at));
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    let metrics = outbox.metrics();
    println!(
        "{} records at {}/s target ({:.0}/s achieved, {} rejected), flush {} ms: \
         append->durable p50 {:?} p99 {:?} max {:?}; {} fsyncs, last {:?}",
        latencies.len(),
        rate,
        sent as f64 / elapsed.as_secs_f64(),
        rejected,
        flush_ms,
        pct(0.5),
        pct(0.99),
        pct(1.0),
        metrics.fsyncs,
        metrics.last_fsync_latency,
    );
    let widest = marks
        .windows(2)
        .map(|w| w[1].1.duration_since(w[0].1))
        .max()
        .unwrap_or_default();
    println!(
        "{} durability steps, widest gap between two {:?}",
        marks.len(),
        widest
    );
    outbox.close()?;
    Ok(())
}
