//! The API's TCP listener and HTTP server lifecycle.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

/// Bursts of connections stall behind the common default backlog of 128.
const BACKLOG: u32 = 4096;

/// How long open connections may keep the server alive after shutdown was requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Binds the API address (done early, so a busy port fails before anything else starts).
pub fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let bind = || -> std::io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(BACKLOG)
    };
    bind().with_context(|| format!("api.listen: cannot listen on {addr}"))
}

/// Serves `router` until `shutdown` is cancelled, then drains connections for a bounded time.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The peer address keys the login rate limiter.
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result.context("HTTP server failed")?,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them"),
    }
    Ok(())
}
