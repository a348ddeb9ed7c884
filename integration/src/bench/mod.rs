//! Benchmark subcommands of `decnet-bench`; each returns one [`crate::report::Report`].

pub mod api;
pub mod api_load;
pub mod api_seed;
pub mod bus;
pub mod decky;
pub mod fleet;
pub mod fleet_docker;
pub mod mesh;
