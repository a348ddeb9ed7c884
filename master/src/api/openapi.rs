//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, ErrorDetail};

/// The document's static part; paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "DECNET master API",
        description = "Events, attackers, credentials, sessions, fleet and users of a DECNET \
                       deployment. Errors are `{\"error\": {\"code\", \"message\", \"id\"}}`."
    ),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "auth", description = "Login, logout, password, stream tickets"),
        (name = "users", description = "User management (administrators)"),
        (name = "hosts", description = "Sensor hosts and enrollment"),
        (name = "deckies", description = "Deckies and deployments"),
        (name = "events", description = "Attacker events"),
        (name = "attackers", description = "Attackers by source address"),
        (name = "sessions", description = "Recorded sessions"),
        (name = "credentials", description = "Captured credentials"),
        (name = "stream", description = "Live server-sent events"),
        (name = "system", description = "Health, statistics, this document"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The rendered document, shared by every request.
#[derive(Debug, Clone)]
pub struct Document(pub Arc<str>);

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.to_string(),
    )
}
