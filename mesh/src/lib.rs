//! DECNET event envelope, topic catalogue, host bus and the QUIC mesh that federates it.
//!
//! # Host bus
//!
//! Every host runs one [`bus::Broker`]. Workers in the same process talk to it
//! directly (no framing, no copy: one `Arc<Envelope>` is shared by every
//! subscriber); other processes reach it through [`bus::BusServer`], a UNIX
//! socket server, with [`bus::SocketClient`]. Workers only ever hold a
//! [`bus::Bus`], which is one of the two or the no-op bus of
//! `bus.enabled = false`:
//!
//! ```no_run
//! # async fn demo() -> Result<(), decnet_mesh::bus::BusError> {
//! use decnet_mesh::bus::{Broker, Bus, BusServer, ServerConfig};
//! use decnet_mesh::topic::decky;
//! use futures::StreamExt;
//!
//! let broker = Broker::default();
//! let _server = BusServer::bind(broker.clone(), ServerConfig::new("/run/decnet/bus.sock")).await?;
//! let sniffer = Bus::local(&broker, "sniffer");
//! let api = Bus::connect("/run/decnet/bus.sock", "api");
//!
//! let mut traffic = api.subscribe(&decky::all_traffic()); // `decky.*.traffic`
//! sniffer.publish(&decky::traffic("d1")?, "packet", &("10.0.0.9", 22)).await?;
//! if let Some(event) = traffic.next().await {
//!     let _span = decnet_mesh::trace::event_span(&event).entered();
//!     let (src, port): (String, u16) = event.decode()?;
//! }
//! # Ok(()) }
//! ```
//!
//! Semantics (the contract in `ARCHITECTURE.md`, "Bus frames"):
//!
//! * **Topics** come only from the builders in [`topic`] (`decky::traffic(id)`,
//!   `system::health(worker)`, ...); patterns too (`decky::all_traffic()`).
//!   Wildcards: `*` is one token, `>` one or more trailing tokens.
//! * **Delivery** is at-most-once. Each subscriber has a bounded queue
//!   (default 1024) that drops its oldest event when full and counts the drop
//!   ([`bus::Subscription::dropped`], [`bus::Broker::stats`]). Publishing never
//!   waits for a subscriber. A client (local handle, socket connection,
//!   federation link) never receives the events it published itself.
//! * **Envelope** ([`envelope::Envelope`]): `{v, id (UUIDv7), topic, type,
//!   ts (µs, UTC), payload (CBOR), traceparent?}`. The payload is encoded once
//!   by the publisher and decoded by each subscriber ([`envelope::Payload`]).
//! * **Tracing** ([`trace`]): publishing records the current span's W3C
//!   `traceparent`; [`trace::event_span`] continues it in the subscriber.
//! * **Wire** ([`bus::frame`], [`bus::wire`]): header line `VERB[ arg]\n`
//!   (≤ 4 KiB), `u32` big-endian body length, CBOR body (≤ 1 MiB); verbs
//!   HELLO, PUB, SUB, UNSUB, EVT, PING, BYE. The decoder is sans-I/O and
//!   fuzzed (`mesh/fuzz`). A malformed or oversized frame closes only the
//!   connection that sent it.
//! * **Health** ([`bus::health`]): heartbeats on `system.{worker}.health`
//!   every 30 s and `stop`/`start` requests on `system.{worker}.control`.
//!
//! For federation, a link takes a [`bus::LocalClient`] of its own: its
//! [`bus::Feed`] subscribes with patterns, and it republishes remote events
//! with [`bus::LocalClient::publish_envelope`] under its own identity, so they
//! are never echoed back over the link.

pub mod bus;
pub mod cbor;
pub mod enroll;
pub mod envelope;
pub mod quic;
pub mod topic;
pub mod trace;

pub use bus::{Bus, BusConfig, BusError};
pub use envelope::{Envelope, EventKind, Payload};
pub use topic::{Pattern, Topic};
