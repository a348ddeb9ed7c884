//! API errors as `{"error": {"code", "message", "id"}}`, never exposing internal detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with an explicit status, machine-readable code and client-safe message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The id ties the client's report to the server log line.
        let id = Uuid::now_v7();
        if self.status.is_server_error() {
            tracing::error!(%id, code = self.code, message = %self.message, "API error");
        }
        let body = json!({"error": {"code": self.code, "message": self.message, "id": id}});
        (self.status, Json(body)).into_response()
    }
}

/// Unknown API paths.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
