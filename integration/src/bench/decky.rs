//! `decnet-bench decky`: one `decnet-decky` on loopback, measured from outside.
//!
//! * `tcp_conn_per_s`: redis connections opened, answered (`PING` → `+PONG`),
//!   closed and logged (their `disconnect` line is on the decky's stdout),
//!   per second, over a ~10 s run with 64 connections in flight. The run is
//!   kept short because the kernel's conntrack table fills above ~2,200 new
//!   connections/s sustained for long.
//! * `idle_rss_mb`: VmRSS of the decky after start-up, no connection open.
//! * `rss_mb_at_1000_conns`: VmRSS with 1,000 connections open, each having
//!   completed one PING, then idle.
//!
//! * `http_req_per_s`: `GET /` requests answered by the http service (nginx
//!   persona, keep-alive, 64 connections, reconnecting when nginx's 1,000
//!   requests per connection are used up) and logged, per second, over ~10 s.
//!
//! * `ssh_auth_per_s`: failed SSH password attempts answered and logged per
//!   second, over ~10 s, by a second decky running only the ssh service.
//!   The emulator keeps PAM's ~2 s failure delay and OpenSSH's MaxAuthTries
//!   (6), so the rate is reached the way a botnet reaches it: 1,500 russh
//!   clients in flight, each trying passwords until it is disconnected, then
//!   reconnecting (key exchange included). The delay is idle time, not CPU.
//!
//! The decky is the release `decnet-decky` next to this `decnet-bench`
//! (`cargo build --release -p decnet-templates -p decnet-integration`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::report::{Better, Metric, Report};

const RATE_RUN: Duration = Duration::from_secs(10);
const IN_FLIGHT: usize = 64;
const IDLE_CONNS: usize = 1000;
const PORT: u16 = 6379;
const HTTP_PORT: u16 = 80;
const SSH_PORT: u16 = 22;
const SSH_CONNS: usize = 1500;
const HTTP_CONNS: usize = 64;

fn decky_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate decnet-bench")?;
    let bin = exe.with_file_name("decnet-decky");
    if !bin.is_file() {
        bail!(
            "{} not found: build it next to decnet-bench with `cargo build --release -p decnet-templates`",
            bin.display()
        );
    }
    Ok(bin)
}

/// A loopback address whose redis port is free.
fn free_addr() -> anyhow::Result<Ipv4Addr> {
    for last in 2..=254u8 {
        let ip = Ipv4Addr::new(127, 77, 250, last);
        if std::net::TcpListener::bind((ip, PORT)).is_ok()
            && std::net::TcpListener::bind((ip, HTTP_PORT)).is_ok()
        {
            return Ok(ip);
        }
    }
    bail!("no free 127.77.250.x address with port {PORT} free")
}

fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmRSS missing from /proc/PID/status")?;
    Ok(kb / 1024.0)
}

fn conntrack_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn wait_listening(addr: SocketAddr, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("decnet-decky exited at start-up with {status}");
        }
        if Instant::now() > deadline {
            bail!("decnet-decky did not listen on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One PING round trip on a fresh connection.
async fn ping(stream: &mut TcpStream) -> anyhow::Result<()> {
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").await?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await?;
    if &reply != b"+PONG\r\n" {
        bail!("unexpected reply {reply:?}");
    }
    Ok(())
}

fn count_lines(path: &Path, needle: &str) -> u64 {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.contains(needle)).count() as u64)
        .unwrap_or(0)
}

async fn rate_run(addr: SocketAddr) -> (u64, u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        let (done, failed, stop) = (Arc::clone(&done), Arc::clone(&failed), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = match TcpStream::connect(addr).await {
                    Ok(mut s) => ping(&mut s).await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }
    tokio::time::sleep(RATE_RUN).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    (
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        elapsed,
    )
}

/// Reads one HTTP/1.1 response with a Content-Length body; `false` when the
/// connection ended (nginx closes after its keep-alive request limit).
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<bool> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).context("response head is not UTF-8")?;
            if !head.starts_with("HTTP/1.1 200") {
                bail!("unexpected status line in {head:?}");
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .context("response without Content-Length")?;
            let total = end + 4 + len;
            while buf.len() < total {
                let mut chunk = [0u8; 16 * 1024];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed inside a body");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..total);
            return Ok(true);
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(false);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn http_run(addr: SocketAddr) -> (u64, u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(HTTP_CONNS);
    for _ in 0..HTTP_CONNS {
        let (done, failed, stop) = (Arc::clone(&done), Arc::clone(&failed), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                };
                let mut buf = Vec::with_capacity(16 * 1024);
                while !stop.load(Ordering::Relaxed) {
                    if s.write_all(
                        b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: decnet-bench\r\n\r\n",
                    )
                    .await
                    .is_err()
                    {
                        break;
                    }
                    match read_response(&mut s, &mut buf).await {
                        Ok(true) => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(false) => break,
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(RATE_RUN).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    (
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        elapsed,
    )
}

/// Waits until `path` holds at least `want` more lines containing `needle` than `before`.
async fn logged_since(path: &Path, needle: &str, before: u64, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = count_lines(path, needle).saturating_sub(before);
        if n >= want || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Accepts any host key: the bench talks to its own decky.
struct AnyHostKey;

impl russh::client::Handler for AnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Failed password attempts answered during the run, connections that failed, elapsed.
async fn ssh_run(addr: SocketAddr) -> (u64, u64, Duration) {
    let config = Arc::new(russh::client::Config::default());
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(SSH_CONNS);
    for i in 0..SSH_CONNS {
        let (done, failed, stop, config) = (
            Arc::clone(&done),
            Arc::clone(&failed),
            Arc::clone(&stop),
            Arc::clone(&config),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut h) = russh::client::connect(Arc::clone(&config), addr, AnyHostKey).await
                else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // Until MaxAuthTries disconnects us, like a brute-forcer.
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match h
                        .authenticate_password("root", format!("guess-{i}-{n}"))
                        .await
                    {
                        Ok(r) if !r.success() => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => break,
                    }
                }
            }
        }));
    }
    tokio::time::sleep(RATE_RUN).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for w in workers {
        w.abort();
    }
    (
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        elapsed,
    )
}

/// Starts a decky running only the ssh service and measures password attempts.
async fn ssh_auth(bin: &Path) -> anyhow::Result<f64> {
    let ip = free_addr()?;
    let addr = SocketAddr::from((ip, SSH_PORT));
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("spec.toml");
    let events = dir.path().join("events.log");
    std::fs::write(
        &spec,
        format!(
            "name = \"bench-ssh\"\nhostname = \"bench\"\nbind = [\"{ip}\"]\nseed = \"bench\"\ndata_dir = \"{}\"\n\
             [limits]\nmax_connections = 20000\nmax_connections_per_ip = 20000\n\
             [services.ssh]\nport = {SSH_PORT}\nusers = \"root:not-guessed\"\n",
            dir.path().display()
        ),
    )?;
    let mut child = Command::new(bin)
        .arg("--spec")
        .arg(&spec)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&events)?)
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let pid = child.id().context("decnet-decky has no pid")?;
    let result = async {
        wait_listening(addr, &mut child).await?;
        let needle = " ssh - auth ";
        let before = count_lines(&events, needle);
        let (done, failed, elapsed) = ssh_run(addr).await;
        let logged = logged_since(&events, needle, before, done).await;
        eprintln!(
            "ssh run: {done} password attempts answered, {failed} connections failed, {logged} auth events logged, in {:.2} s",
            elapsed.as_secs_f64()
        );
        anyhow::Ok(done.min(logged) as f64 / elapsed.as_secs_f64())
    }
    .await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    result
}

