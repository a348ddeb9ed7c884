//! `decnet-bench bus`: the DECNET host bus against `nats-server`, measured in
//! the same run with the same payloads and client counts.
//!
//! Both brokers run as separate processes on this machine: `nats-server` on a
//! random loopback TCP port (clients: `async-nats`), our broker behind its
//! UNIX socket in a temp dir (clients: `decnet_mesh::bus::SocketClient`); the
//! clients of both live in this process on the same tokio runtime. Every
//! throughput figure is counted at the subscriber(s): messages received
//! divided by the time from the first publish to the last delivery, median of
//! [`RUNS`] runs, each side publishing exactly the same number of messages.
//! The subscriber client queue is 65,536 messages on both sides (the
//! `async-nats` default); each broker keeps its own server-side defaults.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use decnet_mesh::bus::{Broker, BusServer, ClientConfig, ServerConfig, SocketClient};
use decnet_mesh::envelope::{EventKind, Payload};
use decnet_mesh::topic::{Pattern, Topic, decky};
use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::process::{Child, Command};

use crate::report::{Better, Metric, Report};

/// Runs per throughput figure; the median is reported.
const RUNS: usize = 3;
/// Messages per 1→1 128 B run.
const N_128: u64 = 1_000_000;
/// Messages per 1→1 4 KiB run.
const N_4K: u64 = 200_000;
/// Messages per 1→10 run (each delivered ten times).
const N_FANOUT: u64 = 200_000;
/// Messages for the in-process run.
const N_INPROC: u64 = 10_000_000;
/// Length of each latency run.
const LATENCY_RUN: Duration = Duration::from_secs(3);
/// Subscriber queue on both sides (the async-nats default subscription capacity).
const SUB_QUEUE: usize = 64 * 1024;
/// A subscriber gives up after this long without a message.
const IDLE: Duration = Duration::from_secs(3);
const PEER: &str = "nats-server";
const KIND: EventKind = EventKind::from_static("bench");

/// A payload of exactly `len` bytes: one CBOR byte string (valid for our bus,
/// and the same bytes are sent to NATS). Bytes 2..10 carry a timestamp.
fn payload(len: usize, stamp: u64) -> Bytes {
    let content = if len < 24 + 1 {
        len - 1
    } else if len < 256 + 2 {
        len - 2
    } else {
        len - 3
    };
    let mut v = Vec::with_capacity(len);
    if content < 24 {
        v.push(0x40 | content as u8);
    } else if content < 256 {
        v.extend_from_slice(&[0x58, content as u8]);
    } else {
        v.push(0x59);
        v.extend_from_slice(&(content as u16).to_be_bytes());
    }
    let mut body = vec![0xa5u8; content];
    body[..8].copy_from_slice(&stamp.to_be_bytes());
    v.extend_from_slice(&body);
    debug_assert_eq!(v.len(), len);
    Bytes::from(v)
}

fn stamp_of(bytes: &[u8], len: usize) -> Option<u64> {
    let skip = if len < 256 + 2 { 2 } else { 3 };
    let s: [u8; 8] = bytes.get(skip..skip + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(s))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn find_nats_server() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/bin".into()]);
    for dir in dirs {
        let candidate = dir.join("nats-server");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "nats-server not found: install the Debian package `nats-server` \
         (apt-get install -y nats-server) to run `decnet-bench bus`"
    )
}

struct Nats {
    _child: Child,
    url: String,
}

