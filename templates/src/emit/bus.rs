//! Events published on the host bus (`decnet-decky --bus PATH`).
//!
//! Each event is the CBOR [`Event`] as the envelope payload, on the
//! catalogue topic `decky.{name}.traffic`, with the event type as the
//! envelope type. The bus is at-most-once by design: when the socket client's
//! send buffer is full or the connection is down, the event is dropped and
//! counted rather than stalling the decky.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use decnet_event::Event;
use decnet_mesh::bus::{ClientConfig, SocketClient};
use decnet_mesh::{Bus, Payload, Topic};

use super::{BoxFuture, EventSink};

/// How long start-up waits for the bus server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the bus sink cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BusSinkError {
    /// The decky name cannot be a topic token (it contains a dot, say).
    #[error("decky name {name:?} cannot be used in a bus topic: {reason}")]
    Topic {
        /// The decky name.
        name: String,
        /// The catalogue's reason.
        reason: String,
    },
    /// No bus server answered in time.
    #[error("--bus {0}: no bus server answered within 5 s")]
    Unreachable(PathBuf),
}

/// Publishes each event on the host bus.
#[derive(Debug)]
pub struct BusSink {
    bus: Bus,
    topic: Topic,
    dropped: AtomicU64,
}

impl BusSink {
    /// Connects to the bus socket at `path` as decky `decky`.
    pub async fn connect(path: &Path, decky: &str) -> Result<Self, BusSinkError> {
        let topic = decnet_mesh::topic::decky::traffic(decky).map_err(|e| BusSinkError::Topic {
            name: decky.to_owned(),
            reason: e.to_string(),
        })?;
        let client = SocketClient::connect(ClientConfig::new(path, &format!("decky-{decky}")));
        tokio::time::timeout(CONNECT_TIMEOUT, client.connected())
            .await
            .map_err(|_| BusSinkError::Unreachable(path.to_owned()))?;
        Ok(BusSink {
            bus: Bus::from(client),
            topic,
            dropped: AtomicU64::new(0),
        })
    }

    /// Connects in the background: events published before the bus server answers are
    /// dropped and counted (the decky does not wait for the agent).
    pub fn connect_lazy(path: &Path, decky: &str) -> Result<Self, BusSinkError> {
        let topic = decnet_mesh::topic::decky::traffic(decky).map_err(|e| BusSinkError::Topic {
            name: decky.to_owned(),
            reason: e.to_string(),
        })?;
        let client = SocketClient::connect(ClientConfig::new(path, &format!("decky-{decky}")));
        Ok(BusSink {
            bus: Bus::from(client),
            topic,
            dropped: AtomicU64::new(0),
        })
    }

    fn count_drop(&self, why: &dyn std::fmt::Display) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(dropped = n, error = %why, "bus publish failed; dropping events");
        }
    }
}

impl EventSink for BusSink {
    fn emit(&self, event: Event) {
        let payload = match Payload::encode(&event) {
            Ok(p) => p,
            Err(e) => return self.count_drop(&e),
        };
        if let Err(e) = self
            .bus
            .try_publish_payload(&self.topic, event.event_type, payload)
        {
            self.count_drop(&e);
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed) + self.bus.stats().publish_dropped
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.bus.flush().await {
                tracing::warn!(error = %e, "bus flush failed");
            }
        })
    }
}
