//! One running decky: every configured service listening on every bind address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::emit::{Emitter, EventSink};
use crate::persona::Persona;
use crate::server::{ConnLimiter, ServiceRuntime, listener};
use crate::services::{self, ServiceContext};
use crate::spec::{DeckySpec, SpecError};

/// Why a decky cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The spec names something this build cannot run.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A listening socket cannot be opened.
    #[error("services.{service}: cannot listen on {addr}: {source}")]
    Bind {
        /// Service name.
        service: String,
        /// Address and port.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A started decky; [`RunningDecky::stop`] ends it.
#[derive(Debug)]
pub struct RunningDecky {
    listening: Vec<(&'static str, SocketAddr)>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    emitter: Emitter,
}

/// The `host` of events when the spec sets none: this machine's hostname.
fn default_host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| decnet_event::is_field_name(h))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Validates the services, binds every socket (all or nothing), then serves.
pub async fn start(spec: &DeckySpec, sink: Arc<dyn EventSink>) -> Result<RunningDecky, StartError> {
    let ctx = ServiceContext {
        persona: Arc::new(Persona::new(spec)),
        limits: spec.limits.clone(),
    };
    let services = services::build_all(&spec.services, &ctx)?;
    let host = spec.host.clone().unwrap_or_else(default_host);
    let emitter = Emitter::new(sink, &host, &spec.name);
    let limiter = ConnLimiter::new(
        spec.limits.max_connections,
        spec.limits.max_connections_per_ip,
    );

    let mut bound = Vec::new();
    for svc in &services {
        for ip in &spec.bind {
            let addr = SocketAddr::new(*ip, svc.port());
            let l = listener::bind(addr).map_err(|source| StartError::Bind {
                service: svc.name().to_owned(),
                addr,
                source,
            })?;
            let local = l.local_addr().unwrap_or(addr);
            bound.push((Arc::clone(svc), l, local));
        }
    }

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut listening = Vec::with_capacity(bound.len());
    for (svc, l, local) in bound {
        listening.push((svc.name(), local));
        let rt = Arc::new(ServiceRuntime {
            service: svc,
            emitter: emitter.clone(),
            limits: spec.limits.clone(),
            limiter: limiter.clone(),
        });
        tracker.spawn(listener::accept_loop(
            l,
            rt,
            shutdown.clone(),
            tracker.clone(),
        ));
    }
    Ok(RunningDecky {
        listening,
        shutdown,
        tracker,
        emitter,
    })
}

impl RunningDecky {
    /// `(service, address)` of every listening socket.
    pub fn listening(&self) -> &[(&'static str, SocketAddr)] {
        &self.listening
    }

    /// Stops accepting, ends open connections (each emits `disconnect` with
    /// reason `shutdown`), waits up to `grace`, then flushes the event sink.
    pub async fn stop(self, grace: Duration) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the shutdown grace period");
        }
        self.emitter.sink().flush().await;
    }
}
