//! The network side every service shares: listeners, caps, timeouts and the
//! adapter that runs a SANS-IO [`crate::session::Session`] on a TCP stream.

pub mod connection;
pub mod limits;
pub mod listener;
pub mod stream;

use std::sync::Arc;

use crate::emit::Emitter;
use crate::session::Service;
use crate::spec::Limits;

pub use limits::{ConnLimiter, ConnPermit, Refusal};

/// What every connection of one service shares.
#[derive(Clone)]
pub struct ServiceRuntime {
    /// The emulator.
    pub service: Arc<dyn Service>,
    /// Event output.
    pub emitter: Emitter,
    /// Timeouts and frame limits.
    pub limits: Limits,
    /// Decky-wide connection caps (shared by all services of the decky).
    pub limiter: ConnLimiter,
}

impl std::fmt::Debug for ServiceRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRuntime")
            .field("service", &self.service.name())
            .field("port", &self.service.port())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
