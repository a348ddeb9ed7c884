//! Private PostgreSQL clusters: the embedded database of decnet-master up and throwaway clusters for tests.
//!
//! [`PgBinaries`] finds the system's server programs, [`Cluster`] manages one cluster
//! directory (socket only, no TCP; run by the `decnet-pg` system user when we are root),
//! and [`TestCluster`] gives each test a disposable server.

mod binaries;
mod cluster;
mod error;
mod owner;
mod pidfile;
mod sql;
mod test_cluster;

pub use binaries::PgBinaries;
pub use cluster::{Cluster, SUPERUSER};
pub use error::{Error, Result};
pub use owner::SYSTEM_USER;
pub use test_cluster::TestCluster;
