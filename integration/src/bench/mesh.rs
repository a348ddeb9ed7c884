//! `decnet-bench mesh`: one agent→master link over QUIC with mTLS on loopback, the durable
//! outbox on (real segment files in a temp dir, default configuration: 20 ms group commit with
//! fsync), and a master-side sink that counts.
//!
//! * `events_per_s`: a producer appends 200-byte records as fast as the stream drains them
//!   (it pauses while more than [`MAX_BACKLOG`] records are unacknowledged, so this is the
//!   sustained end-to-end rate, not a burst into the outbox); counted at the sink over
//!   [`THROUGHPUT_WINDOW`] after a one-second warm-up.
//! * `p99_latency_ms_at_10k`: a paced producer appends 10,000 records/s; each record carries
//!   its append time, and the sink records append → commit latency for [`LATENCY_RUN`].
//! * `resume_after_heal_ms`: the agent dials the master through a UDP relay that drops every
//!   datagram while cut. With the default link timing (keep-alive 1 s, idle timeout 5 s), a
//!   3 s partition leaves the QUIC connection alive (recovery by retransmission), a 4 s one
//!   is the worst case (the next retransmission falls after the idle timeout, so the agent
//!   redials once the connection expires) and a 10 s one is recovered by redialling; each is
//!   measured from the heal to the first sink commit after it, and the worst is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use decnet_mesh::bus::Broker;
use decnet_mesh::quic::partition::PartitionRelay;
use decnet_mesh::quic::{AgentConfig, AgentLink, EventSink, MasterConfig, MasterMesh, SinkError};
use decnet_outbox::{Config as OutboxConfig, Outbox};
use decnet_pki::{
    AgentIdentity, CertificateAuthority, HostName, MemoryRegistry, NodeKey, ServerIdentity,
};
use hdrhistogram::Histogram;
use parking_lot::Mutex;

use crate::report::{Better, Metric, Report};

/// Bytes per record, about a small attacker event in CBOR.
const RECORD_LEN: usize = 200;
/// The throughput producer waits while this many records are unacknowledged.
const MAX_BACKLOG: u64 = 200_000;
/// Throughput is counted over this window.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(5);
/// Length of the 10k/s latency run (after a half-second warm-up).
const LATENCY_RUN: Duration = Duration::from_secs(5);
/// Partitions measured for `resume_after_heal_ms`.
const PARTITIONS: [Duration; 3] = [
    Duration::from_secs(3),
    Duration::from_secs(4),
    Duration::from_secs(10),
];
const DAY: Duration = Duration::from_secs(86_400);

/// Counts committed records and, when asked, their append → commit latency.
struct CountingSink {
    base: Instant,
    committed: AtomicU64,
    measure: AtomicBool,
    latency: Mutex<Histogram<u64>>,
}

impl CountingSink {
    fn new(base: Instant) -> anyhow::Result<Self> {
        Ok(CountingSink {
            base,
            committed: AtomicU64::new(0),
            measure: AtomicBool::new(false),
            latency: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        })
    }

    fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }
}

#[async_trait]
impl EventSink for CountingSink {
    async fn commit(&self, _host: &HostName, batch: Vec<(u64, Bytes)>) -> Result<(), SinkError> {
        if self.measure.load(Ordering::Relaxed) {
            let now = self.base.elapsed().as_micros() as u64;
            let mut hist = self.latency.lock();
            for (_, payload) in &batch {
                let mut stamp = [0u8; 8];
                stamp.copy_from_slice(&payload[..8]);
                let _ = hist.record(now.saturating_sub(u64::from_be_bytes(stamp)).max(1));
            }
        }
        self.committed
            .fetch_add(batch.len() as u64, Ordering::Release);
        Ok(())
    }
}

/// A record stamped with its append time (µs since `base`).
fn record(base: Instant, buf: &mut [u8; RECORD_LEN]) -> &[u8] {
    buf[..8].copy_from_slice(&(base.elapsed().as_micros() as u64).to_be_bytes());
    &buf[..]
}

/// One master, one agent, one outbox in a temp dir; optionally through a partition relay.
struct Rig {
    sink: Arc<CountingSink>,
    outbox: Outbox,
    relay: Option<PartitionRelay>,
    _link: AgentLink,
    _master: MasterMesh,
    _dir: tempfile::TempDir,
}

