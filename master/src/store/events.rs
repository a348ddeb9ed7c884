//! Attacker events: search, keyset pagination and histograms.
//!
//! API: [`EventQuery`] → [`list`] → [`EventPage`] (newest first, keyset [`Cursor`]),
//! [`histogram`] → [`Histogram`] of [`Bucket`]s, [`after`] (oldest first, for stream resume).
//!
//! # Storage (designed for 100M+ rows; the full reasoning is in `V3__events.sql`)
//!
//! One table, primary key `(ts, id)`, btrees `(decky|service|event_type|src_ip, ts, id)`,
//! BRIN on `ts`, GIN `jsonb_path_ops` on `fields`. No time partitions: the hot query is the
//! unbounded "latest N", which on partitions costs a descent and a lock per partition. The
//! key `(ts, id)` makes replays idempotent (a replay carries the same id and ts) and stays
//! valid if the table is later partitioned by `ts`.
//!
//! # Plans (EXPLAIN ANALYZE, 1,000,000 seeded events, 50 deckies, 5,000 IPs)
//!
//! * `GET /events?limit=50`: `Limit → Index Scan Backward using events_pkey`, 51 rows
//!   read, 0.09 ms.
//! * a page after a cursor: `Index Only Scan Backward using events_pkey` with
//!   `Index Cond: ROW(ts, id) < ROW($1, $2)`, 0.05 ms.
//! * `service:ssh event:login_attempt`: `Index Scan Backward using events_pkey` with a
//!   filter (323 rows read for 51 matches; the planner prefers it to `events_service`
//!   because the pair is common), 0.1 ms.
//! * `attacker:IP`, `decky:NAME`: `Index Only Scan Backward using events_src_ip` /
//!   `events_decky`, 0.05 ms; a CIDR is a range on the same index or a filtered newest-first
//!   scan, whichever the statistics favour.
//! * `k:v`: a filtered newest-first scan when the value is common (0.4 ms),
//!   `Bitmap Index Scan on events_fields` + top-N sort when it is rare (0.04 ms).
//! * histograms: `Index Only Scan using events_pkey` over the range (no search; 24 h of
//!   144k events in 50 ms), or the search's access path (`Index Only Scan using
//!   events_service`); grouping with `date_bin`. Without a search, whole-hour buckets over
//!   hour-aligned (or open) ranges read the ingest's hourly tallies instead.
//! * bare words are not indexed: a newest-first scan with a filter that stops at the page
//!   size (2 ms for a common word); a rare word scans every row (1.2 s at 1M rows), so pair
//!   it with a time range or an indexed term. A trigram index would serve it but costs
//!   ingest throughput on every event.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use decnet_event::Event;
use time::{Duration, OffsetDateTime};
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::search::Query;
use crate::search::sql::{self, Param};

/// Most events in one page.
pub const MAX_LIMIT: u32 = 1000;
/// Most buckets in one histogram; a finer bucket is widened to fit.
pub const MAX_BUCKETS: i64 = 1000;
/// Queries with more terms than this are not kept as prepared statements, which bounds the
/// per-connection statement cache (the SQL text depends only on the kinds of the terms).
const MAX_CACHED_TERMS: usize = 4;

pub(crate) const COLUMNS: &str =
    "ts, id, host, decky, service, event_type, src_ip, src_port, dst_port, session_id, fields, msg";

/// What to list: a search, a time range `[since, until)`, a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventQuery {
    /// Terms every event must match.
    pub search: Option<Query>,
    /// Earliest `ts`, inclusive.
    pub since: Option<OffsetDateTime>,
    /// Latest `ts`, exclusive.
    pub until: Option<OffsetDateTime>,
    /// Continue after this position (from [`EventPage::next_cursor`]).
    pub cursor: Option<Cursor>,
    /// Page size, clamped to `1..=`[`MAX_LIMIT`].
    pub limit: u32,
}

/// A position in the (ts, id) order; rendered `<unix µs>_<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// Time of the event at the position.
    pub ts: OffsetDateTime,
    /// Id of the event at the position.
    pub id: Uuid,
}

