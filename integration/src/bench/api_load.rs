//! The HTTP load generator of the `api` benchmark: N keep-alive HTTP/1.1 connections, each
//! sending one request after the other (hyper's client connection, no pool), and a
//! server-sent events reader.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Empty};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// 2xx responses.
    pub ok: u64,
    /// Non-2xx responses and connection failures.
    pub errors: u64,
    /// `ok / elapsed`.
    pub rps: f64,
    /// Median latency of 2xx responses, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of 2xx responses, ms.
    pub p99_ms: f64,
}

async fn connect(addr: SocketAddr) -> anyhow::Result<http1::SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(addr: SocketAddr, path: &str, token: &str) -> anyhow::Result<Request<Empty<Bytes>>> {
    Ok(Request::get(path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {token}"))
        .body(Empty::new())?)
}

async fn worker(
    addr: SocketAddr,
    path: Arc<str>,
    token: Arc<str>,
    stop: Arc<AtomicBool>,
    errors: Arc<AtomicU64>,
    mut hist: Histogram<u64>,
) -> Histogram<u64> {
    let mut sender = None;
    while !stop.load(Ordering::Relaxed) {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => sender.insert(s),
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(req) = request(addr, &path, &token) else {
            errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let started = Instant::now();
        let result = async {
            let resp = s.send_request(req).await?;
            let status = resp.status();
            resp.into_body().collect().await?;
            Ok::<_, anyhow::Error>(status)
        }
        .await;
        match result {
            Ok(status) if status.is_success() => {
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                let _ = hist.record(us.max(1));
            }
            Ok(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                sender = None;
            }
        }
    }
    hist
}

/// Drives `GET path` over `conns` keep-alive connections for `duration`.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    token: &str,
    conns: usize,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(duration).await;
        flag.store(true, Ordering::Relaxed);
    });
    run_until(addr, path, token, conns, stop).await
}

/// Drives `GET path` over `conns` keep-alive connections until `stop` is set.
pub async fn run_until(
    addr: SocketAddr,
    path: &str,
    token: &str,
    conns: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<LoadResult> {
    let errors = Arc::new(AtomicU64::new(0));
    let path: Arc<str> = Arc::from(path);
    let token: Arc<str> = Arc::from(token);
    // Microseconds, up to 60 s, 3 significant digits.
    let empty = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            tokio::spawn(worker(
                addr,
                path.clone(),
                token.clone(),
                stop.clone(),
                errors.clone(),
                empty.clone(),
            ))
        })
        .collect();
    let mut total = empty;
    for t in tasks {
        let h = t.await.context("load worker panicked")?;
        total.add(&h)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = total.len();
    Ok(LoadResult {
        ok,
        errors: errors.load(Ordering::Relaxed),
        rps: ok as f64 / elapsed,
        p50_ms: total.value_at_quantile(0.50) as f64 / 1000.0,
        p99_ms: total.value_at_quantile(0.99) as f64 / 1000.0,
    })
}

/// Reads `GET path` as server-sent events, calling `on_id` with each frame's `id:`.
pub async fn sse_ids(
    addr: SocketAddr,
    path: &str,
    token: &str,
    stop: Arc<AtomicBool>,
    mut on_id: impl FnMut(&str),
) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let resp = sender.send_request(request(addr, path, token)?).await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "stream answered {}",
        resp.status()
    );
    let mut body = resp.into_body();
    let mut buf = String::new();
    while !stop.load(Ordering::Relaxed) {
        let frame = match tokio::time::timeout(Duration::from_millis(200), body.frame()).await {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(frame)) => frame?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buf.find('\n') {
            let line: String = buf.drain(..=end).collect();
            if let Some(id) = line.strip_prefix("id:") {
                on_id(id.trim());
            }
        }
    }
    Ok(())
}
