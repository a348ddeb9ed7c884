//! Where events go: the [`EventSink`] abstraction and its implementations.
//!
//! * [`rfc5424_stdout::LineSink`]: one RFC 5424 line per event on stdout (no `--bus`).
//! * [`bus::BusSink`]: CBOR events published on the host bus (`--bus PATH`).
//! * [`memory::MemorySink`]: keeps events in memory, for tests.
//! * [`Tee`]: every event to several sinks (a container decky: stdout for the
//!   agent's collector, the durable path, and the bus for live subscribers).
//!
//! A sink never blocks the connection that emits: events are queued, and
//! when a queue is full the event is dropped and counted in
//! [`EventSink::dropped`] rather than stalling the decky.

pub mod bus;
pub mod memory;
pub mod outbox;
pub mod rfc5424_stdout;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use decnet_event::Event;

use crate::session::{ConnInfo, Draft};

/// A boxed future, so that [`EventSink`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Destination of a decky's events.
pub trait EventSink: Send + Sync + 'static {
    /// Queues one event without blocking; drops and counts it when overloaded.
    fn emit(&self, event: Event);

    /// How many events were dropped so far.
    fn dropped(&self) -> u64;

    /// Resolves once every event emitted before the call has been handed on.
    fn flush(&self) -> BoxFuture<'_, ()>;
}

/// Turns a session's [`Draft`]s into complete events for one decky.
#[derive(Clone)]
pub struct Emitter {
    sink: Arc<dyn EventSink>,
    host: Arc<str>,
    decky: Arc<str>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("host", &self.host)
            .field("decky", &self.decky)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// An emitter stamping `host` and `decky` on every event.
    pub fn new(sink: Arc<dyn EventSink>, host: &str, decky: &str) -> Self {
        Emitter {
            sink,
            host: host.into(),
            decky: decky.into(),
        }
    }

    /// The sink behind this emitter.
    pub fn sink(&self) -> &Arc<dyn EventSink> {
        &self.sink
    }

    /// Completes `draft` with the connection's identity and emits it.
    pub fn emit(&self, service: &str, conn: &ConnInfo, draft: Draft) {
        let mut b = Event::builder()
            .host(&*self.host)
            .decky(&*self.decky)
            .service(service)
            .event_type(draft.event_type)
            .src(conn.peer)
            .dst_port(conn.local.port())
            .session_id(conn.session_id.as_str());
        for (k, v) in draft.fields {
            b = b.field(k, v);
        }
        if let Some(m) = draft.msg {
            b = b.msg(m);
        }
        if draft.event_type == crate::session::event_types::CONNECT {
            b = b.traceparent(decnet_mesh::trace::current_traceparent());
        }
        match b.build() {
            Ok(event) => self.sink.emit(event),
            // Field names are code constants, so this is a bug in a service.
            Err(e) => tracing::error!(service, error = %e, "dropping an invalid event"),
        }
    }
}

/// Hands every event to each of its sinks, in order.
pub struct Tee {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl Tee {
    /// A sink feeding all of `sinks`.
    pub fn new(sinks: Vec<Arc<dyn EventSink>>) -> Self {
        Tee { sinks }
    }
}

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tee")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl EventSink for Tee {
    fn emit(&self, event: Event) {
        if let Some((last, rest)) = self.sinks.split_last() {
            for sink in rest {
                sink.emit(event.clone());
            }
            last.emit(event);
        }
    }

    fn dropped(&self) -> u64 {
        self.sinks.iter().map(|s| s.dropped()).max().unwrap_or(0)
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for sink in &self.sinks {
                sink.flush().await;
            }
        })
    }
}

#[cfg(test)]
mod tee_tests {
    use super::*;

    #[tokio::test]
    async fn tee_delivers_every_event_to_every_sink() {
        let a = Arc::new(memory::MemorySink::default());
        let b = Arc::new(memory::MemorySink::default());
        let tee = Tee::new(vec![a.clone(), b.clone()]);
        for i in 0..3u16 {
            tee.emit(
                Event::builder()
                    .decky("d")
                    .service("ssh")
                    .event_type("connect")
                    .src("192.0.2.1:1".parse().unwrap())
                    .dst_port(i)
                    .build()
                    .unwrap(),
            );
        }
        tee.flush().await;
        assert_eq!(a.events().len(), 3);
        assert_eq!(b.events().len(), 3);
        assert_eq!(b.events()[2].dst_port, 2);
    }
}
