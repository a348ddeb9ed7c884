//! The live hub: one task per process turns bus notifications into live events for
//! every open stream.
//!
//! The bus says *that* something was committed (`system.log` after each ingest
//! commit, `attacker.*` and `credential.*` notifications); the hub then reads what is
//! new after its position from the database, once for all streams, and broadcasts it.
//! The bus is at-most-once, so a slow reconcile read ([`RECONCILE_EVERY`]) catches
//! up after a lost notification. With the no-op bus (`bus.enabled = false`) the hub
//! reads every [`POLL_EVERY`] instead: live events then lag by up to that interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::Pool;
use decnet_mesh::Envelope;
use decnet_mesh::bus::Bus;
use decnet_mesh::topic::{Pattern, attacker, credential, system};
use futures::FutureExt;
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::source::{self, LiveEvent, Position};

/// Database read interval when the bus is disabled.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Safety-net read interval when the bus is enabled.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// Events read per query.
const PAGE: i64 = 500;
/// Pages read per wake-up before skipping ahead (streams can resume from the database).
const MAX_PAGES: usize = 20;
/// Messages buffered per stream before a slow stream starts losing them.
const CHANNEL: usize = 4096;

/// A bus notification relayed to streams.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Topic it was published on.
    pub topic: String,
    /// Its payload as JSON, for per-attacker filtering.
    pub payload: serde_json::Value,
    /// `{topic, type, ts, payload}` as sent.
    pub json: String,
}

/// What the hub broadcasts.
#[derive(Debug, Clone)]
pub enum Live {
    /// A committed event.
    Event(Arc<LiveEvent>),
    /// A bus notification.
    Notice(Arc<Notice>),
    /// The live feed is failing; the message is client-safe.
    Error(Arc<str>),
    /// The hub skipped events to keep up; streams resume from the database to get them.
    Skipped,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<Live>,
    streams: Mutex<HashMap<Uuid, usize>>,
    max_per_user: usize,
    driven_by_bus: bool,
    broadcast_events: AtomicU64,
}

/// Handle on the hub, cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// One open stream of a user; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    inner: Arc<Inner>,
    user: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut streams = self.inner.streams.lock();
        if let Some(n) = streams.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.remove(&self.user);
            }
        }
    }
}

impl Hub {
    /// Starts the hub task; it stops when `shutdown` is cancelled.
    pub fn start(pool: Pool, bus: Bus, max_per_user: usize, shutdown: CancellationToken) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL);
        let inner = Arc::new(Inner {
            tx,
            streams: Mutex::new(HashMap::new()),
            max_per_user,
            driven_by_bus: bus.is_enabled(),
            broadcast_events: AtomicU64::new(0),
        });
        tokio::spawn(run(inner.clone(), pool, bus, shutdown));
        Self { inner }
    }

    /// Receives everything broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.inner.tx.subscribe()
    }

    /// Takes one of `user`'s stream slots, or `None` when all are in use.
    pub fn acquire(&self, user: Uuid) -> Option<Slot> {
        let mut streams = self.inner.streams.lock();
        let n = streams.entry(user).or_insert(0);
        if *n >= self.inner.max_per_user {
            return None;
        }
        *n += 1;
        Some(Slot {
            inner: self.inner.clone(),
            user,
        })
    }

    /// Whether live events are driven by the bus (else by polling).
    pub fn driven_by_bus(&self) -> bool {
        self.inner.driven_by_bus
    }

    /// Open streams, all users together.
    pub fn open_streams(&self) -> usize {
        self.inner.streams.lock().values().sum()
    }

    /// Events broadcast since start.
    pub fn events_broadcast(&self) -> u64 {
        self.inner.broadcast_events.load(Ordering::Relaxed)
    }
}

/// Addresses in CBOR payloads arrive in serde's compact form (`{"V4": [a, b, c, d]}`,
/// `{"V6": [16 bytes]}`); JSON clients and the per-attacker filter want the text form.
fn readable_addresses(v: &mut serde_json::Value) {
    use serde_json::Value;
    if let Value::Object(map) = v
        && map.len() == 1
    {
        let octets = |a: &Value| -> Option<Vec<u8>> {
            a.as_array()?
                .iter()
                .map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect()
        };
        let ip: Option<std::net::IpAddr> = match map.iter().next() {
            Some((k, a)) if k == "V4" => octets(a)
                .and_then(|o| <[u8; 4]>::try_from(o).ok())
                .map(std::net::IpAddr::from),
            Some((k, a)) if k == "V6" => octets(a)
                .and_then(|o| <[u8; 16]>::try_from(o).ok())
                .map(std::net::IpAddr::from),
            _ => None,
        };
        if let Some(ip) = ip {
            *v = Value::String(ip.to_string());
            return;
        }
    }
    match v {
        Value::Object(map) => map.values_mut().for_each(readable_addresses),
        Value::Array(items) => items.iter_mut().for_each(readable_addresses),
        _ => {}
    }
}

