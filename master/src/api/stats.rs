//! `GET /stats`: dashboard totals.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::coalesce::{JsonBytes, to_json};
use super::error::ErrorBody;
use super::extract::Viewer;
use super::views::Counts;
use super::{ApiError, AppState};
use crate::store::stats;

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

/// Dashboard totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Events stored.
    pub events_total: i64,
    /// Events of the last 24 hours (whole hours).
    pub events_last_24h: i64,
    /// Distinct source addresses.
    pub attackers_total: i64,
    /// Addresses first seen in the last 24 hours.
    pub attackers_last_24h: i64,
    /// Distinct credentials.
    pub credentials_total: i64,
    /// Sessions.
    pub sessions_total: i64,
    /// Distinct captured files.
    pub artifacts_total: i64,
    /// Deckies per state.
    pub deckies_by_state: Counts,
    /// Live streams open now.
    pub open_streams: usize,
}

/// Totals of events, attackers, credentials, sessions, artifacts and deckies.
#[utoipa::path(
    get, path = "/stats", tag = "system",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Totals", body = Stats),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn get_stats(State(state): State<AppState>, _: Viewer) -> Result<JsonBytes, ApiError> {
    let store = state.store.clone();
    let hub = state.hub.clone();
    state
        .reads
        .json("stats".into(), async move {
            let s = stats::summary(&store).await?;
            to_json(&Stats {
                events_total: s.events_total,
                events_last_24h: s.events_last_24h,
                attackers_total: s.attackers_total,
                attackers_last_24h: s.attackers_last_24h,
                credentials_total: s.credentials_total,
                sessions_total: s.sessions_total,
                artifacts_total: s.artifacts_total,
                deckies_by_state: s
                    .deckies_by_state
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v))
                    .collect(),
                open_streams: hub.open_streams(),
            })
        })
        .await
}
