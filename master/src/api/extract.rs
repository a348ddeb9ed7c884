//! Request extractors: who is calling (bearer token or stream ticket, role checks) and
//! input parsing whose failures answer in the API's error shape.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::auth::Principal;
use crate::auth::jwt::{Claims, looks_like_jwt};
use crate::store::users::Role;

/// Query parameters that would carry a token; refused wherever they appear.
const TOKEN_PARAMS: [&str; 4] = ["token", "access_token", "jwt", "bearer"];

/// A JSON body; malformed input answers 422 (413 when too large, 415 without JSON type).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// Query parameters; malformed input answers 422.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters; malformed input answers 422.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "request body too large",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ),
            _ => ApiError::invalid(r.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::invalid(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::invalid(r.body_text())
    }
}

/// Refuses a token in the query string (it would end up in logs and browser history).
fn refuse_query_token(parts: &Parts) -> Result<(), ApiError> {
    if parts.uri.query().is_none() {
        return Ok(());
    }
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let carries_token = pairs
        .iter()
        .any(|(k, v)| TOKEN_PARAMS.contains(&k.to_ascii_lowercase().as_str()) || looks_like_jwt(v));
    if carries_token {
        return Err(ApiError::unauthenticated(
            "tokens are not accepted in the query string; \
             use the Authorization header or a stream ticket",
        ));
    }
    Ok(())
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthenticated("expected `Authorization: Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthenticated(
            "expected `Authorization: Bearer <token>`",
        ));
    }
    Ok(Some(token.trim()))
}

/// Any valid token, even one whose user must change the password first
/// (only `me`, `logout` and `change-password` take this).
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user, as currently stored.
    pub user: Principal,
    /// The token's claims.
    pub claims: Claims,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts)?;
        let token =
            bearer(parts)?.ok_or_else(|| ApiError::unauthenticated("authentication required"))?;
        let (user, claims) = state.gate.authenticate(state.store.pool(), token).await?;
        Ok(Self { user, claims })
    }
}

fn password_changed(user: &Principal) -> Result<(), ApiError> {
    if user.must_change_password {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "the password must be changed first (POST /api/v1/auth/change-password)",
        ));
    }
    Ok(())
}

/// A viewer or an administrator whose password is not pending a change.
#[derive(Debug, Clone)]
pub struct Viewer(pub Authenticated);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        password_changed(&auth.user)?;
        Ok(Self(auth))
    }
}

/// An administrator whose password is not pending a change.
#[derive(Debug, Clone)]
pub struct Admin(pub Authenticated);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        password_changed(&auth.user)?;
        if auth.user.role != Role::Admin {
            return Err(ApiError::forbidden("administrators only"));
        }
        Ok(Self(auth))
    }
}

#[derive(Deserialize)]
struct TicketParam {
    ticket: Option<String>,
}

/// The user of a live stream: a single-use `?ticket=` or the bearer header.
#[derive(Debug, Clone)]
pub struct StreamUser(pub Principal);

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts)?;
        let ticket = axum::extract::Query::<TicketParam>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.ticket);
        let user = match ticket {
            Some(ticket) => state
                .gate
                .redeem_ticket(state.store.pool(), &ticket)
                .await
                .map_err(|e| match e {
                    crate::auth::AuthFailure::Store(s) => ApiError::from(s),
                    _ => ApiError::unauthenticated("invalid, expired or already used ticket"),
                })?,
            None => Authenticated::from_request_parts(parts, state).await?.user,
        };
        password_changed(&user)?;
        Ok(Self(user))
    }
}

/// The TCP peer address (the login limiter's key); unspecified when not known.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Deliberately not X-Forwarded-For: any client could set it to dodge the limit.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Self(ip))
    }
}
