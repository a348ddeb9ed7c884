//! Errors of cluster management.

use std::path::PathBuf;

/// Everything that can go wrong while locating, creating, starting or stopping a cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No directory holding `initdb`, `postgres` and `pg_ctl` was found.
    #[error(
        "PostgreSQL server binaries not found (searched: {searched}); install them with \
         `apt-get install postgresql` on Debian/Ubuntu (or `dnf install postgresql-server` on Fedora/RHEL)"
    )]
    BinariesNotFound {
        /// Human-readable list of the places that were searched.
        searched: String,
    },
    /// A filesystem or process operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being attempted, with the path involved.
        action: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An external program exited unsuccessfully.
    #[error("{program} failed ({status}): {output}")]
    Command {
        /// The program that was run.
        program: String,
        /// Its exit status.
        status: String,
        /// The tail of what it printed.
        output: String,
    },
    /// The dedicated system user could not be created or looked up.
    #[error("system user {user}: {reason}")]
    User {
        /// The user name.
        user: String,
        /// Why it failed.
        reason: String,
    },
    /// A directory on the way to the cluster cannot be entered by the cluster's user.
    #[error(
        "{path} is not traversable by user {user}, which runs PostgreSQL; \
         allow it with `chmod o+x {path}` or choose a data directory under an accessible path"
    )]
    NotTraversable {
        /// The blocking directory.
        path: PathBuf,
        /// The cluster user.
        user: String,
    },
    /// Another live postmaster, not started from this cluster directory, holds the data directory.
    #[error("data directory {data_dir} is in use by another PostgreSQL process (pid {pid})")]
    InUse {
        /// The data directory.
        data_dir: PathBuf,
        /// The process holding it.
        pid: i32,
    },
    /// The server exited or did not become ready during start-up.
    #[error("PostgreSQL did not start: {reason}; last lines of {log}:\n{tail}")]
    StartFailed {
        /// Why start-up is considered failed.
        reason: String,
        /// Path of the server log.
        log: PathBuf,
        /// The last lines of the server log.
        tail: String,
    },
    /// The server did not exit in time during shutdown.
    #[error("PostgreSQL (pid {pid}) did not stop within {waited_secs}s")]
    StopTimeout {
        /// The postmaster pid.
        pid: i32,
        /// How long was waited.
        waited_secs: u64,
    },
    /// A database name that is not a plain identifier.
    #[error(
        "invalid database name {0:?}: use 1-63 characters from [a-z0-9_-], starting with a letter"
    )]
    InvalidName(String),
    /// A query against the cluster failed.
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

impl Error {
    /// Wraps an I/O error with a description of the failed action.
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