/// Runs the decky benchmark.
pub async fn run() -> anyhow::Result<Report> {
    let bin = decky_binary()?;
    let ip = free_addr()?;
    let addr = SocketAddr::from((ip, PORT));
    let dir = tempfile::tempdir()?;
    let spec = dir.path().join("spec.toml");
    let events = dir.path().join("events.log");
    std::fs::write(
        &spec,
        format!(
            "name = \"bench-decky\"\nhostname = \"bench\"\nbind = [\"{ip}\"]\nseed = \"bench\"\n\
             [limits]\nmax_connections = 20000\nmax_connections_per_ip = 20000\n\
             [services.redis]\nversion = \"7.0.15\"\n\
             [services.http]\nport = {HTTP_PORT}\nserver_header = \"nginx/1.22.1\"\n"
        ),
    )?;
    let mut child = Command::new(&bin)
        .arg("--spec")
        .arg(&spec)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&events)?)
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let pid = child.id().context("decnet-decky has no pid")?;
    let result = measure(addr, pid, &mut child, &events).await;
    // SIGTERM, so the decky exits the way it does in production.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let mut report = result?;
    let ssh_rate = ssh_auth(&bin).await?;
    report.metrics.push(Metric::absolute(
        "ssh_auth_per_s",
        "auth/s",
        ssh_rate,
        Better::Higher,
        500.0,
    ));
    Ok(report)
}

async fn measure(
    addr: SocketAddr,
    pid: u32,
    child: &mut Child,
    events: &Path,
) -> anyhow::Result<Report> {
    wait_listening(addr, child).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mb(pid)?;

    let mut held = Vec::with_capacity(IDLE_CONNS);
    for _ in 0..IDLE_CONNS {
        let mut s = TcpStream::connect(addr)
            .await
            .context("opening idle connections")?;
        ping(&mut s).await.context("PING on an idle connection")?;
        held.push(s);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_1000 = rss_mb(pid)?;
    drop(held);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = count_lines(events, " redis - disconnect ");
    if let Some(n) = conntrack_count() {
        eprintln!("conntrack entries before the rate run: {n}");
    }
    let (done, failed, elapsed) = rate_run(addr).await;
    // Give the event writer time to drain, then count what was logged.
    let logged = logged_since(events, " redis - disconnect ", before, done).await;
    if let Some(n) = conntrack_count() {
        eprintln!("conntrack entries after the rate run: {n}");
    }
    eprintln!(
        "rate run: {done} connections answered, {failed} failed, {logged} disconnects logged, in {:.2} s",
        elapsed.as_secs_f64()
    );
    let rate = done.min(logged) as f64 / elapsed.as_secs_f64();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let http_addr = SocketAddr::new(addr.ip(), HTTP_PORT);
    let before = count_lines(events, " http - request ");
    let (answered, http_failed, http_elapsed) = http_run(http_addr).await;
    let http_logged = logged_since(events, " http - request ", before, answered).await;
    eprintln!(
        "http run: {answered} requests answered, {http_failed} failed, {http_logged} requests logged, in {:.2} s",
        http_elapsed.as_secs_f64()
    );
    let http_rate = answered.min(http_logged) as f64 / http_elapsed.as_secs_f64();
    Ok(Report {
        bench: "decky".into(),
        metrics: vec![
            Metric::absolute("tcp_conn_per_s", "conn/s", rate, Better::Higher, 20_000.0),
            Metric::absolute(
                "http_req_per_s",
                "req/s",
                http_rate,
                Better::Higher,
                50_000.0,
            ),
            Metric::absolute("idle_rss_mb", "MB", idle, Better::Lower, 10.0),
            Metric::absolute("rss_mb_at_1000_conns", "MB", at_1000, Better::Lower, 60.0),
        ],
    })
}
