//! DECNET end-to-end tests and the decnet-bench benchmark runner.

pub mod bench;
pub mod report;
pub mod swarm;
