//! Reading events for live streams: the newest position, and events after a position.
//!
//! A position is the events table's key `(ts, id)`, which is also its primary-key order.

use std::net::IpAddr;

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::store::StoreError;
use crate::store::events::{self, COLUMNS};

/// A position in the events table.
pub type Position = (OffsetDateTime, Uuid);

/// One event, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// Event id (the SSE `id:`).
    pub id: Uuid,
    /// Event time.
    pub ts: OffsetDateTime,
    /// Source address, for per-attacker streams.
    pub src_ip: IpAddr,
    /// The event as JSON (the API's event shape).
    pub json: String,
}

impl LiveEvent {
    /// Its position.
    pub fn position(&self) -> Position {
        (self.ts, self.id)
    }
}

fn live(row: &Row) -> Result<LiveEvent, StoreError> {
    let event = events::event_from_row(row)?;
    let json = serde_json::to_string(&event).map_err(|e| StoreError::Corrupt {
        column: "events",
        value: e.to_string(),
    })?;
    Ok(LiveEvent {
        id: event.id,
        ts: event.ts,
        src_ip: event.src_ip,
        json,
    })
}

/// The newest position, or `None` when there are no events.
pub async fn newest(pool: &Pool) -> Result<Option<Position>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT ts, id FROM events ORDER BY ts DESC, id DESC LIMIT 1",
            &[],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The position of event `id`, if it exists.
pub async fn position_of(pool: &Pool, id: Uuid) -> Result<Option<Position>, StoreError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached("SELECT ts, id FROM events WHERE id = $1 LIMIT 1")
        .await?;
    let row = client.query_opt(&stmt, &[&id]).await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Up to `limit` events after `after` in position order, optionally from one address only.
pub async fn after(
    pool: &Pool,
    after: Position,
    limit: i64,
    src_ip: Option<IpAddr>,
) -> Result<Vec<LiveEvent>, StoreError> {
    let client = pool.get().await?;
    let rows = match src_ip {
        None => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM events WHERE (ts, id) > ($1, $2) \
                     ORDER BY ts, id LIMIT $3"
                ))
                .await?;
            client.query(&stmt, &[&after.0, &after.1, &limit]).await?
        }
        Some(ip) => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM events WHERE src_ip = $4 AND (ts, id) > ($1, $2) \
                     ORDER BY ts, id LIMIT $3"
                ))
                .await?;
            client
                .query(&stmt, &[&after.0, &after.1, &limit, &ip])
                .await?
        }
    };
    rows.iter().map(live).collect()
}

/// The address of an attacker by id.
pub async fn attacker_ip(pool: &Pool, attacker: Uuid) -> Result<Option<IpAddr>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT ip FROM attackers WHERE id = $1", &[&attacker])
        .await?;
    Ok(row.map(|r| r.get(0)))
}
