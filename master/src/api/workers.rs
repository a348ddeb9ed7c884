//! `/hosts/{name}/workers/{worker}`: start or stop a worker on an agent over the mesh.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use decnet_mesh::quic::{RpcError, WorkerAction, WorkerOutcome};
use decnet_pki::HostName;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::extract::{Admin, Json, Path};
use super::{ApiError, AppState};

/// How long an agent may take to start or stop a worker.
const DEADLINE: Duration = Duration::from_secs(30);

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(control_worker))
}

/// Start or stop.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Start the worker.
    Start,
    /// Stop the worker.
    Stop,
}

/// A worker control request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerRequest {
    /// What to do.
    pub action: Action,
}

/// What the agent reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerResult {
    /// Host name.
    pub host: String,
    /// Worker name (e.g. `deckies`).
    pub worker: String,
    /// `started`, `stopped`, `already_running`, `already_stopped` or `unknown_worker`.
    pub outcome: String,
}

fn outcome_name(o: WorkerOutcome) -> &'static str {
    match o {
        WorkerOutcome::Started => "started",
        WorkerOutcome::Stopped => "stopped",
        WorkerOutcome::AlreadyRunning => "already_running",
        WorkerOutcome::AlreadyStopped => "already_stopped",
        WorkerOutcome::UnknownWorker => "unknown_worker",
    }
}

/// Starts or stops a worker on an agent and answers with the agent's outcome.
#[utoipa::path(
    post, path = "/hosts/{name}/workers/{worker}", tag = "hosts",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Host name"),
        ("worker" = String, Path, description = "Worker name, e.g. deckies"),
    ),
    request_body = WorkerRequest,
    responses(
        (status = 200, description = "The agent's outcome", body = WorkerResult),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such host", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid name or action", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "No mesh, or the host is not connected", body = ErrorBody),
        (status = 504, description = "The agent did not answer in time", body = ErrorBody),
    )
)]
async fn control_worker(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((name, worker)): Path<(String, String)>,
    Json(req): Json<WorkerRequest>,
) -> Result<Json<WorkerResult>, ApiError> {
    let host: HostName = name
        .parse()
        .map_err(|e| ApiError::invalid(format!("name: {e}")))?;
    if worker.is_empty()
        || worker.len() > 64
        || !worker
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::invalid(
            "worker names are 1-64 letters, digits, - or _",
        ));
    }
    let mesh = state
        .mesh
        .control()
        .ok_or_else(|| ApiError::unavailable("this master has no mesh"))?;
    let action = match req.action {
        Action::Start => WorkerAction::Start,
        Action::Stop => WorkerAction::Stop,
    };
    let requested_by = format!("api:{}", admin.user.username);
    let outcome = mesh
        .worker(&host, &worker, action, &requested_by, DEADLINE)
        .await
        .map_err(|e| match e {
            RpcError::UnknownHost(_) => ApiError::not_found("no such host"),
            RpcError::NotConnected(_) => ApiError::unavailable("the host is not connected"),
            RpcError::Deadline(_) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "the agent did not answer in time",
            ),
            other => ApiError::unavailable(format!("the call failed: {other}")),
        })?;
    tracing::info!(by = %admin.user.username, %host, %worker, ?action, ?outcome, "worker control");
    Ok(Json(WorkerResult {
        host: name,
        worker,
        outcome: outcome_name(outcome).to_owned(),
    }))
}
