//! A sink that keeps events in memory, for tests of services and the runtime.

use std::sync::Arc;

use decnet_event::Event;
use parking_lot::Mutex;

use super::{BoxFuture, EventSink};

/// Collects every event; clones share the same list.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<Event>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events so far, in emission order.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().clone()
    }
}

impl EventSink for MemorySink {
    fn emit(&self, event: Event) {
        self.events.lock().push(event);
    }

    fn dropped(&self) -> u64 {
        0
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