fn notice(env: &Envelope) -> Notice {
    let mut payload: serde_json::Value = env.decode().unwrap_or(serde_json::Value::Null);
    readable_addresses(&mut payload);
    let ts = env.timestamp().format(&Rfc3339).unwrap_or_default();
    let json = json!({
        "topic": env.topic().as_str(),
        "type": env.kind().as_str(),
        "ts": ts,
        "payload": payload,
    })
    .to_string();
    Notice {
        topic: env.topic().as_str().to_owned(),
        payload,
        json,
    }
}

/// Reads what is new after `cursor` and broadcasts it; returns the new cursor.
async fn catch_up(
    inner: &Inner,
    pool: &Pool,
    cursor: Position,
) -> Result<Position, crate::store::StoreError> {
    if inner.tx.receiver_count() == 0 {
        // Nobody listens: move to the newest position without reading the events.
        return Ok(source::newest(pool).await?.unwrap_or(cursor));
    }
    let mut cursor = cursor;
    for _ in 0..MAX_PAGES {
        let page = source::after(pool, cursor, PAGE, None).await?;
        let full = page.len() as i64 == PAGE;
        for ev in page {
            cursor = ev.position();
            inner.broadcast_events.fetch_add(1, Ordering::Relaxed);
            let _ = inner.tx.send(Live::Event(Arc::new(ev)));
        }
        if !full {
            return Ok(cursor);
        }
    }
    let newest = source::newest(pool).await?.unwrap_or(cursor);
    tracing::warn!("live hub fell behind; skipping ahead (streams can resume with Last-Event-ID)");
    let _ = inner.tx.send(Live::Skipped);
    Ok(newest)
}

fn start_position() -> Position {
    (OffsetDateTime::UNIX_EPOCH, Uuid::nil())
}

async fn run(inner: Arc<Inner>, pool: Pool, bus: Bus, shutdown: CancellationToken) {
    let mut cursor = loop {
        match source::newest(&pool).await {
            Ok(c) => break c.unwrap_or_else(start_position),
            Err(error) => {
                tracing::warn!(%error, "live hub: database not ready; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(POLL_EVERY) => {}
                }
            }
        }
    };
    let patterns: Vec<Pattern> = vec![
        Pattern::from(&system::log()),
        attacker::all(),
        credential::all(),
    ];
    let mut wake = futures::stream::select_all(patterns.iter().map(|p| bus.subscribe(p)));
    let every = if inner.driven_by_bus {
        RECONCILE_EVERY
    } else {
        POLL_EVERY
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let log_topic = system::log();
    tracing::info!(driven_by_bus = inner.driven_by_bus, "live hub started");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
            Some(env) = wake.next() => {
                // Coalesce a burst of notifications into one database read.
                let mut pending = Some(env);
                let mut drained = 0;
                while let Some(env) = pending {
                    if env.topic() != &log_topic {
                        let _ = inner.tx.send(Live::Notice(Arc::new(notice(&env))));
                    }
                    drained += 1;
                    pending = if drained < 4096 {
                        wake.next().now_or_never().flatten()
                    } else {
                        None
                    };
                }
            }
        }
        match catch_up(&inner, &pool, cursor).await {
            Ok(next) => cursor = next,
            Err(error) => {
                let id = Uuid::now_v7();
                tracing::error!(%id, %error, "live hub: reading new events failed");
                let _ = inner.tx.send(Live::Error(Arc::from(format!(
                    "live events are temporarily unavailable (error id {id})"
                ))));
            }
        }
    }
    tracing::debug!("live hub stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_addresses_become_text() {
        let mut v = json!({
            "attacker_ip": {"V4": [203, 0, 113, 7]},
            "nested": [{"ip": {"V6": [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]}}],
            "other": {"V4": [1, 2, 3]},
            "n": 5,
        });
        readable_addresses(&mut v);
        assert_eq!(v["attacker_ip"], "203.0.113.7");
        assert_eq!(v["nested"][0]["ip"], "2001:db8::1");
        assert_eq!(v["other"], json!({"V4": [1, 2, 3]}));
    }
}
