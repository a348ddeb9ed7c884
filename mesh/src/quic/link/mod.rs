//! The mesh link: the agent's dialler, the master's acceptor, and the state both expose.

mod accept;
pub mod agent;
pub mod backoff;
pub mod master;
pub mod state;

use tokio_util::sync::CancellationToken;

/// Cancels background tasks when the last user handle is dropped.
#[derive(Debug)]
pub(crate) struct DropGuard(pub(crate) CancellationToken);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
