//! Control calls the master makes on an agent: deploy, teardown, status, worker start/stop.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// What the master asks an agent to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlRequest {
    /// Deploy deckies described by an opaque specification (the agent's reconciler reads it).
    Deploy {
        /// Encoded deployment specification.
        spec: Bytes,
    },
    /// Remove one decky.
    Teardown {
        /// Decky id.
        decky: String,
    },
    /// Report what runs on the host.
    Status,
    /// Start or stop a worker on the host.
    Worker {
        /// Worker name (e.g. `sniffer`).
        name: String,
        /// Start or stop.
        action: WorkerAction,
        /// Who asked, for the agent's audit log.
        requested_by: String,
    },
}

/// Start or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WorkerAction {
    /// Start the worker.
    Start,
    /// Stop the worker.
    Stop,
}

/// What happened to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WorkerOutcome {
    /// It was stopped and is now running.
    Started,
    /// It was running and is now stopped.
    Stopped,
    /// It was already running.
    AlreadyRunning,
    /// It was already stopped.
    AlreadyStopped,
    /// No worker of that name exists on the host.
    UnknownWorker,
}

/// An agent's answer to a [`ControlRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlResponse {
    /// The deployment was applied.
    Deployed {
        /// Ids of the deckies now deployed from the specification.
        deckies: Vec<String>,
    },
    /// The decky is gone.
    TornDown {
        /// Decky id.
        decky: String,
    },
    /// What runs on the host.
    Status(HostStatus),
    /// The worker request's outcome.
    Worker {
        /// Worker name.
        name: String,
        /// What happened.
        outcome: WorkerOutcome,
    },
}

/// A host's state as reported by its agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStatus {
    /// Agent software version.
    pub agent_version: String,
    /// Seconds since the agent started.
    pub uptime_s: u64,
    /// Deckies on the host.
    pub deckies: Vec<DeckyStatus>,
    /// Workers on the host.
    pub workers: Vec<WorkerStatus>,
}

/// One decky in a [`HostStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeckyStatus {
    /// Decky id.
    pub id: String,
    /// Reconciler state (e.g. `running`).
    pub state: String,
    /// Its address; absent from older agents.
    #[serde(default)]
    pub ip: Option<std::net::IpAddr>,
    /// OS family it imitates.
    #[serde(default)]
    pub os: Option<String>,
    /// Who it pretends to be (hostname and distro).
    #[serde(default)]
    pub persona: Option<String>,
    /// Services and the ports they listen on.
    #[serde(default)]
    pub services: Vec<(String, u16)>,
    /// Why it is not running, if it failed.
    #[serde(default)]
    pub error: Option<String>,
}

impl DeckyStatus {
    /// A status with only the id and state known.
    pub fn new(id: impl Into<String>, state: impl Into<String>) -> Self {
        DeckyStatus {
            id: id.into(),
            state: state.into(),
            ip: None,
            os: None,
            persona: None,
            services: Vec::new(),
            error: None,
        }
    }
}

/// One worker in a [`HostStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// Worker name.
    pub name: String,
    /// Whether it runs.
    pub running: bool,
}

/// A call that reached the agent but did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RemoteError {
    /// The handler reported a failure.
    #[error("the agent failed the request: {0}")]
    Failed(String),
    /// The handler did not finish within the call's deadline.
    #[error("the agent's handler exceeded the deadline")]
    DeadlineExceeded,
    /// The agent does not handle this kind of request.
    #[error("the agent does not support this request")]
    Unsupported,
}