async fn rig(base: Instant, through_relay: bool) -> anyhow::Result<Rig> {
    let ca = CertificateAuthority::generate("bench")?;
    let server = ServerIdentity::generate(&ca, &["127.0.0.1".into()], DAY)?;
    let registry = Arc::new(MemoryRegistry::new());
    let host: HostName = "bench-agent".parse()?;
    let key = NodeKey::generate()?;
    let issued = ca.issue_from_csr(&key.csr(&host)?, &host, DAY)?;
    let identity = AgentIdentity::new(key, &issued.pem, ca.cert_pem())?;
    registry.allow(&host, identity.fingerprint())?;

    let sink = Arc::new(CountingSink::new(base)?);
    let master_config = MasterConfig {
        listen: "127.0.0.1:0".parse()?,
        ..MasterConfig::default()
    };
    let master = MasterMesh::builder(master_config, &server, registry, Broker::default())
        .sink(sink.clone())
        .start()?;
    let master_addr = master.local_addr()?;
    let relay = if through_relay {
        Some(PartitionRelay::start("127.0.0.1".parse()?, master_addr).await?)
    } else {
        None
    };
    let target = relay
        .as_ref()
        .map_or(master_addr, PartitionRelay::local_addr);
    let dir = tempfile::tempdir()?;
    let outbox = Outbox::open(dir.path(), OutboxConfig::default())?;
    let link = AgentLink::builder(
        AgentConfig::new(target.to_string()),
        identity,
        Broker::default(),
    )
    .durable(Arc::new(outbox.clone()))
    .start()?;
    let mut state = link.state();
    tokio::time::timeout(Duration::from_secs(10), state.wait_for(|s| s.is_up()))
        .await
        .context("the agent link did not come up")??;
    Ok(Rig {
        sink,
        outbox,
        relay,
        _link: link,
        _master: master,
        _dir: dir,
    })
}

/// Appends in a thread until `stop`: as fast as the backlog allows, or paced at `rate`/s.
fn producer(
    rig: &Rig,
    base: Instant,
    rate: Option<u64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<anyhow::Result<u64>> {
    let outbox = rig.outbox.clone();
    let sink = rig.sink.clone();
    std::thread::spawn(move || {
        let mut buf = [0x5a_u8; RECORD_LEN];
        let started = Instant::now();
        let mut appended = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let due = match rate {
                Some(r) => (started.elapsed().as_secs_f64() * r as f64) as u64,
                None => sink.committed() + MAX_BACKLOG,
            };
            if appended >= due {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
            for _ in 0..(due - appended).min(1000) {
                outbox.append(record(base, &mut buf))?;
                appended += 1;
            }
        }
        Ok(appended)
    })
}

async fn throughput(base: Instant) -> anyhow::Result<f64> {
    let rig = rig(base, false).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let producing = producer(&rig, base, None, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (c0, t0) = (rig.sink.committed(), Instant::now());
    tokio::time::sleep(THROUGHPUT_WINDOW).await;
    let (c1, t1) = (rig.sink.committed(), Instant::now());
    stop.store(true, Ordering::Relaxed);
    producing
        .join()
        .map_err(|_| anyhow::anyhow!("producer panicked"))??;
    Ok((c1 - c0) as f64 / (t1 - t0).as_secs_f64())
}

async fn latency_at_10k(base: Instant) -> anyhow::Result<(f64, f64)> {
    let rig = rig(base, false).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let producing = producer(&rig, base, Some(10_000), stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    rig.sink.measure.store(true, Ordering::Relaxed);
    tokio::time::sleep(LATENCY_RUN).await;
    rig.sink.measure.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    producing
        .join()
        .map_err(|_| anyhow::anyhow!("producer panicked"))??;
    let hist = rig.sink.latency.lock();
    anyhow::ensure!(!hist.is_empty(), "no latency samples");
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok((ms(0.99), ms(0.5)))
}

async fn resume_after(base: Instant, cut_for: Duration) -> anyhow::Result<f64> {
    let rig = rig(base, true).await?;
    let relay = rig.relay.as_ref().context("relay")?;
    let stop = Arc::new(AtomicBool::new(false));
    let producing = producer(&rig, base, Some(10_000), stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    relay.cut();
    tokio::time::sleep(cut_for).await;
    let before = rig.sink.committed();
    relay.heal();
    let healed = Instant::now();
    let resumed = loop {
        if rig.sink.committed() > before {
            break healed.elapsed();
        }
        anyhow::ensure!(
            healed.elapsed() < Duration::from_secs(60),
            "the stream did not resume within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    stop.store(true, Ordering::Relaxed);
    producing
        .join()
        .map_err(|_| anyhow::anyhow!("producer panicked"))??;
    Ok(resumed.as_secs_f64() * 1000.0)
}

/// Runs the benchmark and returns its report.
pub async fn run() -> anyhow::Result<Report> {
    decnet_runtime::crypto::install_crypto_provider();
    let base = Instant::now();
    let events_per_s = throughput(base).await?;
    let (p99, p50) = latency_at_10k(base).await?;
    let mut resumes = Vec::new();
    for cut in PARTITIONS {
        resumes.push((cut, resume_after(base, cut).await?));
    }
    let worst = resumes.iter().map(|(_, ms)| *ms).fold(0.0, f64::max);
    let mut metrics = vec![
        Metric::absolute(
            "events_per_s",
            "events/s",
            events_per_s,
            Better::Higher,
            100_000.0,
        ),
        Metric::absolute("p99_latency_ms_at_10k", "ms", p99, Better::Lower, 50.0),
        Metric::absolute("resume_after_heal_ms", "ms", worst, Better::Lower, 2_000.0),
        Metric::informational("p50_latency_ms_at_10k", "ms", p50),
    ];
    for (cut, ms) in resumes {
        metrics.push(Metric::informational(
            &format!("resume_after_heal_ms_{}s_partition", cut.as_secs()),
            "ms",
            ms,
        ));
    }
    Ok(Report {
        bench: "mesh".into(),
        metrics,
    })
}
