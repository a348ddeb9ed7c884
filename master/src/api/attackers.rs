//! `GET /attackers` (recent or most active, cursor pages) and `GET /attackers/{id}`.

use axum::extract::State;
use decnet_event::Event;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::coalesce::{JsonBytes, to_json};
use super::error::ErrorBody;
use super::events::{DEFAULT_LIMIT, EventSchema};
use super::extract::{Json, Path, Query, Viewer};
use super::views::{ArtifactView, AttackerView, CredentialView, SessionView};
use super::{ApiError, AppState};
use crate::store::attackers::{self, AttackerCursor, MAX_LIMIT, Sort};

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_attackers))
        .routes(routes!(attacker_detail))
}

/// List order.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortParam {
    /// Latest activity first.
    #[default]
    Recent,
    /// Most events first.
    Active,
}

/// Parameters of `GET /attackers`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttackerParams {
    /// `recent` (default) or `active`.
    pub sort: Option<SortParam>,
    /// `next_cursor` of the previous page (same sort).
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

/// One page of attackers.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttackerPage {
    /// The attackers.
    pub attackers: Vec<AttackerView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Attackers, latest activity or most events first.
#[utoipa::path(
    get, path = "/attackers", tag = "attackers",
    security(("bearer" = [])),
    params(AttackerParams),
    responses(
        (status = 200, description = "A page of attackers", body = AttackerPage),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 422, description = "Invalid sort, cursor or limit", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn list_attackers(
    State(state): State<AppState>,
    _: Viewer,
    Query(p): Query<AttackerParams>,
) -> Result<JsonBytes, ApiError> {
    let sort = match p.sort.unwrap_or_default() {
        SortParam::Recent => Sort::Recent,
        SortParam::Active => Sort::Active,
    };
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let cursor = p
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<AttackerCursor>()
                .map_err(|_| ApiError::invalid("invalid cursor"))
        })
        .transpose()?;
    let key = format!(
        "attackers|{}|{:?}|{limit}",
        sort.as_str(),
        cursor.map(|c| c.to_string())
    );
    let store = state.store.clone();
    state
        .reads
        .json(key, async move {
            let page = attackers::list(&store, sort, cursor.as_ref(), limit)
                .await
                .map_err(|e| match e {
                    attackers::Error::Cursor(_) => {
                        ApiError::invalid("cursor belongs to another sort")
                    }
                    attackers::Error::Store(s) => s.into(),
                })?;
            to_json(&AttackerPage {
                attackers: page.attackers.into_iter().map(AttackerView::from).collect(),
                next_cursor: page.next_cursor.map(|c| c.to_string()),
            })
        })
        .await
}

/// An attacker with its latest activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttackerDetail {
    /// The attacker.
    pub attacker: AttackerView,
    /// Latest events, newest first.
    #[schema(value_type = Vec<EventSchema>)]
    pub events: Vec<Event>,
    /// Credentials tried, latest first.
    pub credentials: Vec<CredentialView>,
    /// Sessions, latest first.
    pub sessions: Vec<SessionView>,
    /// Captured files, latest first.
    pub artifacts: Vec<ArtifactView>,
}

/// One attacker with its latest events, credentials, sessions and artifacts.
#[utoipa::path(
    get, path = "/attackers/{id}", tag = "attackers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Attacker id")),
    responses(
        (status = 200, description = "The attacker", body = AttackerDetail),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 404, description = "No such attacker", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn attacker_detail(
    State(state): State<AppState>,
    _: Viewer,
    Path(id): Path<Uuid>,
) -> Result<Json<AttackerDetail>, ApiError> {
    let d = attackers::detail(&state.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such attacker"))?;
    Ok(Json(AttackerDetail {
        attacker: d.attacker.into(),
        events: d.events,
        credentials: d.credentials.into_iter().map(Into::into).collect(),
        sessions: d.sessions.into_iter().map(Into::into).collect(),
        artifacts: d.artifacts.into_iter().map(Into::into).collect(),
    }))
}
