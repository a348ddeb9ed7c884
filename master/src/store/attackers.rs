//! Attackers (one per source address), derived from events by the ingest.
//!
//! API: [`list`] (sort [`Sort::Recent`] | [`Sort::Active`], keyset [`AttackerCursor`]) →
//! [`AttackerPage`]; [`get`], [`by_ip`]; [`detail`] → [`AttackerDetail`] with the latest
//! events (timeline across deckies and services), credentials, sessions and artifacts.
//!
//! Plans: each list order is an `Index Scan Backward` on `attackers_recent (last_seen, id)`
//! or `attackers_active (event_count, id)`, the cursor an index condition on the same row.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use decnet_event::Event;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::artifacts::{self, Artifact};
use super::credentials::{self, Credential};
use super::events::{COLUMNS as EVENT_COLUMNS, event_from_row};
use super::sessions::{self, Session};
use super::{Store, StoreError};

/// Most attackers in one page.
pub const MAX_LIMIT: u32 = 1000;
/// Events, credentials, sessions and artifacts returned by [`detail`], each.
pub const DETAIL_LIMIT: u32 = 100;

/// One source address and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attacker {
    /// Stable identifier.
    pub id: Uuid,
    /// Source address.
    pub ip: IpAddr,
    /// First event.
    pub first_seen: OffsetDateTime,
    /// Latest event.
    pub last_seen: OffsetDateTime,
    /// Events from this address.
    pub event_count: i64,
    /// Services touched, sorted.
    pub services: Vec<String>,
    /// Deckies touched, sorted.
    pub deckies: Vec<String>,
    /// Distinct credentials captured (per target, principal and secret).
    pub credential_count: i64,
    /// Sessions opened.
    pub session_count: i64,
}

/// List order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Sort {
    /// Latest activity first.
    #[default]
    Recent,
    /// Most events first.
    Active,
}

impl Sort {
    /// `recent` or `active`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Recent => "recent",
            Sort::Active => "active",
        }
    }
}

impl FromStr for Sort {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "recent" => Ok(Sort::Recent),
            "active" => Ok(Sort::Active),
            _ => Err(CursorError),
        }
    }
}

/// A position in one of the list orders; rendered `<sort>_<key>_<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttackerCursor {
    /// The order the cursor belongs to.
    pub sort: Sort,
    /// `last_seen` in µs since the epoch, or `event_count`.
    pub key: i64,
    /// The attacker at the position.
    pub id: Uuid,
}

/// A cursor string that is not one [`AttackerCursor`] renders, or sort values that disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid attacker cursor or sort")]
pub struct CursorError;

impl fmt::Display for AttackerCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}_{}_{}",
            self.sort.as_str(),
            self.key,
            self.id.as_hyphenated()
        )
    }
}

impl FromStr for AttackerCursor {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '_');
        let (Some(sort), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CursorError);
        };
        Ok(AttackerCursor {
            sort: sort.parse()?,
            key: key.parse().map_err(|_| CursorError)?,
            id: Uuid::parse_str(id).map_err(|_| CursorError)?,
        })
    }
}

/// One page of attackers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackerPage {
    /// The attackers.
    pub attackers: Vec<Attacker>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<AttackerCursor>,
}

/// An attacker with its activity.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackerDetail {
    /// The attacker.
    pub attacker: Attacker,
    /// Its latest events across deckies and services, newest first.
    pub events: Vec<Event>,
    /// Credentials it tried, latest first.
    pub credentials: Vec<Credential>,
    /// Its sessions, latest first.
    pub sessions: Vec<Session>,
    /// Files it left, latest first.
    pub artifacts: Vec<Artifact>,
}

const COLUMNS: &str = "id, ip, first_seen, last_seen, event_count, services, deckies, \
                       credential_count, session_count";

fn list_sql(sort: Sort, with_cursor: bool) -> String {
    let key = match sort {
        Sort::Recent => "last_seen",
        Sort::Active => "event_count",
    };
    let cond = if with_cursor {
        format!("WHERE ({key}, id) < ($2, $3) ")
    } else {
        String::new()
    };
    format!("SELECT {COLUMNS} FROM attackers {cond}ORDER BY {key} DESC, id DESC LIMIT $1")
}

/// One page of attackers in `sort` order; a cursor of another order is an error.
pub async fn list(
    store: &Store,
    sort: Sort,
    cursor: Option<&AttackerCursor>,
    limit: u32,
) -> Result<AttackerPage, Error> {
    let limit = limit.clamp(1, MAX_LIMIT);
    if cursor.is_none() {
        // The first page of each order is cached until the next commit.
        let generation = store.cache().generation();
        let slot = &store.cache().attackers;
        if let Some(page) = slot.get(&(sort, limit), generation) {
            return Ok(Arc::unwrap_or_clone(page));
        }
        let page = query_page(store, sort, None, limit).await?;
        slot.put((sort, limit), generation, Arc::new(page.clone()));
        return Ok(page);
    }
    query_page(store, sort, cursor, limit).await
}

