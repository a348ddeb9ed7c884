//! A sink that appends every event to the agent's durable outbox (CBOR records).
//!
//! This is the attacker-event path that must not lose anything: the outbox fsyncs in group
//! commits and the mesh streams it to the master, which acks after its database commit.

use std::sync::atomic::{AtomicU64, Ordering};

use decnet_event::Event;
use decnet_outbox::Outbox;

use super::{BoxFuture, EventSink};

/// Appends events to an [`Outbox`]; clones of the outbox share one log.
#[derive(Debug)]
pub struct OutboxSink {
    outbox: Outbox,
    dropped: AtomicU64,
}

impl OutboxSink {
    /// A sink writing into `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        OutboxSink {
            outbox,
            dropped: AtomicU64::new(0),
        }
    }
}

impl EventSink for OutboxSink {
    fn emit(&self, event: Event) {
        let span = event.traceparent.as_deref().map(|tp| {
            let span = tracing::info_span!("agent.outbox.append", event.id = %event.id, decky = %event.decky);
            decnet_mesh::trace::continue_trace(&span, tp);
            span
        });
        let _entered = span.as_ref().map(tracing::Span::enter);
        let appended = event
            .to_cbor()
            .map_err(|e| e.to_string())
            .and_then(|bytes| self.outbox.append(&bytes).map_err(|e| e.to_string()));
        if let Err(error) = appended {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Loud on the first loss and then every thousandth: the disk is full or failing.
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::error!(%error, dropped, "event not written to the outbox");
            }
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            if let Err(error) = self.outbox.sync_async().await {
                tracing::warn!(%error, "outbox sync failed");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decnet_outbox::{Config, ReadLimits};

    #[tokio::test]
    async fn events_become_durable_cbor_records() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), Config::default()).unwrap();
        let sink = OutboxSink::new(outbox.clone());
        let event = Event::builder()
            .host("sensor-01")
            .decky("decky-01")
            .service("ssh")
            .event_type("connect")
            .src("192.0.2.7:40000".parse().unwrap())
            .dst_port(22)
            .build()
            .unwrap();
        sink.emit(event.clone());
        sink.flush().await;
        assert!(outbox.durable_seq() >= 1);
        let records = outbox
            .read_from(
                1,
                ReadLimits {
                    max_records: 10,
                    max_bytes: 1 << 20,
                },
            )
            .unwrap();
        assert_eq!(records.len(), 1);
        let back = Event::from_cbor(&records[0].payload).unwrap();
        assert_eq!(back.id, event.id);
        assert_eq!(back.service, "ssh");
        assert_eq!(sink.dropped(), 0);
    }
}
