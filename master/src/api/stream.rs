//! `GET /stream` and `GET /attackers/{id}/stream`: live server-sent events.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ErrorBody;
use super::extract::{Path, StreamUser};
use super::{ApiError, AppState};
use crate::sse::source;
use crate::sse::{Filter, stream};

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(global_stream))
        .routes(routes!(attacker_stream))
}

fn last_event_id(headers: &HeaderMap) -> Option<Uuid> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

async fn open(
    state: &AppState,
    user: StreamUser,
    headers: &HeaderMap,
    filter: Filter,
) -> Result<Response, ApiError> {
    let slot = state.hub.acquire(user.0.id).ok_or_else(|| {
        ApiError::too_many(
            format!(
                "at most {} live streams per user",
                state.settings.sse_max_per_user
            ),
            std::time::Duration::from_secs(5),
        )
    })?;
    let sse = stream::open(
        &state.hub,
        state.store.pool().clone(),
        slot,
        filter,
        last_event_id(headers),
    )
    .await?;
    Ok(sse.into_response())
}

/// Every new event, live. Authenticate with `?ticket=` (from `POST /auth/sse-ticket`) or
/// the bearer header, never a token in the query. Resumes after `Last-Event-ID`.
#[utoipa::path(
    get, path = "/stream", tag = "stream",
    security(("bearer" = [])),
    params(
        ("ticket" = Option<String>, Query, description = "Single-use stream ticket"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `event` frames (id = event id), bus notifications named by topic, `error` frames, `:keepalive` comments every 15 s", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not authenticated, bad ticket, or a token in the query", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 429, description = "Too many open streams for this user", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn global_stream(
    State(state): State<AppState>,
    user: StreamUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    open(&state, user, &headers, Filter::All).await
}

/// One attacker's new events and the notifications that name it, live.
#[utoipa::path(
    get, path = "/attackers/{id}/stream", tag = "stream",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Attacker id"),
        ("ticket" = Option<String>, Query, description = "Single-use stream ticket"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`, as `GET /stream`", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not authenticated, bad ticket, or a token in the query", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 404, description = "No such attacker", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
        (status = 429, description = "Too many open streams for this user", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn attacker_stream(
    State(state): State<AppState>,
    user: StreamUser,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ip = source::attacker_ip(state.store.pool(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such attacker"))?;
    open(&state, user, &headers, Filter::Attacker { id, ip }).await
}
