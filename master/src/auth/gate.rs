//! Turning a bearer token into a [`Principal`]: signature and claims, then the user's
//! current state from the database (role, password-change flag, revocations).
//!
//! Lookups are cached for [`CACHE_TTL`] to keep the hot read paths at one query per
//! request. Every change made through this process (logout, password, role, deletion)
//! clears the cache at once, so those take effect on the very next request; a change
//! made directly in the database takes effect within [`CACHE_TTL`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use parking_lot::Mutex;
use uuid::Uuid;

use super::accounts::{self, Principal};
use super::jwt::{Claims, JwtError, JwtKeys, v7_millis};
use super::ratelimit::LoginLimiter;
use super::tickets::{Owner, Tickets};
use crate::store::StoreError;

/// How long a token lookup is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Entries kept before the cache is simply emptied.
const CACHE_MAX: usize = 50_000;

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// Bad signature, claims or shape.
    #[error(transparent)]
    Token(#[from] JwtError),
    /// Logged out, or issued before the last password change.
    #[error("token revoked")]
    Revoked,
    /// The user no longer exists.
    #[error("user no longer exists")]
    UnknownUser,
    /// The database could not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Lookup = Option<(Principal, bool)>;

/// Token verification, login throttling and stream tickets: the auth state of the API.
#[derive(Debug)]
pub struct Gate {
    keys: JwtKeys,
    cache: Mutex<HashMap<(Uuid, Uuid), (Lookup, Instant)>>,
    /// Login throttling.
    pub limiter: LoginLimiter,
    /// Stream tickets.
    pub tickets: Tickets,
}

impl Gate {
    /// A gate signing and verifying with `keys`.
    pub fn new(keys: JwtKeys) -> Self {
        Self {
            keys,
            cache: Mutex::new(HashMap::new()),
            limiter: LoginLimiter::default(),
            tickets: Tickets::default(),
        }
    }

    /// The signing keys.
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// Forgets every cached lookup; call after any change to users or revocations.
    pub fn invalidate(&self) {
        self.cache.lock().clear();
    }

    async fn lookup(&self, pool: &Pool, user: Uuid, jti: Uuid) -> Result<Lookup, StoreError> {
        let now = Instant::now();
        if let Some((hit, at)) = self.cache.lock().get(&(user, jti))
            && now.saturating_duration_since(*at) < CACHE_TTL
        {
            return Ok(hit.clone());
        }
        let fresh = accounts::principal(pool, user, jti).await?;
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert((user, jti), (fresh.clone(), now));
        Ok(fresh)
    }

    /// The principal of a token's user and jti, refusing revoked and outdated tokens.
    async fn check(
        &self,
        pool: &Pool,
        user: Uuid,
        jti: Uuid,
        issued_ms: i64,
    ) -> Result<Principal, AuthFailure> {
        match self.lookup(pool, user, jti).await? {
            None => Err(AuthFailure::UnknownUser),
            Some((_, true)) => Err(AuthFailure::Revoked),
            Some((p, false)) if issued_ms < p.tokens_valid_from_ms => Err(AuthFailure::Revoked),
            Some((p, false)) => Ok(p),
        }
    }

    /// Verifies a bearer token and loads its user.
    pub async fn authenticate(
        &self,
        pool: &Pool,
        token: &str,
    ) -> Result<(Principal, Claims), AuthFailure> {
        let claims = self.keys.verify(token)?;
        let issued = claims.issued_at_ms().ok_or(JwtError::BadClaim("jti"))?;
        let principal = self.check(pool, claims.sub, claims.jti, issued).await?;
        Ok((principal, claims))
    }

    /// Redeems a stream ticket; the token that asked for it must still be valid.
    pub async fn redeem_ticket(&self, pool: &Pool, ticket: &str) -> Result<Principal, AuthFailure> {
        let Owner { user, jti } = self.tickets.redeem(ticket).ok_or(AuthFailure::Revoked)?;
        let issued = v7_millis(&jti).ok_or(JwtError::BadClaim("jti"))?;
        self.check(pool, user, jti, issued).await
    }
}
