//! Link state as both ends expose it: a `watch` channel of [`LinkState`].

use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

/// Where a link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Dialling (agent) or never connected (master); `attempt` counts consecutive dials.
    Connecting {
        /// 1 for the first dial after the link went down.
        attempt: u32,
    },
    /// Connected and greeted.
    Up {
        /// When this connection came up.
        since: SystemTime,
        /// Latest smoothed round-trip time.
        rtt: Duration,
    },
    /// Not connected; the agent will dial again.
    Down {
        /// Why the last connection or dial ended.
        reason: String,
        /// When it went down.
        since: SystemTime,
    },
}

impl LinkState {
    /// True while connected.
    pub fn is_up(&self) -> bool {
        matches!(self, LinkState::Up { .. })
    }

    pub(crate) fn down(reason: impl Into<String>) -> Self {
        LinkState::Down {
            reason: reason.into(),
            since: SystemTime::now(),
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            LinkState::Up { rtt, .. } => write!(f, "up (rtt {rtt:?})"),
            LinkState::Down { reason, .. } => write!(f, "down: {reason}"),
        }
    }
}

/// Waits until `rx` shows a state satisfying `pred`, or the sender is gone.
pub async fn wait_for(
    rx: &mut watch::Receiver<LinkState>,
    pred: impl FnMut(&LinkState) -> bool,
) -> Option<LinkState> {
    rx.wait_for(pred).await.ok().map(|s| s.clone())
}

/// Refreshes the RTT of an `Up` state, leaving other states alone.
pub(crate) fn refresh_rtt(tx: &watch::Sender<LinkState>, rtt: Duration) {
    tx.send_if_modified(|s| match s {
        LinkState::Up { rtt: r, .. } if *r != rtt => {
            *r = rtt;
            true
        }
        _ => false,
    });
}
