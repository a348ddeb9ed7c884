//! `/deckies`: the fleet with live state, deployments (INI or JSON) and teardown.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::deploy::{Operation, Request, Spec, Target, Tracking};
use super::error::ErrorBody;
use super::extract::{Admin, Json, Path, Query, Viewer};
use super::fleet_ini;
use super::mesh::LinkState;
use super::{ApiError, AppState};
use crate::store::{deckies, hosts};

/// Most deckies in one deployment.
pub const MAX_DEPLOY: usize = 500;

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deckies))
        .routes(routes!(decky_detail, teardown))
        .routes(routes!(deploy))
        .routes(routes!(deployment))
}

/// One service of a decky.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    /// Service slug.
    pub service: String,
    /// Port.
    pub port: Option<u16>,
    /// Its state.
    pub state: String,
}

/// A decky with its live state.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeckyView {
    /// Name.
    pub name: String,
    /// Host running it.
    pub host: String,
    /// Address.
    pub ip: Option<String>,
    /// Persona.
    pub persona: Option<String>,
    /// Imitated operating system.
    pub os: Option<String>,
    /// State last reported by its agent.
    pub state: String,
    /// Latest error.
    pub last_error: Option<String>,
    /// Services.
    pub services: Vec<ServiceView>,
    /// Last state change (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// The link to its host right now: a `running` decky behind a `down` link is stale.
    pub link: LinkState,
}

fn view(state: &AppState, d: deckies::Decky) -> DeckyView {
    let link = state.mesh.link(&d.host).state;
    DeckyView {
        name: d.name,
        host: d.host,
        ip: d.ip.map(|ip| ip.to_string()),
        persona: d.persona,
        os: d.os,
        state: d.state.as_str().to_owned(),
        last_error: d.last_error,
        services: d
            .services
            .into_iter()
            .map(|s| ServiceView {
                service: s.service,
                port: s.port,
                state: s.state,
            })
            .collect(),
        updated_at: d.updated_at,
        link,
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if deckies::is_valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid("decky names match ^[a-z0-9-]{1,64}$"))
    }
}

/// Filter of `GET /deckies`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeckyParams {
    /// Only deckies of this host.
    pub host: Option<String>,
}

/// Every decky with its live state.
#[utoipa::path(
    get, path = "/deckies", tag = "deckies",
    security(("bearer" = [])),
    params(DeckyParams),
    responses(
        (status = 200, description = "Deckies", body = [DeckyView]),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 422, description = "Invalid host name", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn list_deckies(
    State(state): State<AppState>,
    _: Viewer,
    Query(p): Query<DeckyParams>,
) -> Result<Json<Vec<DeckyView>>, ApiError> {
    if let Some(h) = &p.host
        && !hosts::is_valid_name(h)
    {
        return Err(ApiError::invalid(
            "host names match ^[a-z0-9][a-z0-9-]{0,62}$",
        ));
    }
    let list = deckies::list(&state.store, p.host.as_deref()).await?;
    Ok(Json(list.into_iter().map(|d| view(&state, d)).collect()))
}

/// One decky.
#[utoipa::path(
    get, path = "/deckies/{name}", tag = "deckies",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Decky name, ^[a-z0-9-]{1,64}$")),
    responses(
        (status = 200, description = "The decky", body = DeckyView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 404, description = "No such decky", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn decky_detail(
    State(state): State<AppState>,
    _: Viewer,
    Path(name): Path<String>,
) -> Result<Json<DeckyView>, ApiError> {
    check_name(&name)?;
    let d = deckies::detail(&state.store, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("no such decky"))?;
    Ok(Json(view(&state, d)))
}

/// A JSON deployment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployBody {
    /// Host to deploy on; the embedded agent when absent.
    pub host: Option<String>,
    /// A fleet INI file (exclusive with `deckies`).
    pub ini: Option<String>,
    /// Decky specs, each an object with at least `name` (exclusive with `ini`).
    #[schema(value_type = Option<Vec<Object>>)]
    pub deckies: Option<Vec<serde_json::Value>>,
}

/// Target of a plain-text (INI) deployment.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeployParams {
    /// Host to deploy on (INI bodies only); the embedded agent when absent.
    pub host: Option<String>,
}

fn target(host: Option<String>) -> Result<Target, ApiError> {
    match host {
        None => Ok(Target::Embedded),
        Some(h) if hosts::is_valid_name(&h) => Ok(Target::Host(h)),
        Some(_) => Err(ApiError::invalid(
            "host names match ^[a-z0-9][a-z0-9-]{0,62}$",
        )),
    }
}

fn json_spec(specs: Vec<serde_json::Value>) -> Result<(Vec<String>, Spec), ApiError> {
    let ini = fleet_ini::json_to_ini(&specs)?;
    Ok((fleet_ini::decky_names(&ini)?, Spec::Ini(ini)))
}

fn spec_of(
    headers: &HeaderMap,
    body: &[u8],
    params: DeployParams,
) -> Result<(Target, Vec<String>, Spec), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = || std::str::from_utf8(body).map_err(|_| ApiError::invalid("the body is not UTF-8"));
    match content_type.as_str() {
        "application/json" => {
            if params.host.is_some() {
                return Err(ApiError::invalid(
                    "JSON deployments name the host in the body",
                ));
            }
            let b: DeployBody = serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?;
            let target = target(b.host)?;
            let (names, spec) = match (b.ini, b.deckies) {
                (Some(ini), None) => (fleet_ini::decky_names(&ini)?, Spec::Ini(ini)),
                (None, Some(specs)) => json_spec(specs)?,
                _ => return Err(ApiError::invalid("give exactly one of ini and deckies")),
            };
            Ok((target, names, spec))
        }
        "text/plain" | "text/x-ini" => {
            let ini = text()?.to_owned();
            Ok((
                target(params.host)?,
                fleet_ini::decky_names(&ini)?,
                Spec::Ini(ini),
            ))
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send a fleet INI file as text/plain or a JSON spec as application/json",
        )),
    }
}