impl Cursor {
    /// The position of `event`.
    pub fn of(event: &Event) -> Cursor {
        Cursor {
            ts: event.ts,
            id: event.id,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.ts.unix_timestamp_nanos() / 1_000;
        write!(f, "{micros}_{}", self.id.as_hyphenated())
    }
}

/// A cursor string that is not one [`Cursor`] renders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct CursorError;

impl FromStr for Cursor {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (micros, id) = s.split_once('_').ok_or(CursorError)?;
        let micros: i64 = micros.parse().map_err(|_| CursorError)?;
        let ts = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map_err(|_| CursorError)?;
        let id = Uuid::parse_str(id).map_err(|_| CursorError)?;
        Ok(Cursor { ts, id })
    }
}

/// One page of events, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPage {
    /// The events.
    pub events: Vec<Event>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// Events in one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the bucket (aligned to a multiple of the bucket width since the epoch).
    pub start: OffsetDateTime,
    /// Matching events in `[start, start + width)`.
    pub count: i64,
}

/// Counts of matching events over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// Bucket width.
    pub bucket: Duration,
    /// Every bucket of the range, oldest first, empty ones included.
    pub buckets: Vec<Bucket>,
}

/// Bucket widths chosen from, in seconds.
const STEPS: [i64; 16] = [
    1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800, 2592000,
];

