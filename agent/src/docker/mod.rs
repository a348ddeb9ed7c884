//! The `docker` driver: one container per decky through the Docker Engine API (Docker, or
//! Podman's compatible API), on a macvlan / ipvlan L2 / bridge network with a host shim.
//!
//! | module | owns |
//! |---|---|
//! | [`plan`] | the stored desired decky and the container bodies (pure) |
//! | [`engine`] | finding and connecting to the engine |
//! | [`network`] | the decky network and the host shim |
//! | [`image`] | building the `decnet-decky` image (Dockerfile or offline rootfs import), by digest |
//! | [`driver`] | creating, starting, listing, removing containers and networks |
//! | [`fleet`] | deploy, teardown and status rows for the master's control calls |
//! | [`store`] | `docker/desired.json`, which survives agent restarts |
//! | [`reconcile`] | desired vs actual on a timer and on engine events; backoff; reaper |
//! | [`collect`] | container stdout → events, burst collapsing, checkpoints |

pub mod collect;
pub mod driver;
pub mod engine;
pub mod fleet;
pub mod image;
pub mod network;
pub mod plan;
pub mod reconcile;
pub mod store;