async fn query_page(
    store: &Store,
    sort: Sort,
    cursor: Option<&AttackerCursor>,
    limit: u32,
) -> Result<AttackerPage, Error> {
    let fetch = i64::from(limit) + 1;
    let client = store.pool().get().await.map_err(StoreError::from)?;
    let stmt = client
        .prepare_cached(&list_sql(sort, cursor.is_some()))
        .await
        .map_err(StoreError::from)?;
    let rows = match cursor {
        None => client.query(&stmt, &[&fetch]).await,
        Some(c) if c.sort != sort => return Err(Error::Cursor(CursorError)),
        Some(c) => match sort {
            Sort::Recent => {
                let ts = micros_to_ts(c.key)?;
                client.query(&stmt, &[&fetch, &ts, &c.id]).await
            }
            Sort::Active => client.query(&stmt, &[&fetch, &c.key, &c.id]).await,
        },
    }
    .map_err(StoreError::from)?;
    let mut attackers = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if attackers.len() > limit as usize {
        attackers.truncate(limit as usize);
        attackers.last().map(|a| AttackerCursor {
            sort,
            key: match sort {
                Sort::Recent => ts_to_micros(a.last_seen),
                Sort::Active => a.event_count,
            },
            id: a.id,
        })
    } else {
        None
    };
    Ok(AttackerPage {
        attackers,
        next_cursor,
    })
}

/// Errors of [`list`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cursor does not belong to the requested order.
    #[error(transparent)]
    Cursor(#[from] CursorError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn ts_to_micros(ts: OffsetDateTime) -> i64 {
    i64::try_from(ts.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn micros_to_ts(micros: i64) -> Result<OffsetDateTime, CursorError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|_| CursorError)
}

/// The attacker with this id.
pub async fn get(store: &Store, id: Uuid) -> Result<Option<Attacker>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM attackers WHERE id = $1"))
        .await?;
    client
        .query_opt(&stmt, &[&id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The attacker with this source address.
pub async fn by_ip(store: &Store, ip: IpAddr) -> Result<Option<Attacker>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM attackers WHERE ip = $1"))
        .await?;
    client
        .query_opt(&stmt, &[&ip])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The attacker with its latest [`DETAIL_LIMIT`] events, credentials, sessions, artifacts.
pub async fn detail(store: &Store, id: Uuid) -> Result<Option<AttackerDetail>, StoreError> {
    let Some(attacker) = get(store, id).await? else {
        return Ok(None);
    };
    let ip = attacker.ip;
    let (events, credentials, sessions, artifacts) = tokio::try_join!(
        latest_events(store, ip, DETAIL_LIMIT),
        credentials::for_attacker(store, ip, DETAIL_LIMIT),
        sessions::for_attacker(store, ip, DETAIL_LIMIT),
        artifacts::for_attacker(store, ip, DETAIL_LIMIT),
    )?;
    Ok(Some(AttackerDetail {
        attacker,
        events,
        credentials,
        sessions,
        artifacts,
    }))
}

/// The latest events from `ip`, newest first.
pub async fn latest_events(
    store: &Store,
    ip: IpAddr,
    limit: u32,
) -> Result<Vec<Event>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE src_ip = $1 \
             ORDER BY ts DESC, id DESC LIMIT $2"
        ))
        .await?;
    let limit = i64::from(limit.clamp(1, super::events::MAX_LIMIT));
    let rows = client.query(&stmt, &[&ip, &limit]).await?;
    rows.iter().map(event_from_row).collect()
}

fn from_row(row: &Row) -> Result<Attacker, StoreError> {
    Ok(Attacker {
        id: row.try_get("id")?,
        ip: row.try_get("ip")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        event_count: row.try_get("event_count")?,
        services: row.try_get("services")?,
        deckies: row.try_get("deckies")?,
        credential_count: row.try_get("credential_count")?,
        session_count: row.try_get("session_count")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = AttackerCursor {
            sort: Sort::Active,
            key: -42,
            id: Uuid::now_v7(),
        };
        assert_eq!(c.to_string().parse::<AttackerCursor>().unwrap(), c);
        for bad in ["", "recent", "recent_1", "busy_1_x", "recent_x_0190"] {
            assert!(bad.parse::<AttackerCursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn list_sql_uses_only_fixed_columns() {
        assert_eq!(
            list_sql(Sort::Active, true),
            format!(
                "SELECT {COLUMNS} FROM attackers WHERE (event_count, id) < ($2, $3) \
                 ORDER BY event_count DESC, id DESC LIMIT $1"
            )
        );
    }
}
