//! Connection and login sessions, derived from events carrying a `session_id`.
//!
//! API: [`get`] (by sid) → [`Session`] with its [`TranscriptLocation`]; [`list`] (the
//! sessions/casts index, newest first, keyset [`SessionCursor`]); [`for_attacker`].
//!
//! A recorded session's transcript is the lines tagged with its sid in one JSONL shard of
//! asciinema v2 events (one shard per decky, service and UTC day); the shard path comes from
//! the `session_recorded` event.

use std::net::IpAddr;

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{Store, StoreError};

/// Most sessions in one page.
pub const MAX_LIMIT: u32 = 1000;

/// Where a recorded session's transcript is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLocation {
    /// Path of the JSONL shard, as the agent reported it.
    pub shard: String,
    /// The tag of the session's lines in the shard.
    pub sid: String,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id.
    pub sid: String,
    /// Sensor host.
    pub host: String,
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
    /// Attacker address.
    pub src_ip: IpAddr,
    /// Attacker port.
    pub src_port: u16,
    /// Time of its first event.
    pub started_at: OffsetDateTime,
    /// Time of its latest event.
    pub last_event_at: OffsetDateTime,
    /// When it ended, if it did.
    pub ended_at: Option<OffsetDateTime>,
    /// Events of the session.
    pub event_count: i64,
    /// The recording, if there is one.
    pub transcript_location: Option<TranscriptLocation>,
    /// Size of the recording in bytes, if reported.
    pub transcript_bytes: Option<i64>,
    /// Whether the recording hit its size cap.
    pub truncated: bool,
}

/// A position in the newest-first session order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    /// `started_at` of the session at the position.
    pub started_at: OffsetDateTime,
    /// Its sid.
    pub sid: String,
}

/// Filters of [`list`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only sessions with a transcript (the casts index).
    pub recorded_only: bool,
}

const COLUMNS: &str = "sid, host, decky, service, src_ip, src_port, started_at, last_event_at, \
                       ended_at, event_count, transcript_shard, transcript_bytes, truncated";

/// The session with this sid.
pub async fn get(store: &Store, sid: &str) -> Result<Option<Session>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE sid = $1"))
        .await?;
    client
        .query_opt(&stmt, &[&sid])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Sessions newest first, after `cursor` when given.
pub async fn list(
    store: &Store,
    filter: SessionFilter,
    cursor: Option<&SessionCursor>,
    limit: u32,
) -> Result<(Vec<Session>, Option<SessionCursor>), StoreError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let fetch = i64::from(limit) + 1;
    let recorded = if filter.recorded_only {
        " AND transcript_shard IS NOT NULL"
    } else {
        ""
    };
    let client = store.pool().get().await?;
    let rows = match cursor {
        None => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM sessions WHERE true{recorded} \
                     ORDER BY started_at DESC, sid DESC LIMIT $1"
                ))
                .await?;
            client.query(&stmt, &[&fetch]).await?
        }
        Some(c) => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM sessions WHERE (started_at, sid) < ($2, $3){recorded} \
                     ORDER BY started_at DESC, sid DESC LIMIT $1"
                ))
                .await?;
            client
                .query(&stmt, &[&fetch, &c.started_at, &c.sid])
                .await?
        }
    };
    let mut sessions = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next = if sessions.len() > limit as usize {
        sessions.truncate(limit as usize);
        sessions.last().map(|s| SessionCursor {
            started_at: s.started_at,
            sid: s.sid.clone(),
        })
    } else {
        None
    };
    Ok((sessions, next))
}

/// Sessions of `ip`, latest first.
pub async fn for_attacker(
    store: &Store,
    ip: IpAddr,
    limit: u32,
) -> Result<Vec<Session>, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE src_ip = $1 \
             ORDER BY started_at DESC, sid DESC LIMIT $2"
        ))
        .await?;
    let rows = client.query(&stmt, &[&ip, &limit]).await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &Row) -> Result<Session, StoreError> {
    let sid: String = row.try_get("sid")?;
    let shard: Option<String> = row.try_get("transcript_shard")?;
    let port: i32 = row.try_get("src_port")?;
    Ok(Session {
        transcript_location: shard.map(|shard| TranscriptLocation {
            shard,
            sid: sid.clone(),
        }),
        sid,
        host: row.try_get("host")?,
        decky: row.try_get("decky")?,
        service: row.try_get("service")?,
        src_ip: row.try_get("src_ip")?,
        src_port: u16::try_from(port).map_err(|_| StoreError::Corrupt {
            column: "sessions.src_port",
            value: port.to_string(),
        })?,
        started_at: row.try_get("started_at")?,
        last_event_at: row.try_get("last_event_at")?,
        ended_at: row.try_get("ended_at")?,
        event_count: row.try_get("event_count")?,
        transcript_bytes: row.try_get("transcript_bytes")?,
        truncated: row.try_get("truncated")?,
    })
}
