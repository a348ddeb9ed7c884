//! `GET /credentials`: the credentials board.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::extract::{Json, Query, Viewer};
use super::views::{PrincipalView, SecretView};
use super::{ApiError, AppState};
use crate::store::credentials;

/// Most entries per board section.
pub const MAX_BOARD: u32 = 200;

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(board))
}

/// Parameters of `GET /credentials`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardParams {
    /// Entries per section, 1 to 200 (default 20).
    pub limit: Option<u32>,
}

/// The credentials board.
#[derive(Debug, Serialize, ToSchema)]
pub struct Board {
    /// Most tried secrets.
    pub top_secrets: Vec<SecretView>,
    /// Most tried principals.
    pub top_principals: Vec<PrincipalView>,
    /// Secrets tried on two or more targets, latest first.
    pub reused: Vec<SecretView>,
    /// Distinct credentials.
    pub credential_count: i64,
}

/// Most tried secrets and principals, and reused secrets.
#[utoipa::path(
    get, path = "/credentials", tag = "credentials",
    security(("bearer" = [])),
    params(BoardParams),
    responses(
        (status = 200, description = "The board", body = Board),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 422, description = "Invalid limit", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn board(
    State(state): State<AppState>,
    _: Viewer,
    Query(p): Query<BoardParams>,
) -> Result<Json<Board>, ApiError> {
    let limit = p.limit.unwrap_or(20);
    if !(1..=MAX_BOARD).contains(&limit) {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_BOARD}")));
    }
    let b = credentials::board(&state.store, limit).await?;
    Ok(Json(Board {
        top_secrets: b.top_secrets.into_iter().map(Into::into).collect(),
        top_principals: b.top_principals.into_iter().map(Into::into).collect(),
        reused: b.reused.into_iter().map(Into::into).collect(),
        credential_count: b.credential_count,
    }))
}
