//! One client's live stream: resume from the database, then the hub's broadcast.
//!
//! Frames: `id: <event id>` + `event: event` + the event JSON; bus notifications as
//! `event: <topic>` + `{topic, type, ts, payload}`; `event: error` + `{message}` when
//! the server fails. A stream that falls behind re-reads what it missed from the
//! database, from the last event it sent.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use deadpool_postgres::Pool;
use futures::Stream;
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::hub::{Hub, Live, Notice, Slot};
use super::source::{self, LiveEvent, Position};
use crate::store::StoreError;

/// Interval of the keepalive comment.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// Events replayed from the database at most per resume.
pub const REPLAY_MAX: usize = 1000;
const REPLAY_PAGE: usize = 200;

/// Which events a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Every event and notification.
    All,
    /// One attacker's events, and notifications that name it.
    Attacker {
        /// Attacker id.
        id: Uuid,
        /// Its address.
        ip: IpAddr,
    },
}

impl Filter {
    fn ip(self) -> Option<IpAddr> {
        match self {
            Filter::All => None,
            Filter::Attacker { ip, .. } => Some(ip),
        }
    }

    fn event(self, e: &LiveEvent) -> bool {
        self.ip().is_none_or(|ip| ip == e.src_ip)
    }

    fn notice(self, n: &Notice) -> bool {
        match self {
            Filter::All => true,
            Filter::Attacker { id, ip } => {
                let (id, ip) = (id.to_string(), ip.to_string());
                n.payload.as_object().is_some_and(|o| {
                    o.values()
                        .any(|v| v.as_str().is_some_and(|s| s == id || s == ip))
                })
            }
        }
    }
}

struct State {
    pool: Pool,
    rx: broadcast::Receiver<Live>,
    filter: Filter,
    last: Position,
    replay: Option<usize>,
    queue: VecDeque<Event>,
    _slot: Slot,
}

fn event_frame(e: &LiveEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event("event")
        .data(e.json.as_str())
}

/// The `error` frame; `message` is client-safe.
pub fn error_frame(message: &str) -> Event {
    Event::default()
        .event("error")
        .data(json!({"type": "error", "message": message}).to_string())
}

fn store_error_frame(error: &StoreError) -> Event {
    let id = Uuid::now_v7();
    tracing::error!(%id, %error, "live stream: database read failed");
    error_frame(&format!(
        "reading events failed; see the server log for error id {id}"
    ))
}

impl State {
    /// Reads one replay page; returns false when the replay is over.
    async fn replay_page(&mut self, budget: usize) -> bool {
        let limit = budget.min(REPLAY_PAGE);
        let page = match source::after(&self.pool, self.last, limit as i64, self.filter.ip()).await
        {
            Ok(page) => page,
            Err(error) => {
                self.queue.push_back(store_error_frame(&error));
                return false;
            }
        };
        let n = page.len();
        for e in page {
            self.last = e.position();
            self.queue.push_back(event_frame(&e));
        }
        let left = budget - n;
        self.replay = (n == limit && left > 0).then_some(left);
        self.replay.is_some()
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(frame) = self.queue.pop_front() {
                return Some(frame);
            }
            if let Some(budget) = self.replay {
                self.replay_page(budget).await;
                continue;
            }
            match self.rx.recv().await {
                Ok(Live::Event(e)) => {
                    if self.filter.event(&e) && e.position() > self.last {
                        self.last = e.position();
                        return Some(event_frame(&e));
                    }
                }
                Ok(Live::Notice(n)) => {
                    if self.filter.notice(&n) {
                        return Some(
                            Event::default()
                                .event(n.topic.as_str())
                                .data(n.json.as_str()),
                        );
                    }
                }
                Ok(Live::Error(message)) => return Some(error_frame(&message)),
                Ok(Live::Skipped) | Err(RecvError::Lagged(_)) => self.replay = Some(REPLAY_MAX),
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// Builds a stream for `filter`, resuming after `last_event_id` when given and known.
///
/// `slot` is held for the stream's lifetime (the per-user cap).
pub async fn open(
    hub: &Hub,
    pool: Pool,
    slot: Slot,
    filter: Filter,
    last_event_id: Option<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, StoreError> {
    // Subscribe before reading the start position, so nothing falls in between.
    let rx = hub.subscribe();
    let resume = match last_event_id {
        Some(id) => source::position_of(&pool, id).await?,
        None => None,
    };
    let (last, replay) = match resume {
        Some(position) => (position, Some(REPLAY_MAX)),
        None => (
            source::newest(&pool)
                .await?
                .unwrap_or((time::OffsetDateTime::UNIX_EPOCH, Uuid::nil())),
            None,
        ),
    };
    let state = State {
        pool,
        rx,
        filter,
        last,
        replay,
        queue: VecDeque::new(),
        _slot: slot,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        st.next().await.map(|frame| (Ok(frame), st))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEPALIVE).text("keepalive")))
}
