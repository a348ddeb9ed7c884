//! `/auth`: login, logout, password change, the current user, stream tickets.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ErrorBody;
use super::extract::{Authenticated, ClientIp, Json, Viewer};
use super::users::RoleName;
use super::{ApiError, AppState};
use crate::auth::tickets::{Owner, TICKET_TTL};
use crate::auth::{accounts, password};

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(sse_ticket))
}

/// Login credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A new access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token (send as `Authorization: Bearer <token>`).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// When true, every route except change-password, logout and me answers 403.
    pub must_change_password: bool,
}

fn token_response(
    state: &AppState,
    user: Uuid,
    must_change: bool,
) -> Result<TokenResponse, ApiError> {
    let (token, _) = state.gate.keys().issue(user).map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "bearer",
        expires_in: state.gate.keys().ttl().as_secs(),
        must_change_password: must_change,
    })
}

/// Runs argon2 off the async workers: it takes tens of milliseconds of CPU.
pub(super) async fn verify_password(candidate: String, stored: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || password::verify(&candidate, &stored))
        .await
        .map_err(ApiError::internal)
}

/// Hashes off the async workers.
pub(super) async fn hash_password(plain: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password::hash(&plain))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Logs in; at most 10 failed attempts per 5 minutes per client IP and per username.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Malformed request", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if req.username.is_empty() || req.username.len() > 64 || req.password.len() > password::MAX_LEN
    {
        return Err(ApiError::invalid("username or password out of range"));
    }
    let attempt = state
        .gate
        .limiter
        .begin(ip, &req.username)
        .map_err(|wait| {
            tracing::warn!(%ip, username = %req.username, "login rate limit reached");
            ApiError::too_many("too many login attempts; try again later", wait)
        })?;
    let record = accounts::login_record(state.store.pool(), &req.username).await?;
    let stored = record
        .as_ref()
        .map_or_else(|| password::dummy_hash().to_owned(), |(_, h, _)| h.clone());
    let matches = verify_password(req.password, stored).await?;
    match record {
        Some((id, _, must_change)) if matches => {
            attempt.succeeded();
            tracing::info!(username = %req.username, %ip, "login");
            Ok(Json(token_response(&state, id, must_change)?))
        }
        _ => {
            tracing::info!(username = %req.username, %ip, "login failed");
            Err(ApiError::unauthenticated("invalid username or password"))
        }
    }
}

/// Revokes the token used for this request.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Token revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    let c = &auth.claims;
    accounts::revoke(state.store.pool(), c.jti, c.sub, c.expires_at()).await?;
    state.gate.invalidate();
    tracing::info!(username = %auth.user.username, "logout");
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new password: at least 12 characters.
    pub new_password: String,
}

/// Changes the caller's password, revokes every older token and returns a new one.
#[utoipa::path(
    post, path = "/auth/change-password", tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; older tokens are revoked", body = TokenResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Current password is wrong", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "New password refused", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if let Some(problem) = password::policy_problem(&req.new_password) {
        return Err(ApiError::invalid(format!("new_password {problem}")));
    }
    if req.new_password == req.current_password {
        return Err(ApiError::invalid(
            "new_password must differ from the current one",
        ));
    }
    let user = auth.user.id;
    let stored = accounts::password_hash(state.store.pool(), user)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("invalid or expired token"))?;
    if req.current_password.len() > password::MAX_LEN
        || !verify_password(req.current_password, stored).await?
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    }
    let hash = hash_password(req.new_password).await?;
    let now = OffsetDateTime::now_utc();
    accounts::set_password(state.store.pool(), user, &hash, false, now).await?;
    state.gate.invalidate();
    tracing::info!(username = %auth.user.username, "password changed; older tokens revoked");
    Ok(Json(token_response(&state, user, false)?))
}

/// The caller as the server sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// User id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Current role.
    pub role: RoleName,
    /// Whether a password change is pending.
    pub must_change_password: bool,
    /// When the token expires (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub token_expires_at: OffsetDateTime,
}

/// The current user (allowed while a password change is pending).
#[utoipa::path(
    get, path = "/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current user", body = Me),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn me(auth: Authenticated) -> Json<Me> {
    Json(Me {
        id: auth.user.id,
        username: auth.user.username,
        role: auth.user.role.into(),
        must_change_password: auth.user.must_change_password,
        token_expires_at: auth.claims.expires_at(),
    })
}

/// A stream ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SseTicket {
    /// Pass as `?ticket=` to one stream endpoint; single use.
    pub ticket: String,
    /// Seconds the ticket stays valid.
    pub expires_in: u64,
}

/// A single-use ticket for one live stream, valid 60 seconds.
#[utoipa::path(
    post, path = "/auth/sse-ticket", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A ticket", body = SseTicket),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn sse_ticket(State(state): State<AppState>, Viewer(auth): Viewer) -> Json<SseTicket> {
    let ticket = state.gate.tickets.issue(Owner {
        user: auth.user.id,
        jti: auth.claims.jti,
    });
    Json(SseTicket {
        ticket,
        expires_in: TICKET_TTL.as_secs(),
    })
}