async fn start_nats() -> anyhow::Result<Nats> {
    let bin = find_nats_server()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let url = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(&url).await.is_err() {
        if Instant::now() > deadline {
            bail!("nats-server did not start listening on {url}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Nats { _child: child, url })
}

struct Ours {
    _child: Child,
    _dir: tempfile::TempDir,
    path: PathBuf,
}

async fn start_ours() -> anyhow::Result<Ours> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bus.sock");
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .arg("bus")
        .arg("--serve-socket")
        .arg(&path)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting our bus server")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::UnixStream::connect(&path).await.is_err() {
        if Instant::now() > deadline {
            bail!("our bus server did not start on {}", path.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Ours {
        _child: child,
        _dir: dir,
        path,
    })
}

/// The hidden `--serve-socket` mode: our broker as its own process, like nats-server.
pub async fn serve(path: &Path) -> anyhow::Result<()> {
    let mut cfg = ServerConfig::new(path);
    cfg.group = None;
    let _server = BusServer::bind(Broker::default(), cfg).await?;
    futures::future::pending::<()>().await;
    Ok(())
}

async fn our_client(path: &Path, name: &str) -> anyhow::Result<SocketClient> {
    let mut cfg = ClientConfig::new(path, name);
    cfg.queue_capacity = SUB_QUEUE;
    let c = SocketClient::connect(cfg);
    tokio::time::timeout(Duration::from_secs(10), c.connected())
        .await
        .context("connecting to our bus")?;
    Ok(c)
}

async fn nats_client(url: &str) -> anyhow::Result<async_nats::Client> {
    Ok(async_nats::ConnectOptions::new()
        .subscription_capacity(SUB_QUEUE)
        .connect(url)
        .await?)
}

/// What one subscriber saw.
struct Seen {
    count: u64,
    last: Option<Instant>,
}

/// Feeds every message of `sub` to `each` until `expect` messages or
/// [`IDLE`] without one. One idle timer is armed for the whole run and only
/// pushed back now and then, so the harness costs the same little per message
/// on both sides (a timer per message would wake the timer driver each time).
async fn drain<S, T>(sub: &mut S, expect: u64, mut each: impl FnMut(T)) -> Seen
where
    S: futures::Stream<Item = T> + Unpin,
{
    let mut seen = Seen {
        count: 0,
        last: None,
    };
    let idle = tokio::time::sleep(IDLE);
    tokio::pin!(idle);
    let mut armed = Instant::now();
    while seen.count < expect {
        tokio::select! {
            biased;
            item = sub.next() => {
                let Some(item) = item else { break };
                each(item);
                let now = Instant::now();
                seen.count += 1;
                seen.last = Some(now);
                if now.duration_since(armed) > IDLE / 4 {
                    idle.as_mut().reset((now + IDLE).into());
                    armed = now;
                }
            }
            () = &mut idle => break,
        }
    }
    seen
}

/// Counts what a subscriber receives (see [`drain`]).
async fn count<S: futures::Stream + Unpin>(sub: &mut S, expect: u64) -> Seen {
    drain(sub, expect, |_| {}).await
}

fn rate(label: &str, n: u64, fanout: u64, start: Instant, seen: &[Seen]) -> f64 {
    let total: u64 = seen.iter().map(|s| s.count).sum();
    let last = seen.iter().filter_map(|s| s.last).max().unwrap_or(start);
    let secs = last.duration_since(start).as_secs_f64().max(1e-9);
    let lost = n * fanout - total;
    let r = total as f64 / secs;
    eprintln!(
        "  {label}: {total}/{} delivered in {secs:.3}s = {r:.0}/s (lost {lost})",
        n * fanout
    );
    r
}

async fn ours_throughput(
    path: &Path,
    topic: &Topic,
    size: usize,
    n: u64,
    subs: usize,
) -> anyhow::Result<f64> {
    let publisher = our_client(path, "bench-pub").await?;
    let mut tasks = Vec::new();
    let mut keep = Vec::new();
    for i in 0..subs {
        let c = our_client(path, &format!("bench-sub-{i}")).await?;
        let mut sub = c.subscribe(&Pattern::exact(topic));
        c.flush().await?;
        tasks.push(tokio::spawn(async move { count(&mut sub, n).await }));
        keep.push(c);
    }
    let body = Payload::from_cbor(payload(size, 0))?;
    let start = Instant::now();
    for _ in 0..n {
        publisher.publish_payload(topic, KIND, body.clone()).await?;
    }
    publisher.flush().await?;
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await?);
    }
    let client_dropped: u64 = keep.iter().map(|c| c.stats().dropped).sum();
    eprintln!("  ours: subscriber client queues dropped {client_dropped}");
    Ok(rate("ours", n, subs as u64, start, &seen))
}

async fn nats_throughput(
    url: &str,
    subject: &str,
    size: usize,
    n: u64,
    subs: usize,
) -> anyhow::Result<f64> {
    let publisher = nats_client(url).await?;
    let mut tasks = Vec::new();
    let mut keep = Vec::new();
    for _ in 0..subs {
        let c = nats_client(url).await?;
        let mut sub = c.subscribe(subject.to_owned()).await?;
        c.flush().await?;
        tasks.push(tokio::spawn(async move { count(&mut sub, n).await }));
        keep.push(c);
    }
    let body = payload(size, 0);
    let subject = async_nats::Subject::from(subject);
    let start = Instant::now();
    for _ in 0..n {
        publisher.publish(subject.clone(), body.clone()).await?;
    }
    publisher.flush().await?;
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await?);
    }
    Ok(rate("nats", n, subs as u64, start, &seen))
}

