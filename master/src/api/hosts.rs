//! `/hosts`: sensor hosts, enrollment tokens, revocation.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ErrorBody;
use super::extract::{Admin, Json, Path, Viewer};
use super::mesh::LinkInfo;
use super::{ApiError, AppState};
use crate::store::hosts::{self, Host, HostStatus};
use crate::swarm::tokens::{self, TokenRequestError};

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hosts))
        .routes(routes!(host_detail))
        .routes(routes!(enroll_token))
        .routes(routes!(revoke_host))
}

/// A sensor host with its live link.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostView {
    /// Identifier.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// `enrolled`, `online`, `offline` or `revoked`.
    pub status: String,
    /// Agent version it reported.
    pub agent_version: Option<String>,
    /// Address it connects from.
    pub address: Option<String>,
    /// SHA-256 (hex) of the accepted client certificates.
    pub cert_fingerprints: Vec<String>,
    /// Enrollment time.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub enrolled_at: OffsetDateTime,
    /// Latest contact.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen: Option<OffsetDateTime>,
    /// Revocation time.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
    /// The mesh link right now.
    pub link: LinkInfo,
}

fn status_name(s: HostStatus) -> String {
    s.as_str().to_owned()
}

fn view(state: &AppState, h: Host) -> HostView {
    let link = state.mesh.link(&h.name);
    HostView {
        id: h.id,
        status: status_name(h.status),
        agent_version: h.agent_version,
        address: h.address,
        cert_fingerprints: h.cert_fingerprints,
        enrolled_at: h.enrolled_at,
        last_seen: h.last_seen,
        revoked_at: h.revoked_at,
        link,
        name: h.name,
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if hosts::is_valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "host names match ^[a-z0-9][a-z0-9-]{0,62}$",
        ))
    }
}

/// Every enrolled host with its link state.
#[utoipa::path(
    get, path = "/hosts", tag = "hosts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Hosts", body = [HostView]),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn list_hosts(
    State(state): State<AppState>,
    _: Viewer,
) -> Result<Json<Vec<HostView>>, ApiError> {
    let list = hosts::list(&state.store).await?;
    Ok(Json(list.into_iter().map(|h| view(&state, h)).collect()))
}

/// One host.
#[utoipa::path(
    get, path = "/hosts/{name}", tag = "hosts",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "The host", body = HostView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn host_detail(
    State(state): State<AppState>,
    _: Viewer,
    Path(name): Path<String>,
) -> Result<Json<HostView>, ApiError> {
    check_name(&name)?;
    let host = hosts::by_name(&state.store, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("no such host"))?;
    Ok(Json(view(&state, host)))
}

/// An enrollment token request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollTokenRequest {
    /// Name the host will get: `^[a-z0-9][a-z0-9-]{0,62}$`.
    pub name: String,
    /// Validity in seconds, 60 to 604800 (default 3600).
    pub ttl_seconds: Option<u64>,
}

/// A new enrollment token; the token itself is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollTokenResponse {
    /// Pass to `decnet-agent enroll --token`; single use.
    pub token: String,
    /// Host the token enrolls.
    pub host_name: String,
    /// Expiry (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Creates a single-use enrollment token for a new host (only its hash is stored).
#[utoipa::path(
    post, path = "/hosts/enroll-token", tag = "hosts",
    security(("bearer" = [])),
    request_body = EnrollTokenRequest,
    responses(
        (status = 201, description = "The token (shown once)", body = EnrollTokenResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 409, description = "A host with this name is enrolled", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid name or ttl", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "No mesh endpoint configured, database unavailable or timeout", body = ErrorBody),
    )
)]
async fn enroll_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(req): Json<EnrollTokenRequest>,
) -> Result<(StatusCode, Json<EnrollTokenResponse>), ApiError> {
    check_name(&req.name)?;
    let ttl = req
        .ttl_seconds
        .map_or(tokens::DEFAULT_TOKEN_TTL, Duration::from_secs);
    let enrollment = state.enrollment.clone().ok_or_else(|| {
        ApiError::unavailable("enrollment is not available: this master has no mesh endpoint")
    })?;
    let created = tokens::create(
        &state.store,
        &enrollment,
        &req.name,
        ttl,
        Some(admin.user.id),
    )
    .await
    .map_err(|e| match e {
        TokenRequestError::BadName => ApiError::invalid(e.to_string()),
        TokenRequestError::BadTtl => ApiError::invalid("ttl_seconds must be 60 to 604800"),
        TokenRequestError::Taken(_) => ApiError::conflict("a host with this name is enrolled"),
        TokenRequestError::Store(e) => e.into(),
        TokenRequestError::Generate(e) => ApiError::internal(e),
    })?;
    tracing::info!(by = %admin.user.username, host = %req.name, ?ttl, "enrollment token created");
    Ok((
        StatusCode::CREATED,
        Json(EnrollTokenResponse {
            token: created.token,
            host_name: req.name,
            expires_at: created.expires_at,
        }),
    ))
}

/// Revokes a host: its certificates are refused from now on.
#[utoipa::path(
    post, path = "/hosts/{name}/revoke", tag = "hosts",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "Revoked", body = HostView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn revoke_host(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<Json<HostView>, ApiError> {
    check_name(&name)?;
    let host = hosts::by_name(&state.store, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("no such host"))?;
    hosts::revoke(&state.store, host.id).await?;
    tracing::warn!(by = %admin.user.username, host = %name, "host revoked");
    let host = hosts::by_name(&state.store, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("no such host"))?;
    Ok(Json(view(&state, host)))
}
