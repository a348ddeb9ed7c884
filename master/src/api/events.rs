//! `GET /events` (search, time range, cursor pages) and `GET /events/histogram`.

use std::collections::BTreeMap;

use axum::extract::State;
use decnet_event::Event;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::coalesce::{JsonBytes, to_json};
use super::error::ErrorBody;
use super::extract::{Json, Query, Viewer};
use super::{ApiError, AppState};
use crate::search;
use crate::store::events::{self, Cursor, EventQuery, MAX_LIMIT};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(histogram))
}

/// An attacker event (the contract of ARCHITECTURE.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventSchema {
    /// UUIDv7.
    pub id: Uuid,
    /// RFC 3339, UTC, microseconds.
    #[schema(format = DateTime)]
    pub ts: String,
    /// Sensor host.
    pub host: String,
    /// Decky.
    pub decky: String,
    /// Service slug.
    pub service: String,
    /// Event type.
    pub event_type: String,
    /// Attacker address.
    pub src_ip: String,
    /// Attacker port.
    pub src_port: u16,
    /// Decky port.
    pub dst_port: u16,
    /// Session the event belongs to.
    pub session_id: Option<String>,
    /// Other fields, stringified.
    pub fields: BTreeMap<String, String>,
    /// Free text.
    pub msg: Option<String>,
}

/// Search, range and page of `GET /events` and `GET /events/histogram`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Search (at most 512 characters): `decky:`, `service:`, `event:`, `attacker:`, `host:`,
    /// `session:`, any other `key:value` on fields, bare words; all terms must match.
    pub search: Option<String>,
    /// Earliest time, inclusive (RFC 3339).
    pub since: Option<String>,
    /// Latest time, exclusive (RFC 3339).
    pub until: Option<String>,
    /// `next_cursor` of the previous page (list only).
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50; list only).
    pub limit: Option<u32>,
    /// Bucket width in seconds (histogram only; chosen automatically when absent).
    pub bucket: Option<i64>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                ApiError::invalid(format!(
                    "{name} must be an RFC 3339 time such as 2026-04-24T16:24:33Z"
                ))
            })
        })
        .transpose()
}

/// Validates the parameters shared by list and histogram.
pub(super) fn event_query(p: &EventParams) -> Result<EventQuery, ApiError> {
    let search = match p.search.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) if s.chars().count() > search::MAX_LEN => {
            return Err(ApiError::invalid(format!(
                "search must be at most {} characters",
                search::MAX_LEN
            )));
        }
        Some(s) => {
            Some(search::Query::parse(s).map_err(|e| ApiError::invalid(format!("search: {e}")))?)
        }
    };
    let since = time_param("since", p.since.as_deref())?;
    let until = time_param("until", p.until.as_deref())?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(ApiError::invalid("since must be before until"));
    }
    let cursor = p
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<Cursor>()
                .map_err(|_| ApiError::invalid("invalid cursor"))
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    Ok(EventQuery {
        search,
        since,
        until,
        cursor,
        limit,
    })
}

/// One page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events.
    #[schema(value_type = Vec<EventSchema>)]
    pub events: Vec<Event>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Events matching a search, newest first, in cursor pages.
#[utoipa::path(
    get, path = "/events", tag = "events",
    security(("bearer" = [])),
    params(EventParams),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 422, description = "Invalid search, time, cursor or limit", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn list_events(
    State(state): State<AppState>,
    _: Viewer,
    Query(p): Query<EventParams>,
) -> Result<JsonBytes, ApiError> {
    if p.bucket.is_some() {
        return Err(ApiError::invalid(
            "bucket applies to /events/histogram only",
        ));
    }
    let q = event_query(&p)?;
    let key = format!(
        "events|{}|{:?}|{:?}|{:?}|{}",
        q.search
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        q.since,
        q.until,
        q.cursor.map(|c| c.to_string()),
        q.limit
    );
    let store = state.store.clone();
    state
        .reads
        .json(key, async move {
            let page = events::list(&store, &q).await?;
            to_json(&EventPage {
                events: page.events,
                next_cursor: page.next_cursor.map(|c| c.to_string()),
            })
        })
        .await
}

/// One histogram bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct BucketView {
    /// Start of the bucket (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: OffsetDateTime,
    /// Matching events in the bucket.
    pub count: i64,
}

/// Counts of matching events over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistogramView {
    /// Bucket width in seconds.
    pub bucket_seconds: i64,
    /// Buckets, oldest first, empty ones included.
    pub buckets: Vec<BucketView>,
}

/// Matching events per time bucket (at most 1000 buckets).
#[utoipa::path(
    get, path = "/events/histogram", tag = "events",
    security(("bearer" = [])),
    params(EventParams),
    responses(
        (status = 200, description = "The histogram", body = HistogramView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 422, description = "Invalid search, time or bucket", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn histogram(
    State(state): State<AppState>,
    _: Viewer,
    Query(p): Query<EventParams>,
) -> Result<Json<HistogramView>, ApiError> {
    if p.cursor.is_some() || p.limit.is_some() {
        return Err(ApiError::invalid("cursor and limit apply to /events only"));
    }
    let bucket = match p.bucket {
        None => None,
        Some(s) if (1..=30 * 86_400).contains(&s) => Some(time::Duration::seconds(s)),
        Some(_) => return Err(ApiError::invalid("bucket must be 1 to 2592000 seconds")),
    };
    let q = event_query(&p)?;
    let h = events::histogram(&state.store, &q, bucket).await?;
    Ok(Json(HistogramView {
        bucket_seconds: h.bucket.whole_seconds(),
        buckets: h
            .buckets
            .into_iter()
            .map(|b| BucketView {
                start: b.start,
                count: b.count,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema as _;

    #[test]
    fn the_documented_event_matches_the_serialised_one() {
        let event = Event::builder()
            .host("h")
            .decky("d")
            .service("ssh")
            .event_type("auth")
            .src("10.0.0.1:4000".parse().unwrap())
            .dst_port(22)
            .build()
            .unwrap();
        let json = serde_json::to_value(&event).unwrap();
        let schema = serde_json::to_value(EventSchema::schema()).unwrap();
        let mut documented: Vec<&String> =
            schema["properties"].as_object().unwrap().keys().collect();
        let mut sent: Vec<&String> = json.as_object().unwrap().keys().collect();
        documented.sort();
        sent.sort();
        assert_eq!(documented, sent);
    }

    #[test]
    fn parameters_are_validated() {
        let ok = |p: EventParams| event_query(&p).is_ok();
        assert!(ok(EventParams::default()));
        assert!(!ok(EventParams {
            search: Some("x".repeat(513)),
            ..Default::default()
        }));
        assert!(ok(EventParams {
            search: Some("x".repeat(512)),
            ..Default::default()
        }));
        assert!(!ok(EventParams {
            limit: Some(0),
            ..Default::default()
        }));
        assert!(!ok(EventParams {
            limit: Some(1001),
            ..Default::default()
        }));
        assert!(!ok(EventParams {
            since: Some("yesterday".into()),
            ..Default::default()
        }));
        assert!(!ok(EventParams {
            cursor: Some("nope".into()),
            ..Default::default()
        }));
        assert!(!ok(EventParams {
            since: Some("2026-01-02T00:00:00Z".into()),
            until: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        }));
    }
}
