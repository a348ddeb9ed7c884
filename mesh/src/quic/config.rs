//! Link settings shared by both ends: port, keepalives, idle timeout, dial and backoff timing.

use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, TransportConfig, VarInt};

use super::MeshError;

/// Default UDP port of the mesh.
pub const DEFAULT_MESH_PORT: u16 = 8443;

/// Default UDP port of the enrollment endpoint (next to the mesh port).
pub const DEFAULT_ENROLL_PORT: u16 = 8444;

/// Timing of one mesh link. Both ends should use the same values; QUIC takes the smaller
/// idle timeout of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTuning {
    /// Interval of QUIC keep-alive pings; keeps NAT bindings open and feeds the idle timer.
    pub keep_alive: Duration,
    /// A connection that receives nothing for this long is dead and gets redialled.
    pub idle_timeout: Duration,
    /// The agent redials when the master acknowledged nothing for this long (its keep-alives
    /// get an acknowledgement every `keep_alive` on a healthy link).
    pub silence_redial: Duration,
    /// Longest wait for one dial (handshake included) before trying again.
    pub dial_timeout: Duration,
    /// First reconnect delay after a refused or failed connection.
    pub backoff_initial: Duration,
    /// Cap of the exponential reconnect delay.
    pub backoff_max: Duration,
    /// A connection that stayed up this long resets the backoff.
    pub stable_after: Duration,
    /// How often the link state's RTT is refreshed.
    pub rtt_refresh: Duration,
    /// Longest wait for the peer's HELLO/WELCOME on a new connection.
    pub hello_timeout: Duration,
}

impl Default for LinkTuning {
    fn default() -> Self {
        LinkTuning {
            keep_alive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            silence_redial: Duration::from_millis(2500),
            dial_timeout: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
            rtt_refresh: Duration::from_secs(5),
            hello_timeout: Duration::from_secs(10),
        }
    }
}

/// Per-stream and per-connection flow-control windows: large enough that one link keeps
/// well over 100k small events/s in flight on a LAN, small enough to bound memory per host.
const STREAM_WINDOW: u32 = 4 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;
const SEND_WINDOW: u64 = 16 * 1024 * 1024;
/// Concurrent control calls per direction.
const MAX_BIDI_STREAMS: u32 = 256;

impl LinkTuning {
    /// The quinn transport configuration for these settings.
    pub(crate) fn transport(&self) -> Result<Arc<TransportConfig>, MeshError> {
        let idle = IdleTimeout::try_from(self.idle_timeout).map_err(|_| {
            MeshError::Config(format!("idle timeout {:?} is too large", self.idle_timeout))
        })?;
        let mut t = TransportConfig::default();
        t.keep_alive_interval(Some(self.keep_alive))
            .max_idle_timeout(Some(idle))
            .stream_receive_window(VarInt::from_u32(STREAM_WINDOW))
            .receive_window(VarInt::from_u32(CONNECTION_WINDOW))
            .send_window(SEND_WINDOW)
            .max_concurrent_bidi_streams(VarInt::from_u32(MAX_BIDI_STREAMS))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            // The first Initial is retransmitted after ~3x this; a LAN-ish guess makes a dial
            // that races a healing partition retry well inside `dial_timeout`.
            .initial_rtt(Duration::from_millis(100));
        Ok(Arc::new(t))
    }
}
