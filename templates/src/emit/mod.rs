//! Where events go: the [`EventSink`] abstraction and its implementations.
//!
//! * [`rfc5424_stdout::LineSink`]: one RFC 5424 line per event on stdout (no `--bus`).
//! * [`bus::BusSink`]: CBOR events published on the host bus (`--bus PATH`).
//! * [`memory::MemorySink`]: keeps events in memory, for tests.
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
