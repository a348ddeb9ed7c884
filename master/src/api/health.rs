//! `GET /api/v1/health`: liveness of the process and reachability of the database.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;

/// A health probe must answer quickly even when the database hangs.
const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Body of the health response.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, or `degraded` when a dependency is down.
    pub status: &'static str,
    /// Version of this binary.
    pub version: &'static str,
    /// `ok` or `unavailable`.
    pub database: &'static str,
}

/// 200 when the database answers, 503 otherwise.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database_ok = match tokio::time::timeout(DATABASE_PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "health: database unavailable");
            false
        }
        Err(_) => {
            tracing::warn!("health: database probe timed out");
            false
        }
    };
    let (code, status, database) = if database_ok {
        (StatusCode::OK, "ok", "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded", "unavailable")
    };
    (
        code,
        Json(Health {
            status,
            version: env!("CARGO_PKG_VERSION"),
            database,
        }),
    )
}
