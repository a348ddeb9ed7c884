//! `decnet-bench api`: the master's REST API and live stream under load.
//!
//! 1. A throwaway PostgreSQL cluster (fsync off, as every test cluster) is seeded with
//!    1,000,000 events across 50 deckies and 5,000 source addresses through the real
//!    ingest ([`super::api_seed`]), then vacuumed and analysed.
//! 2. The release `decnet-master serve` next to this `decnet-bench` is started against it
//!    (`cargo build --release -p decnet-master -p decnet-integration`), its bus served on
//!    a socket so the benchmark's ingest can wake its live streams.
//! 3. 64 concurrent keep-alive HTTP/1.1 connections (hyper, one request after the other
//!    per connection) drive each endpoint for 20 s: `events_list` (`GET /events?limit=50`),
//!    `events_search`, `attackers` (`GET /attackers?limit=50`), `stats`.
//! 4. `ingest_events_per_s`: 300,000 new events committed (batches of 1,000, two
//!    committers) while the 64 connections keep listing events.
//! 5. `sse_p99_ms`: one `GET /stream` client while the 64 connections keep listing events
//!    and batches of 10 events are committed every 50 ms; latency runs from the start of
//!    each commit call to the arrival of the event's frame (an upper bound of
//!    commit→client).
//! 6. `api_rss_mb`: the largest VmRSS of the master process sampled during 3–5.
//!
//! Load generator, master and PostgreSQL share the machine's cores, as they would in a
//! test; the figures are the system's, not the API's alone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use decnet_event::Event;
use decnet_master::auth::password;
use decnet_master::config::DatabaseConfig;
use decnet_master::ingest::Ingest;
use decnet_master::store::Store;
use decnet_master::store::users::{NewUser, Role};
use decnet_mesh::bus::Bus;
use decnet_pgcluster::TestCluster;
use hdrhistogram::Histogram;
use tokio::process::{Child, Command};

use super::api_load::{self, LoadResult};
use super::api_seed::{self, SeedSpec};
use crate::report::{Better, Metric, Report};

const CONNS: usize = 64;
const RUN: Duration = Duration::from_secs(20);
const SECRET: &str = "7c3e9a1f5b2d8c4e6a0f9b3d7e1c5a2f8d4b6e0c9a3f7d1b";
const USER: &str = "bench";
const PASSWORD: &str = "bench-password-long-enough";
const INGEST_EVENTS: usize = 300_000;
const SSE_RUN: Duration = Duration::from_secs(15);
const SSE_BATCH: usize = 10;
const SSE_EVERY: Duration = Duration::from_millis(50);

fn master_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate decnet-bench")?;
    let bin = exe.with_file_name("decnet-master");
    if !bin.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release -p decnet-master -p decnet-integration)",
            bin.display()
        );
    }
    Ok(bin)
}

struct Master {
    child: Child,
    addr: SocketAddr,
    socket: PathBuf,
}

