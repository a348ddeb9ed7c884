//! The REST API under `/api/v1`.

mod error;
mod health;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use decnet_runtime::config::Secret;
use tower_http::trace::TraceLayer;

use crate::store::Store;

pub use error::ApiError;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Key that signs API tokens.
    pub jwt_secret: Arc<Secret>,
}

/// The API router.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/health", get(health::health))
        .fallback(error::not_found);
    Router::new()
        .nest("/api/v1", v1)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