/// Median throughput of both sides over [`RUNS`] alternating runs.
async fn throughput(
    name: &str,
    ours: &Ours,
    nats: &Nats,
    size: usize,
    n: u64,
    subs: usize,
) -> anyhow::Result<(f64, f64)> {
    let topic = decky::traffic("bench")?;
    eprintln!("{name}: {n} messages of {size} B, 1 publisher, {subs} subscriber(s)");
    let (mut o, mut p) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        if run % 2 == 0 {
            o.push(ours_throughput(&ours.path, &topic, size, n, subs).await?);
            p.push(nats_throughput(&nats.url, topic.as_str(), size, n, subs).await?);
        } else {
            p.push(nats_throughput(&nats.url, topic.as_str(), size, n, subs).await?);
            o.push(ours_throughput(&ours.path, &topic, size, n, subs).await?);
        }
    }
    Ok((median(o), median(p)))
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// Paces `rate` msgs/s in 1 ms ticks for [`LATENCY_RUN`]; `send` gets a payload
/// stamped with the send time in ns since `base`.
async fn paced<F, Fut>(rate: f64, base: Instant, mut send: F) -> anyhow::Result<u64>
where
    F: FnMut(Bytes) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0u64;
    while start.elapsed() < LATENCY_RUN {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let ns = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
            send(payload(128, ns)).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

fn record(h: &mut Histogram<u64>, base: Instant, bytes: &[u8]) {
    if let Some(sent) = stamp_of(bytes, 128) {
        let now = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let _ = h.record((now.saturating_sub(sent) / 1000).max(1));
    }
}

async fn ours_latency(path: &Path, rate: f64) -> anyhow::Result<f64> {
    let topic = decky::traffic("latency")?;
    let publisher = Arc::new(our_client(path, "lat-pub").await?);
    let subscriber = our_client(path, "lat-sub").await?;
    let mut sub = subscriber.subscribe(&Pattern::exact(&topic));
    subscriber.flush().await?;
    let base = Instant::now();
    let collector = tokio::spawn(async move {
        let mut h = new_histogram()?;
        drain(
            &mut sub,
            u64::MAX,
            |e: Arc<decnet_mesh::envelope::Envelope>| record(&mut h, base, e.payload().as_cbor()),
        )
        .await;
        anyhow::Ok(h)
    });
    let sent = paced(rate, base, |b| {
        let p = publisher.clone();
        let t = topic.clone();
        async move {
            p.publish_payload(&t, KIND, Payload::from_cbor(b)?).await?;
            Ok(())
        }
    })
    .await?;
    let h = collector.await??;
    eprintln!(
        "  ours: {} of {sent} timed, p50 {} us, p99 {} us",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99)
    );
    Ok(h.value_at_quantile(0.99) as f64)
}

async fn nats_latency(url: &str, rate: f64) -> anyhow::Result<f64> {
    let subject = decky::traffic("latency")?.to_string();
    let publisher = nats_client(url).await?;
    let subscriber = nats_client(url).await?;
    let mut sub = subscriber.subscribe(subject.clone()).await?;
    subscriber.flush().await?;
    let base = Instant::now();
    let collector = tokio::spawn(async move {
        let mut h = new_histogram()?;
        drain(&mut sub, u64::MAX, |m: async_nats::Message| {
            record(&mut h, base, &m.payload)
        })
        .await;
        anyhow::Ok(h)
    });
    let subject = async_nats::Subject::from(subject);
    let sent = paced(rate, base, |b| {
        let p = publisher.clone();
        let s = subject.clone();
        async move {
            p.publish(s, b).await?;
            Ok(())
        }
    })
    .await?;
    let h = collector.await??;
    eprintln!(
        "  nats: {} of {sent} timed, p50 {} us, p99 {} us",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99)
    );
    Ok(h.value_at_quantile(0.99) as f64)
}

