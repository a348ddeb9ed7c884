//! Listening sockets and the accept loop.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use rand::RngCore as _;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ServiceRuntime;
use crate::session::ConnInfo;

/// Accept backlog: bursts of connections must not stall in SYN retries.
pub const ACCEPT_BACKLOG: u32 = 4096;

/// Binds a listening socket with [`ACCEPT_BACKLOG`].
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Session ids: a random per-listener prefix and a counter, so ids are unique
/// without a system call per connection (they never reach the attacker).
#[derive(Debug)]
pub struct SessionIds {
    prefix: u32,
    next: AtomicU32,
}

impl SessionIds {
    /// A generator with a fresh prefix from the OS RNG.
    pub fn new() -> Self {
        SessionIds {
            prefix: rand::rngs::OsRng.next_u32(),
            next: AtomicU32::new(rand::rngs::OsRng.next_u32()),
        }
    }

    /// The next id (16 hex digits).
    pub fn next_id(&self) -> String {
        format!(
            "{:08x}{:08x}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

impl Default for SessionIds {
    fn default() -> Self {
        Self::new()
    }
}

/// Accepts connections until `shutdown`, running each on `tracker`.
pub async fn accept_loop(
    listener: TcpListener,
    rt: Arc<ServiceRuntime>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let mut refused: u64 = 0;
    let mut last_warning: Option<Instant> = None;
    let ids = SessionIds::new();
    // Bound to one address, every connection's local address is the
    // listener's: no getsockname per connection.
    let fixed_local = listener
        .local_addr()
        .ok()
        .filter(|a| !a.ip().is_unspecified());
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning on the error.
                tracing::warn!(service = rt.service.name(), error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = match rt.limiter.try_acquire(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                refused += 1;
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    last_warning = Some(Instant::now());
                    tracing::warn!(service = rt.service.name(), %peer, ?why, refused, "connection cap reached; closing new connections");
                }
                continue;
            }
        };
        let local = match fixed_local.map_or_else(|| stream.local_addr(), Ok) {
            Ok(l) => l,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let conn = ConnInfo {
            peer,
            local,
            session_id: ids.next_id(),
        };
        let rt = Arc::clone(&rt);
        let stop = shutdown.clone();
        // One span per attacker connection: its `connect` event carries the span's trace
        // context, so agent, mesh and master ingest continue the same trace.
        let span = tracing::info_span!(
            "decky.connection",
            service = rt.service.name(),
            peer = %conn.peer,
            session = %conn.session_id,
        );
        tracker.spawn(
            async move {
                let _permit = permit;
                super::connection::serve(stream, conn, rt, stop).await;
            }
            .instrument(span),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_unique_and_differ_between_generators() {
        let a = SessionIds::new();
        let (x, y) = (a.next_id(), a.next_id());
        assert_ne!(x, y);
        assert_eq!(x.len(), 16);
        assert_eq!(x[..8], y[..8]);
        assert_ne!(SessionIds::new().next_id()[..8], x[..8]);
    }
}
