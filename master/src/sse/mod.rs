//! Server-sent events: the live hub driven by the bus, and per-client streams with
//! `Last-Event-ID` resume from the database.

pub mod hub;
pub mod source;
pub mod stream;

pub use hub::{Hub, Live, Slot};
pub use stream::Filter;