/// Deploys deckies from a fleet INI file (`text/plain`, host in `?host=`) or a JSON spec,
/// on a named host or the embedded agent. Answers 202 with a tracking id at once.
#[utoipa::path(
    post, path = "/deckies/deploy", tag = "deckies",
    security(("bearer" = [])),
    params(DeployParams),
    request_body(description = "A JSON spec, or a fleet INI file as text/plain", content(
        (DeployBody = "application/json"),
        (String = "text/plain"),
    )),
    responses(
        (status = 202, description = "Accepted; poll /deckies/deployments/{id}. `state` says \
            honestly whether it was dispatched (`not_connected`: recorded only)", body = Tracking),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Neither text/plain nor application/json", body = ErrorBody),
        (status = 422, description = "Invalid spec, names or host", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn deploy(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Query(params): Query<DeployParams>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Tracking>), ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "request body too large",
            )
        } else {
            ApiError::invalid(r.body_text())
        }
    })?;
    let (target, names, spec) = spec_of(&headers, &body, params)?;
    if names.is_empty() || names.len() > MAX_DEPLOY {
        return Err(ApiError::invalid(format!(
            "deploy 1 to {MAX_DEPLOY} deckies"
        )));
    }
    if let Target::Host(h) = &target
        && hosts::by_name(&state.store, h).await?.is_none()
    {
        return Err(ApiError::not_found("no such host"));
    }
    let request = Request {
        id: Uuid::now_v7(),
        operation: Operation::Deploy,
        target,
        deckies: names,
        spec: Some(spec),
        requested_by: admin.user.username.clone(),
    };
    let tracking = state
        .deployer
        .submit(request)
        .await
        .map_err(|e| ApiError::invalid(e.0))?;
    tracing::info!(by = %admin.user.username, id = %tracking.id, deckies = tracking.deckies.len(), state = ?tracking.state, "deployment requested");
    Ok((StatusCode::ACCEPTED, Json(tracking)))
}

/// Tears a decky down on its host. Answers 202 with a tracking id at once.
#[utoipa::path(
    delete, path = "/deckies/{name}", tag = "deckies",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Decky name, ^[a-z0-9-]{1,64}$")),
    responses(
        (status = 202, description = "Accepted; poll /deckies/deployments/{id}", body = Tracking),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such decky", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn teardown(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Tracking>), ApiError> {
    check_name(&name)?;
    let d = deckies::detail(&state.store, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("no such decky"))?;
    let request = Request {
        id: Uuid::now_v7(),
        operation: Operation::Teardown,
        target: if d.host.is_empty() {
            Target::Embedded
        } else {
            Target::Host(d.host)
        },
        deckies: vec![name],
        spec: None,
        requested_by: admin.user.username.clone(),
    };
    let tracking = state
        .deployer
        .submit(request)
        .await
        .map_err(|e| ApiError::invalid(e.0))?;
    tracing::info!(by = %admin.user.username, id = %tracking.id, state = ?tracking.state, "teardown requested");
    Ok((StatusCode::ACCEPTED, Json(tracking)))
}

/// Where a deployment or teardown stands.
#[utoipa::path(
    get, path = "/deckies/deployments/{id}", tag = "deckies",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Tracking id")),
    responses(
        (status = 200, description = "Its state", body = Tracking),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Password change pending", body = ErrorBody),
        (status = 404, description = "Unknown tracking id", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn deployment(
    State(state): State<AppState>,
    _: Viewer,
    Path(id): Path<Uuid>,
) -> Result<Json<Tracking>, ApiError> {
    state
        .deployer
        .status(id)
        .await
        .map(Json)
        .ok_or_else(|| ApiError::not_found("unknown tracking id"))
}
