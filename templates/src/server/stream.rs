//! Connections served by an async protocol library that must own the socket.
//!
//! The SANS-IO [`crate::session::Session`] contract cannot express SSH: the
//! transport (russh) is an async library that reads and writes the stream
//! itself, re-keys, multiplexes channels and produces output without input.
//! Such a service implements [`StreamService`] and returns it from
//! [`crate::session::Service::stream`]; the runtime still owns everything
//! around the protocol: the `connect`/`disconnect` events with byte counts,
//! the idle and total session timeouts and shutdown, which it enforces by
//! dropping the service's future. Anything the service must report at the
//! end (a transcript's `session_recorded`) therefore has to be emitted from
//! code that runs on drop or from tasks that outlive the future.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::ServiceRuntime;
use crate::emit::{BoxFuture, Emitter};
use crate::session::disconnect_reasons as why;
use crate::session::event_types::{CONNECT, DISCONNECT};
use crate::session::{ConnInfo, Draft};
use crate::spec::Limits;

/// A service that serves whole connections itself.
pub trait StreamService: Send + Sync + 'static {
    /// Serves one connection to its end; resolves to the disconnect reason.
    fn serve(&self, conn: StreamConn) -> BoxFuture<'static, &'static str>;
}

#[derive(Debug)]
struct Counters {
    started: Instant,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    last_read_ms: AtomicU64,
}

/// The TCP stream, counting bytes and noting when the peer last sent some.
#[derive(Debug)]
pub struct CountingStream {
    inner: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            this.counters
                .bytes_in
                .fetch_add(n as u64, Ordering::Relaxed);
            let ms = this.counters.started.elapsed().as_millis() as u64;
            this.counters.last_read_ms.store(ms, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            this.counters
                .bytes_out
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Emits events for one connection.
#[derive(Debug, Clone)]
pub struct Events {
    emitter: Emitter,
    service: &'static str,
    info: ConnInfo,
}

impl Events {
    /// Emits `draft` with the connection's identity.
    pub fn emit(&self, draft: Draft) {
        self.emitter.emit(self.service, &self.info, draft);
    }
}

/// Everything a [`StreamService`] gets for one connection.
#[derive(Debug)]
pub struct StreamConn {
    /// The socket.
    pub io: CountingStream,
    /// Addresses and session id.
    pub info: ConnInfo,
    /// Event output.
    pub events: Events,
    /// The decky's limits.
    pub limits: Limits,
    /// Cancelled when the decky stops.
    pub shutdown: CancellationToken,
}

/// Serves `stream` with `svc`, enforcing timeouts and emitting `connect`/`disconnect`.
pub async fn serve(
    svc: &dyn StreamService,
    stream: TcpStream,
    info: ConnInfo,
    rt: Arc<ServiceRuntime>,
    shutdown: CancellationToken,
) {
    let service = rt.service.name();
    let events = Events {
        emitter: rt.emitter.clone(),
        service,
        info: info.clone(),
    };
    events.emit(Draft::new(CONNECT));
    let counters = Arc::new(Counters {
        started: Instant::now(),
        bytes_in: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
        last_read_ms: AtomicU64::new(0),
    });
    let conn = StreamConn {
        io: CountingStream {
            inner: stream,
            counters: Arc::clone(&counters),
        },
        info,
        events: events.clone(),
        limits: rt.limits.clone(),
        shutdown: shutdown.clone(),
    };
    let deadline = counters.started + rt.limits.session_timeout;
    let idle = rt.limits.idle_timeout;
    let watch_idle = {
        let c = Arc::clone(&counters);
        async move {
            loop {
                let last = c.started
                    + std::time::Duration::from_millis(c.last_read_ms.load(Ordering::Relaxed));
                let wake = last + idle;
                if Instant::now() >= wake {
                    return;
                }
                tokio::time::sleep_until(wake.into()).await;
            }
        }
    };
    let reason = tokio::select! {
        biased;
        _ = shutdown.cancelled() => why::SHUTDOWN,
        _ = tokio::time::sleep_until(deadline.into()) => why::SESSION_TIMEOUT,
        _ = watch_idle => why::IDLE_TIMEOUT,
        r = svc.serve(conn) => r,
    };
    let disconnect = Draft::new(DISCONNECT)
        .field("reason", reason)
        .field(
            "duration_ms",
            counters.started.elapsed().as_millis().to_string(),
        )
        .field(
            "bytes_in",
            counters.bytes_in.load(Ordering::Relaxed).to_string(),
        )
        .field(
            "bytes_out",
            counters.bytes_out.load(Ordering::Relaxed).to_string(),
        );
    events.emit(disconnect);
}