/// One publisher thread, one subscriber task, one broker, no socket.
async fn inproc() -> anyhow::Result<f64> {
    let broker = Broker::default();
    let topic = decky::traffic("inproc")?;
    let mut sub = broker.client("sub").subscribe(&Pattern::exact(&topic));
    let publisher = broker.client("pub");
    let body = Payload::from_cbor(payload(128, 0))?;
    let start = Instant::now();
    let t = topic.clone();
    let pubs = std::thread::spawn(move || -> anyhow::Result<()> {
        for _ in 0..N_INPROC {
            publisher.publish_payload(&t, KIND, body.clone())?;
        }
        Ok(())
    });
    let mut seen = Seen {
        count: 0,
        last: None,
    };
    // Drain whole batches, as the socket server and mesh links consume the broker: one
    // wake-up per batch rather than per event.
    let mut batch = std::collections::VecDeque::new();
    while seen.count < N_INPROC {
        let next = futures::future::poll_fn(|cx| sub.poll_batch(cx, &mut batch));
        match tokio::time::timeout(IDLE, next).await {
            Ok(true) => {
                seen.count += batch.len() as u64;
                batch.clear();
                seen.last = Some(Instant::now());
            }
            _ => break,
        }
    }
    pubs.join()
        .map_err(|_| anyhow::anyhow!("publisher thread panicked"))??;
    eprintln!(
        "inproc: 1 publisher thread, 1 subscriber, {N_INPROC} messages of 128 B (dropped {})",
        sub.dropped()
    );
    Ok(rate("ours", N_INPROC, 1, start, &[seen]))
}

/// Runs every measurement and builds the report; `only` restricts the run to
/// the metrics whose name starts with it (a profiling aid).
pub async fn run(only: Option<&str>) -> anyhow::Result<Report> {
    let want = |name: &str| only.is_none_or(|o| name.starts_with(o));
    let mut metrics = Vec::new();
    let socket = ["socket_1to1_128B", "socket_1to1_4KiB", "socket_1to10_128B"];
    if socket.iter().any(|m| want(m)) {
        let nats = start_nats().await?;
        let ours = start_ours().await?;
        let (mut o128, mut n128) = (0.0, 0.0);
        if want("socket_1to1_128B") {
            (o128, n128) = throughput("socket_1to1_128B", &ours, &nats, 128, N_128, 1).await?;
            metrics.push(Metric::versus_peer(
                "socket_1to1_128B_msgs_per_s",
                "msgs/s",
                o128,
                PEER,
                n128,
                Better::Higher,
                1.0,
            ));
        }
        if want("socket_1to1_4KiB") {
            let (o, n) = throughput("socket_1to1_4KiB", &ours, &nats, 4096, N_4K, 1).await?;
            metrics.push(Metric::versus_peer(
                "socket_1to1_4KiB_msgs_per_s",
                "msgs/s",
                o,
                PEER,
                n,
                Better::Higher,
                1.0,
            ));
        }
        if want("socket_1to10_128B") {
            let (o, n) = throughput("socket_1to10_128B", &ours, &nats, 128, N_FANOUT, 10).await?;
            metrics.push(Metric::versus_peer(
                "socket_1to10_128B_msgs_per_s",
                "msgs/s",
                o,
                PEER,
                n,
                Better::Higher,
                1.0,
            ));
        }
        if want("socket_1to1_128B") {
            // The same offered load for both: half the lower of the two peaks just measured.
            let rate = 0.5 * o128.min(n128);
            eprintln!("socket_1to1_128B_p99: {rate:.0} msgs/s for {LATENCY_RUN:?}");
            let o = ours_latency(&ours.path, rate).await?;
            let n = nats_latency(&nats.url, rate).await?;
            metrics.push(Metric::versus_peer(
                "socket_1to1_128B_p99_us",
                "us",
                o,
                PEER,
                n,
                Better::Lower,
                1.0,
            ));
        }
    }
    if want("inproc") {
        let inproc = inproc().await?;
        metrics.push(Metric::absolute(
            "inproc_1to1_128B_msgs_per_s",
            "msgs/s",
            inproc,
            Better::Higher,
            5_000_000.0,
        ));
    }
    Ok(Report {
        bench: "bus".into(),
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_exact_size_and_carry_the_stamp() {
        for len in [128, 300, 4096] {
            let p = payload(len, 0xdead_beef);
            assert_eq!(p.len(), len);
            assert!(Payload::from_cbor(p.clone()).is_ok(), "{len}");
            assert_eq!(stamp_of(&p, len), Some(0xdead_beef));
        }
    }
}