impl Master {
    fn rss_mb(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

async fn start_master(db: &TestCluster, dir: &std::path::Path) -> anyhow::Result<Master> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let config = dir.join("master.toml");
    std::fs::write(&config, "")?;
    let socket = dir.join("bus.sock");
    let log = std::fs::File::create(dir.join("master.log"))?;
    let mut cmd = Command::new(master_binary()?);
    cmd.args(["serve", "--config"])
        .arg(&config)
        .args([
            "--database-url",
            &db.url("decnet"),
            "--listen",
            &addr.to_string(),
        ])
        .env("DECNET_JWT_SECRET", SECRET)
        .env("DECNET_BUS__SOCKET", &socket)
        .env("RUST_LOG", "warn")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true);
    let child = cmd.spawn().context("starting decnet-master")?;
    let master = Master {
        child,
        addr,
        socket,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            s.write_all(b"GET /api/v1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await?;
            let mut out = Vec::new();
            s.read_to_end(&mut out).await?;
            if out.starts_with(b"HTTP/1.1 200") {
                return Ok(master);
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("master.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            bail!(
                "decnet-master did not become healthy; its log ends with:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(addr: SocketAddr) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let body = serde_json::json!({"username": USER, "password": PASSWORD}).to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    let json = out.split("\r\n\r\n").nth(1).context("no login body")?;
    let v: serde_json::Value = serde_json::from_str(json).context("login body")?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("login refused: {json}"))
}

/// Samples the master's RSS until stopped; returns the largest, in MB.
fn sample_rss(master: &Master, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<f64> {
    let pid = master.child.id();
    tokio::spawn(async move {
        let mut max: f64 = 0.0;
        while !stop.load(Ordering::Relaxed) {
            if let Some(pid) = pid
                && let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                && let Some(kb) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            {
                max = max.max(kb / 1024.0);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        max
    })
}

fn live_event(i: usize) -> anyhow::Result<Event> {
    let ip = format!("198.18.{}.{}:40000", (i / 250) % 250, i % 250 + 1);
    Event::builder()
        .host("bench-live")
        .decky(format!("decky-{:02}", i % 50 + 1))
        .service("ssh")
        .event_type("command")
        .src(ip.parse()?)
        .dst_port(22)
        .field("command", "uname -a")
        .build()
        .map_err(Into::into)
}

async fn socket_bus(path: &std::path::Path) -> anyhow::Result<Bus> {
    let bus = Bus::connect(path, "bench-ingest");
    let deadline = Instant::now() + Duration::from_secs(10);
    while bus.flush().await.is_err() {
        if Instant::now() > deadline {
            bail!("cannot reach the master's bus at {}", path.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(bus)
}

/// Ingest throughput while the API serves the event list.
async fn ingest_under_load(
    store: &Store,
    master: &Master,
    token: &str,
) -> anyhow::Result<(api_seed::SeedReport, LoadResult)> {
    let ingest = Ingest::new(store.clone(), socket_bus(&master.socket).await?);
    let spec = SeedSpec {
        events: INGEST_EVENTS,
        span: time::Duration::hours(1),
        end: time::OffsetDateTime::now_utc(),
        seed: 0x5eed_0002,
        host: "bench-live".into(),
        ..SeedSpec::api_default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (addr, token, stop) = (master.addr, token.to_owned(), stop.clone());
        tokio::spawn(async move {
            api_load::run_until(addr, "/api/v1/events?limit=50", &token, CONNS, stop).await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = api_seed::seed(&ingest, &spec).await;
    stop.store(true, Ordering::Relaxed);
    let load = load.await.context("load task")??;
    Ok((report?, load))
}

/// What the live-stream phase measured.
struct SseResult {
    /// From the start of each commit call to the frame's arrival.
    from_commit_start: Histogram<u64>,
    /// From the return of each commit call (0 when the frame came first).
    from_commit_return: Histogram<u64>,
    /// Duration of the commit calls.
    commit: Histogram<u64>,
    committed: usize,
    received: usize,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Commit-to-client latency of the live stream while the API serves the event list.
async fn sse_under_load(store: &Store, master: &Master, token: &str) -> anyhow::Result<SseResult> {
    let ingest = Ingest::new(store.clone(), socket_bus(&master.socket).await?);
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (arrivals, stop) = (arrivals.clone(), stop.clone());
        let (addr, token) = (master.addr, token.to_owned());
        tokio::spawn(async move {
            api_load::sse_ids(addr, "/api/v1/stream", &token, stop, |id| {
                let now = Instant::now();
                if let Ok(mut m) = arrivals.lock() {
                    m.insert(id.to_owned(), now);
                }
            })
            .await
        })
    };
    let load_stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (addr, token, stop) = (master.addr, token.to_owned(), load_stop.clone());
        tokio::spawn(async move {
            api_load::run_until(addr, "/api/v1/events?limit=50", &token, CONNS, stop).await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut batches: Vec<(Vec<String>, Instant, Instant)> = Vec::new();
    let started = Instant::now();
    let mut next = 0usize;
    while started.elapsed() < SSE_RUN {
        let batch: Vec<Event> = (next..next + SSE_BATCH)
            .map(live_event)
            .collect::<Result<_, _>>()?;
        next += SSE_BATCH;
        let ids = batch.iter().map(|e| e.id.to_string()).collect();
        let t0 = Instant::now();
        ingest.commit("bench-live", batch).await?;
        batches.push((ids, t0, Instant::now()));
        tokio::time::sleep(SSE_EVERY).await;
    }
    // Let the last frames arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    load_stop.store(true, Ordering::Relaxed);
    reader.await.context("stream reader")??;
    load.await.context("load task")??;

    let empty = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut out = SseResult {
        from_commit_start: empty.clone(),
        from_commit_return: empty.clone(),
        commit: empty,
        committed: 0,
        received: 0,
    };
    let arrivals = arrivals
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    for (ids, t0, t1) in batches {
        out.commit.record(micros(t1 - t0))?;
        for id in ids {
            out.committed += 1;
            if let Some(at) = arrivals.get(&id) {
                out.received += 1;
                out.from_commit_start
                    .record(micros(at.saturating_duration_since(t0)))?;
                out.from_commit_return
                    .record(micros(at.saturating_duration_since(t1)))?;
            }
        }
    }
    Ok(out)
}

/// Runs the benchmark.
pub async fn run() -> anyhow::Result<Report> {
    master_binary()?;
    let db = tokio::task::spawn_blocking(TestCluster::start).await??;
    let pg = db.create_database("decnet").await?;
    let store = Store::connect(pg, &DatabaseConfig::default()).await?;
    store.migrate().await?;

    let mut spec = SeedSpec::api_default();
    // Development knob only: smaller seeds for quick iterations; reports use the default.
    if let Some(n) = std::env::var("DECNET_BENCH_API_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        spec.events = n;
    }
    eprintln!(
        "seeding {} events across {} deckies and {} addresses…",
        spec.events, spec.deckies, spec.ips
    );
    let seeded = api_seed::seed(&Ingest::new(store.clone(), Bus::disabled("seed")), &spec).await?;
    eprintln!(
        "seeded {} events in {:.1?} ({:.0}/s); vacuuming",
        seeded.inserted, seeded.elapsed, seeded.events_per_s
    );
    store
        .pool()
        .get()
        .await?
        .batch_execute("VACUUM ANALYZE")
        .await?;
    let hash = password::hash(PASSWORD)?;
    store
        .users()
        .create(NewUser {
            username: USER,
            password_hash: &hash,
            role: Role::Admin,
            must_change_password: false,
        })
        .await?;

    let dir = tempfile::tempdir()?;
    let mut master = start_master(&db, dir.path()).await?;
    let token = login(master.addr).await?;
    let idle_rss = master.rss_mb().unwrap_or(0.0);

    let rss_stop = Arc::new(AtomicBool::new(false));
    let rss = sample_rss(&master, rss_stop.clone());
    let mut results = Vec::new();
    for (name, path) in [
        ("events_list", "/api/v1/events?limit=50"),
        (
            "events_search",
            "/api/v1/events?search=service:ssh%20event:login_attempt&limit=50",
        ),
        ("attackers", "/api/v1/attackers?limit=50"),
        ("stats", "/api/v1/stats"),
    ] {
        eprintln!("{name}: {CONNS} connections for {RUN:?}…");
        let r = api_load::run(master.addr, path, &token, CONNS, RUN).await?;
        eprintln!(
            "  {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            r.rps, r.p50_ms, r.p99_ms, r.errors
        );
        results.push((name, r));
    }
    // Development knob only: extra paths to measure, comma-separated.
    for path in std::env::var("DECNET_BENCH_API_EXTRA")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let r = api_load::run(master.addr, path, &token, CONNS, Duration::from_secs(10)).await?;
        eprintln!(
            "{path}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            r.rps, r.p50_ms, r.p99_ms, r.errors
        );
    }
    if std::env::var_os("DECNET_BENCH_API_READS_ONLY").is_some() {
        bail!("stopping after the reads (DECNET_BENCH_API_READS_ONLY)");
    }
    eprintln!("ingest of {INGEST_EVENTS} events under load…");
    let (ingested, ingest_load) = ingest_under_load(&store, &master, &token).await?;
    eprintln!(
        "  {:.0} events/s; list meanwhile {:.0} req/s",
        ingested.events_per_s, ingest_load.rps
    );
    eprintln!("live stream under load for {SSE_RUN:?}…");
    let sse = sse_under_load(&store, &master, &token).await?;
    rss_stop.store(true, Ordering::Relaxed);
    let max_rss = rss.await?;
    let _ = master.child.start_kill();
    let _ = master.child.wait().await;

    let r = |n: &str| {
        results
            .iter()
            .find(|(name, _)| *name == n)
            .map(|(_, r)| r.clone())
            .context("missing run")
    };
    let (list, search, attackers, stats) = (
        r("events_list")?,
        r("events_search")?,
        r("attackers")?,
        r("stats")?,
    );
    let errors: u64 = results.iter().map(|(_, r)| r.errors).sum::<u64>() + ingest_load.errors;
    let p99 = |h: &Histogram<u64>| h.value_at_quantile(0.99) as f64 / 1000.0;
    let sse_p99 = p99(&sse.from_commit_start);
    Ok(Report {
        bench: "api".into(),
        metrics: vec![
            Metric::absolute(
                "events_list_rps",
                "req/s",
                list.rps,
                Better::Higher,
                15_000.0,
            ),
            Metric::absolute("events_list_p99_ms", "ms", list.p99_ms, Better::Lower, 25.0),
            Metric::informational("events_search_rps", "req/s", search.rps),
            Metric::informational("events_search_p99_ms", "ms", search.p99_ms),
            Metric::absolute(
                "attackers_rps",
                "req/s",
                attackers.rps,
                Better::Higher,
                5_000.0,
            ),
            Metric::informational("attackers_p99_ms", "ms", attackers.p99_ms),
            Metric::informational("stats_rps", "req/s", stats.rps),
            Metric::absolute(
                "ingest_events_per_s",
                "events/s",
                ingested.events_per_s,
                Better::Higher,
                50_000.0,
            ),
            Metric::informational("events_list_rps_during_ingest", "req/s", ingest_load.rps),
            Metric::absolute("sse_p99_ms", "ms", sse_p99, Better::Lower, 100.0),
            Metric::informational(
                "sse_p50_ms",
                "ms",
                sse.from_commit_start.value_at_quantile(0.5) as f64 / 1000.0,
            ),
            Metric::informational(
                "sse_after_commit_return_p99_ms",
                "ms",
                p99(&sse.from_commit_return),
            ),
            Metric::informational("sse_commit_call_p99_ms", "ms", p99(&sse.commit)),
            Metric::informational("sse_events_received", "events", sse.received as f64),
            Metric::informational("sse_events_committed", "events", sse.committed as f64),
            Metric::absolute("api_rss_mb", "MB", max_rss, Better::Lower, 150.0),
            Metric::informational("api_idle_rss_mb", "MB", idle_rss),
            Metric::informational("seed_events_per_s", "events/s", seeded.events_per_s),
            Metric::informational("http_errors", "requests", errors as f64),
        ],
    })
}
