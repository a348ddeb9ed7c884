//! Enrollment tokens: created by the API and by `decnet-master hosts enroll-token`.

use std::time::{Duration, SystemTime};

use decnet_pki::{EnrollmentToken, HostName};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Enrollment;
use crate::store::hosts::{self, HostStatus};
use crate::store::{Store, StoreError};

/// Default enrollment token lifetime.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Shortest enrollment token lifetime.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Longest enrollment token lifetime.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a token was not created.
#[derive(Debug, thiserror::Error)]
pub enum TokenRequestError {
    /// The name breaks the host name rule.
    #[error("host names match ^[a-z0-9][a-z0-9-]{{0,62}}$")]
    BadName,
    /// The lifetime is out of range.
    #[error("the token lifetime must be between 1 minute and 7 days")]
    BadTtl,
    /// A live host already has the name.
    #[error("a host named {0} is enrolled; revoke it first")]
    Taken(String),
    /// The token could not be generated.
    #[error("cannot generate a token: {0}")]
    Generate(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A created token; `token` is shown once and only its hash is stored.
#[derive(Debug)]
pub struct CreatedToken {
    /// The encoded token for `decnet-agent enroll --token`.
    pub token: String,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// Creates a single-use token enrolling `name` through `enrollment`, valid for `ttl`.
pub async fn create(
    store: &Store,
    enrollment: &Enrollment,
    name: &str,
    ttl: Duration,
    created_by: Option<Uuid>,
) -> Result<CreatedToken, TokenRequestError> {
    if !hosts::is_valid_name(name) {
        return Err(TokenRequestError::BadName);
    }
    if !(MIN_TOKEN_TTL..=MAX_TOKEN_TTL).contains(&ttl) {
        return Err(TokenRequestError::BadTtl);
    }
    if let Some(existing) = hosts::by_name(store, name).await?
        && existing.status != HostStatus::Revoked
    {
        return Err(TokenRequestError::Taken(name.to_owned()));
    }
    let host: HostName = name.parse().map_err(|_| TokenRequestError::BadName)?;
    let token = EnrollmentToken::generate(
        enrollment.master_addrs.clone(),
        enrollment.ca_fingerprint,
        host,
        ttl,
        SystemTime::now(),
    )
    .map_err(|e| TokenRequestError::Generate(e.to_string()))?;
    let expires_at = OffsetDateTime::from(token.expires_at);
    hosts::create_token(store, name, token.hash().as_bytes(), expires_at, created_by).await?;
    Ok(CreatedToken {
        token: token.encode(),
        expires_at,
    })
}