/// Builds `WHERE` conditions and parameters for a query.
pub(crate) struct Sql {
    pub(crate) clauses: Vec<String>,
    pub(crate) params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    pub(crate) fn new() -> Sql {
        Sql {
            clauses: Vec::new(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter; returns its placeholder number.
    pub(crate) fn param(&mut self, value: impl ToSql + Sync + Send + 'static) -> usize {
        self.params.push(Box::new(value));
        self.params.len()
    }

    fn search(&mut self, q: &Query) {
        let filter = sql::filter(q, self.params.len() + 1);
        self.clauses.extend(filter.clauses);
        for p in filter.params {
            match p {
                Param::Text(s) => self.params.push(Box::new(s)),
                Param::Ip(ip) => self.params.push(Box::new(ip)),
                Param::Json(v) => self.params.push(Box::new(v)),
            }
        }
    }

    fn range(&mut self, q: &EventQuery) {
        if let Some(since) = q.since {
            let n = self.param(since);
            self.clauses.push(format!("ts >= ${n}"));
        }
        if let Some(until) = q.until {
            let n = self.param(until);
            self.clauses.push(format!("ts < ${n}"));
        }
        if let Some(search) = &q.search {
            self.search(search);
        }
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

fn cacheable(q: &EventQuery) -> bool {
    q.search
        .as_ref()
        .is_none_or(|s| s.terms.len() <= MAX_CACHED_TERMS)
}

/// Runs `sql`, as a cached prepared statement when `cache` (one round trip instead of two).
async fn query(
    store: &Store,
    text: &str,
    params: &[&(dyn ToSql + Sync)],
    cache: bool,
) -> Result<Vec<Row>, StoreError> {
    let client = store.pool().get().await?;
    if cache {
        let stmt = client.prepare_cached(text).await?;
        Ok(client.query(&stmt, params).await?)
    } else {
        Ok(client.query(text, params).await?)
    }
}

/// One page of events matching `q`, newest first.
pub async fn list(store: &Store, q: &EventQuery) -> Result<EventPage, StoreError> {
    Ok(Arc::unwrap_or_clone(list_shared(store, q).await?))
}

/// Like [`list`], without copying the page when it comes from the cache.
///
/// The unfiltered first page (the dashboard's live view) is cached until the next commit.
pub async fn list_shared(store: &Store, q: &EventQuery) -> Result<Arc<EventPage>, StoreError> {
    let limit = q.limit.clamp(1, MAX_LIMIT);
    let hot = q.search.as_ref().is_none_or(Query::is_empty)
        && q.since.is_none()
        && q.until.is_none()
        && q.cursor.is_none();
    if !hot {
        return Ok(Arc::new(query_page(store, q, limit).await?));
    }
    let cache = &store.cache().events;
    let generation = store.cache().generation();
    if let Some(page) = cache.get(&limit, generation) {
        return Ok(page);
    }
    let page = Arc::new(query_page(store, q, limit).await?);
    cache.put(limit, generation, page.clone());
    Ok(page)
}

async fn query_page(store: &Store, q: &EventQuery, limit: u32) -> Result<EventPage, StoreError> {
    let mut b = Sql::new();
    b.range(q);
    if let Some(c) = q.cursor {
        let ts = b.param(c.ts);
        let id = b.param(c.id);
        b.clauses.push(format!("(ts, id) < (${ts}, ${id})"));
    }
    // One more than asked tells whether another page exists.
    let n = b.param(i64::from(limit) + 1);
    let text = format!(
        "SELECT {COLUMNS} FROM events{} ORDER BY ts DESC, id DESC LIMIT ${n}",
        b.where_clause()
    );
    let rows = query(store, &text, &b.refs(), cacheable(q)).await?;
    let mut events = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(Cursor::of)
    } else {
        None
    };
    Ok(EventPage {
        events,
        next_cursor,
    })
}

/// Up to `limit` events strictly after `cursor` in (ts, id) order, oldest first.
///
/// For resuming a live stream: events that arrive late with an older `ts` than the cursor
/// are not returned.
pub async fn after(store: &Store, cursor: Cursor, limit: u32) -> Result<Vec<Event>, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let rows = query(
        store,
        &format!("SELECT {COLUMNS} FROM events WHERE (ts, id) > ($1, $2) ORDER BY ts, id LIMIT $3"),
        &[&cursor.ts, &cursor.id, &limit],
        true,
    )
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Counts of events matching `q` (its cursor and limit are ignored) per time bucket.
///
/// Without `bucket`, the width is the smallest of 1 s … 30 d giving at most 100 buckets;
/// a given width is widened when the range would need more than [`MAX_BUCKETS`]. A missing
/// end of the range is taken from the matching events.
pub async fn histogram(
    store: &Store,
    q: &EventQuery,
    bucket: Option<Duration>,
) -> Result<Histogram, StoreError> {
    let q = EventQuery {
        cursor: None,
        ..q.clone()
    };
    let (since, until) = match (q.since, q.until) {
        (Some(s), Some(u)) => (s, u),
        _ => {
            let mut b = Sql::new();
            b.range(&q);
            let text = format!("SELECT min(ts), max(ts) FROM events{}", b.where_clause());
            let rows = query(store, &text, &b.refs(), cacheable(&q)).await?;
            let row = rows.first();
            let min: Option<OffsetDateTime> = row.map(|r| r.try_get(0)).transpose()?.flatten();
            let max: Option<OffsetDateTime> = row.map(|r| r.try_get(1)).transpose()?.flatten();
            let (Some(min), Some(max)) = (q.since.or(min), q.until.or(max.map(next_micro))) else {
                let width = Duration::seconds(bucket.map_or(60, |b| b.whole_seconds().max(1)));
                return Ok(Histogram {
                    bucket: width,
                    buckets: Vec::new(),
                });
            };
            (min, max)
        }
    };
    let width = bucket_width(until - since, bucket);
    let hour_aligned = |t: Option<OffsetDateTime>| {
        t.is_none_or(|t| t.unix_timestamp_nanos() % 3_600_000_000_000 == 0)
    };
    let rows = if q.search.as_ref().is_none_or(Query::is_empty)
        && width % 3600 == 0
        && hour_aligned(q.since)
        && hour_aligned(q.until)
    {
        // Whole hours without a search: the ingest's hourly tallies hold exactly these
        // counts (a missing bound comes from the events, so no event lies outside it).
        let from = align(since, 3600);
        let to = align(until - Duration::microseconds(1), 3600) + Duration::hours(1);
        let text = "SELECT date_bin(make_interval(secs => $3), hour, timestamptz 'epoch') AS b, \
                    sum(events)::bigint FROM ingest_hourly WHERE hour >= $1 AND hour < $2 \
                    GROUP BY b ORDER BY b";
        query(store, text, &[&from, &to, &(width as f64)], true).await?
    } else {
        let mut b = Sql::new();
        b.range(&EventQuery {
            since: Some(since),
            until: Some(until),
            ..q.clone()
        });
        let w = b.param(width as f64);
        let text = format!(
            "SELECT date_bin(make_interval(secs => ${w}), ts, timestamptz 'epoch') AS b, \
             count(*) FROM events{} GROUP BY b ORDER BY b",
            b.where_clause()
        );
        query(store, &text, &b.refs(), cacheable(&q)).await?
    };
    let mut counts = BTreeMap::new();
    for row in &rows {
        let start: OffsetDateTime = row.try_get(0)?;
        counts.insert(start, row.try_get::<_, i64>(1)?);
    }
    let mut buckets = Vec::new();
    let mut start = align(since, width);
    while start < until {
        buckets.push(Bucket {
            start,
            count: counts.get(&start).copied().unwrap_or(0),
        });
        start += Duration::seconds(width);
    }
    Ok(Histogram {
        bucket: Duration::seconds(width),
        buckets,
    })
}

fn next_micro(ts: OffsetDateTime) -> OffsetDateTime {
    ts + Duration::microseconds(1)
}

/// The bucket width in seconds for a range.
pub(crate) fn bucket_width(range: Duration, asked: Option<Duration>) -> i64 {
    let span = range.whole_seconds().max(1);
    let fits = |w: i64, max: i64| ceil_div(span, w) < max;
    match asked {
        Some(w) if fits(w.whole_seconds().max(1), MAX_BUCKETS) => w.whole_seconds().max(1),
        Some(w) => STEPS
            .iter()
            .copied()
            .find(|&s| s > w.whole_seconds() && fits(s, MAX_BUCKETS))
            .unwrap_or(ceil_div(span, MAX_BUCKETS - 2).max(1)),
        None => STEPS
            .iter()
            .copied()
            .find(|&s| fits(s, 100))
            .unwrap_or(ceil_div(span, 98).max(1)),
    }
}

/// `a / b` rounded up, for positive `a` and `b`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// The start of the width-`secs` bucket holding `ts` (buckets are aligned on the epoch).
fn align(ts: OffsetDateTime, secs: i64) -> OffsetDateTime {
    let micros = ts.unix_timestamp_nanos() / 1_000;
    let width = i128::from(secs) * 1_000_000;
    let start = micros.div_euclid(width) * width;
    OffsetDateTime::from_unix_timestamp_nanos(start * 1_000).unwrap_or(ts)
}

/// Decodes a row selected with [`COLUMNS`].
pub(crate) fn event_from_row(row: &Row) -> Result<Event, StoreError> {
    let port = |name: &'static str| -> Result<u16, StoreError> {
        let v: i32 = row.try_get(name)?;
        u16::try_from(v).map_err(|_| StoreError::Corrupt {
            column: name,
            value: v.to_string(),
        })
    };
    let fields: Json<BTreeMap<String, String>> = row.try_get("fields")?;
    Ok(Event {
        id: row.try_get("id")?,
        ts: row.try_get("ts")?,
        host: row.try_get("host")?,
        decky: row.try_get("decky")?,
        service: row.try_get("service")?,
        event_type: row.try_get("event_type")?,
        src_ip: row.try_get::<_, IpAddr>("src_ip")?,
        src_port: port("src_port")?,
        dst_port: port("dst_port")?,
        session_id: row.try_get("session_id")?,
        fields: fields.0,
        msg: row.try_get("msg")?,
        traceparent: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            ts: OffsetDateTime::from_unix_timestamp_nanos(1_714_000_000_123_456_000).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        for bad in ["", "1_", "_x", "abc_0190", "1", "1_not-a-uuid"] {
            assert_eq!(bad.parse::<Cursor>(), Err(CursorError), "{bad}");
        }
    }

    #[test]
    fn bucket_width_fits_the_range() {
        assert_eq!(bucket_width(Duration::hours(24), None), 900);
        assert_eq!(bucket_width(Duration::minutes(10), None), 10);
        assert_eq!(bucket_width(Duration::ZERO, None), 1);
        assert_eq!(
            bucket_width(Duration::hours(1), Some(Duration::minutes(5))),
            300
        );
        // 1 s over a week would be 604,800 buckets: widened.
        let w = bucket_width(Duration::days(7), Some(Duration::seconds(1)));
        assert!(Duration::days(7).whole_seconds() / w < MAX_BUCKETS, "{w}");
        let huge = bucket_width(Duration::days(365 * 100), None);
        assert!(
            Duration::days(365 * 100).whole_seconds() / huge < 100,
            "{huge}"
        );
    }

    #[test]
    fn alignment_is_on_the_epoch() {
        let ts = OffsetDateTime::from_unix_timestamp(1_000_003_661).unwrap();
        assert_eq!(align(ts, 3600).unix_timestamp(), 1_000_000_800);
        let before = OffsetDateTime::from_unix_timestamp(-1).unwrap();
        assert_eq!(align(before, 60).unix_timestamp(), -60);
    }
}
