//! Worker health and control over the bus.
//!
//! Every worker publishes a [`Heartbeat`] on `system.{worker}.health` (every
//! [`HEARTBEAT_INTERVAL`]) and listens on `system.{worker}.control` for
//! [`ControlRequest`]s (`stop` / `start`, with who asked and when).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::feed::Subscription;
use super::{Bus, BusError};
use crate::envelope::{EventKind, new_id_and_ts};
use crate::topic::{Topic, system};

/// How often a worker says it is alive.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Envelope type of a heartbeat.
pub const HEARTBEAT_KIND: EventKind = EventKind::from_static("worker.heartbeat");

/// Envelope type of a control request.
pub const CONTROL_KIND: EventKind = EventKind::from_static("worker.control");

/// Payload of `system.{worker}.health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Worker name.
    pub worker: String,
    /// Process id.
    pub pid: u32,
    /// Seconds since the heartbeat (i.e. the worker) started.
    pub uptime_s: u64,
    /// When this heartbeat was made, µs since the Unix epoch (UTC).
    pub ts: i64,
    /// Events the worker published.
    pub published: u64,
    /// Events dropped from the worker's subscriber queues (it fell behind).
    pub dropped: u64,
    /// Events the worker could not hand to the bus (socket disconnected or full).
    pub publish_dropped: u64,
}

/// What a control request asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlAction {
    /// Stop working (the process stays up and keeps its heartbeat).
    Stop,
    /// Resume working.
    Start,
}

/// Payload of `system.{worker}.control`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRequest {
    /// What to do.
    pub action: ControlAction,
    /// Who asked (user or component).
    pub requested_by: String,
    /// When it was asked, µs since the Unix epoch (UTC).
    pub ts: i64,
}

impl ControlRequest {
    /// A request made now.
    pub fn new(action: ControlAction, requested_by: impl Into<String>) -> Self {
        ControlRequest {
            action,
            requested_by: requested_by.into(),
            ts: new_id_and_ts().1,
        }
    }
}

/// Builds the heartbeat a worker would publish now.
pub fn heartbeat(bus: &Bus, worker: &str, started: Instant) -> Heartbeat {
    let stats = bus.stats();
    Heartbeat {
        worker: worker.to_owned(),
        pid: std::process::id(),
        uptime_s: started.elapsed().as_secs(),
        ts: new_id_and_ts().1,
        published: stats.published,
        dropped: stats.dropped,
        publish_dropped: stats.publish_dropped,
    }
}

/// Publishes a heartbeat for `worker` now and then every `interval` until
/// the returned task is aborted. Use [`HEARTBEAT_INTERVAL`] in production.
pub fn spawn_heartbeat(
    bus: Bus,
    worker: &str,
    interval: Duration,
) -> Result<JoinHandle<()>, BusError> {
    let topic = system::health(worker)?;
    let worker = worker.to_owned();
    let started = Instant::now();
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let beat = heartbeat(&bus, &worker, started);
            if let Err(e) = bus.publish(&topic, HEARTBEAT_KIND, &beat).await {
                tracing::warn!(worker, error = %e, "heartbeat not published");
            }
        }
    }))
}

/// Sends a control request to `worker`.
pub async fn send_control(
    bus: &Bus,
    worker: &str,
    request: &ControlRequest,
) -> Result<(), BusError> {
    bus.publish(&system::control(worker)?, CONTROL_KIND, request)
        .await
}

/// The control requests addressed to one worker, as a stream. Requests whose
/// payload does not decode are logged and skipped.
#[derive(Debug)]
pub struct ControlRequests {
    topic: Topic,
    sub: Subscription,
}

/// Subscribes `bus` to the control requests of `worker`.
pub fn control_requests(bus: &Bus, worker: &str) -> Result<ControlRequests, BusError> {
    let topic = system::control(worker)?;
    let sub = bus.subscribe(&(&topic).into());
    Ok(ControlRequests { topic, sub })
}

impl ControlRequests {
    /// Events dropped because the worker fell behind.
    pub fn dropped(&self) -> u64 {
        self.sub.dropped()
    }
}

impl Stream for ControlRequests {
    type Item = ControlRequest;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ControlRequest>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.sub).poll_next(cx) {
                Poll::Ready(Some(env)) => match env.decode::<ControlRequest>() {
                    Ok(req) => return Poll::Ready(Some(req)),
                    Err(e) => {
                        tracing::warn!(topic = %this.topic, id = %env.id(), error = %e, "ignoring malformed control request");
                    }
                },
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
