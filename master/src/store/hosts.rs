//! Sensor hosts (agents) and their single-use enrollment tokens.
//!
//! API: hosts — [`create`] (None when the name is taken), [`get`], [`by_name`],
//! [`by_fingerprint`] (non-revoked hosts only), [`list`], [`set_status`], [`seen`],
//! [`add_fingerprint`] / [`remove_fingerprint`] (certificate rotation), [`revoke`];
//! tokens — [`create_token`], [`consume_token`] (atomic, single use), [`list_tokens`],
//! [`revoke_token`]. Tokens are stored as their SHA-256 only.

use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Store, StoreError};

/// Whether `name` is a valid host name (`^[a-z0-9][a-z0-9-]{0,62}$`).
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Connection state of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    /// Enrolled, never connected yet.
    Enrolled,
    /// Its mesh link is up.
    Online,
    /// Its mesh link is down.
    Offline,
    /// Its certificates are no longer accepted.
    Revoked,
}

impl HostStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Enrolled => "enrolled",
            HostStatus::Online => "online",
            HostStatus::Offline => "offline",
            HostStatus::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "enrolled" => HostStatus::Enrolled,
            "online" => HostStatus::Online,
            "offline" => HostStatus::Offline,
            "revoked" => HostStatus::Revoked,
            other => {
                return Err(StoreError::Corrupt {
                    column: "hosts.status",
                    value: other.to_owned(),
                });
            }
        })
    }
}

/// One enrolled agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Identifier.
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// SHA-256 (lowercase hex) of every client certificate currently accepted.
    pub cert_fingerprints: Vec<String>,
    /// Connection state.
    pub status: HostStatus,
    /// Version the agent reported.
    pub agent_version: Option<String>,
    /// Address it connects from, as reported.
    pub address: Option<String>,
    /// When it enrolled.
    pub enrolled_at: OffsetDateTime,
    /// Latest contact.
    pub last_seen: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A stored enrollment token (without the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentToken {
    /// Identifier.
    pub id: Uuid,
    /// Name the enrolling host will get.
    pub host_name: String,
    /// User who created it, if still present.
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// After this it is refused.
    pub expires_at: OffsetDateTime,
    /// When it was used, if it was.
    pub used_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, name, cert_fingerprints, status, agent_version, address, \
                       enrolled_at, last_seen, revoked_at";
const TOKEN_COLUMNS: &str =
    "id, host_name, created_by, created_at, expires_at, used_at, revoked_at";

/// Enrolls a host with its first certificate fingerprint; `None` when the name is taken.
pub async fn create(
    store: &Store,
    name: &str,
    fingerprint: &str,
    agent_version: Option<&str>,
) -> Result<Option<Host>, StoreError> {
    let client = store.pool().get().await?;
    let row = client
        .query_opt(
            &format!(
                "INSERT INTO hosts (id, name, cert_fingerprints, agent_version) \
                 VALUES ($1, $2, ARRAY[lower($3)], $4) ON CONFLICT (name) DO NOTHING \
                 RETURNING {COLUMNS}"
            ),
            &[&Uuid::now_v7(), &name, &fingerprint, &agent_version],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The host with this id.
pub async fn get(store: &Store, id: Uuid) -> Result<Option<Host>, StoreError> {
    one(store, "id = $1", &id).await
}

/// The host with this name.
pub async fn by_name(store: &Store, name: &str) -> Result<Option<Host>, StoreError> {
    one(store, "name = $1", &name).await
}

/// The non-revoked host accepting the certificate with this fingerprint.
pub async fn by_fingerprint(store: &Store, fingerprint: &str) -> Result<Option<Host>, StoreError> {
    one(
        store,
        "cert_fingerprints @> ARRAY[lower($1)] AND revoked_at IS NULL",
        &fingerprint,
    )
    .await
}

async fn one(
    store: &Store,
    cond: &str,
    param: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<Host>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM hosts WHERE {cond}"))
        .await?;
    client
        .query_opt(&stmt, &[param])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every host, by name.
pub async fn list(store: &Store) -> Result<Vec<Host>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM hosts ORDER BY name"))
        .await?;
    client
        .query(&stmt, &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Sets the connection state of a non-revoked host; false when there is none.
pub async fn set_status(store: &Store, id: Uuid, status: HostStatus) -> Result<bool, StoreError> {
    if status == HostStatus::Revoked {
        return revoke(store, id).await;
    }
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE hosts SET status = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &status.as_str()],
        )
        .await?;
    Ok(n == 1)
}

/// Records contact from a non-revoked host (and its reported version and address).
pub async fn seen(
    store: &Store,
    id: Uuid,
    agent_version: Option<&str>,
    address: Option<&str>,
) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE hosts SET last_seen = now(), \
             agent_version = coalesce($2, agent_version), address = coalesce($3, address) \
             WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &agent_version, &address],
        )
        .await?;
    Ok(n == 1)
}

/// Accepts one more certificate for a non-revoked host (rotation overlap).
pub async fn add_fingerprint(
    store: &Store,
    id: Uuid,
    fingerprint: &str,
) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE hosts SET cert_fingerprints = \
             CASE WHEN cert_fingerprints @> ARRAY[lower($2)] THEN cert_fingerprints \
                  ELSE cert_fingerprints || lower($2) END \
             WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &fingerprint],
        )
        .await?;
    Ok(n == 1)
}

/// Stops accepting one certificate (end of a rotation).
pub async fn remove_fingerprint(
    store: &Store,
    id: Uuid,
    fingerprint: &str,
) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE hosts SET cert_fingerprints = array_remove(cert_fingerprints, lower($2)) \
             WHERE id = $1 AND cert_fingerprints @> ARRAY[lower($2)]",
            &[&id, &fingerprint],
        )
        .await?;
    Ok(n == 1)
}

/// Revokes a host: no certificate of it is accepted any more. False when absent or already revoked.
pub async fn revoke(store: &Store, id: Uuid) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE hosts SET status = 'revoked', revoked_at = now() \
             WHERE id = $1 AND revoked_at IS NULL",
            &[&id],
        )
        .await?;
    Ok(n == 1)
}

/// Stores a token by its SHA-256 (32 bytes) for `host_name`, valid until `expires_at`.
pub async fn create_token(
    store: &Store,
    host_name: &str,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
    created_by: Option<Uuid>,
) -> Result<EnrollmentToken, StoreError> {
    let client = store.pool().get().await?;
    let row = client
        .query_one(
            &format!(
                "INSERT INTO enrollment_tokens (id, token_hash, host_name, created_by, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
            ),
            &[
                &Uuid::now_v7(),
                &token_hash,
                &host_name,
                &created_by,
                &expires_at,
            ],
        )
        .await?;
    token_from_row(&row)
}

/// Uses the token with this hash: succeeds once, only while unexpired and unrevoked.
///
/// One `UPDATE … WHERE used_at IS NULL` so two concurrent enrollments cannot both win.
pub async fn consume_token(
    store: &Store,
    token_hash: &[u8],
) -> Result<Option<EnrollmentToken>, StoreError> {
    let client = store.pool().get().await?;
    let row = client
        .query_opt(
            &format!(
                "UPDATE enrollment_tokens SET used_at = now() \
                 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL \
                 AND expires_at > now() RETURNING {TOKEN_COLUMNS}"
            ),
            &[&token_hash],
        )
        .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// The token with this hash, used or not.
pub async fn token_by_hash(
    store: &Store,
    token_hash: &[u8],
) -> Result<Option<EnrollmentToken>, StoreError> {
    let client = store.pool().get().await?;
    let row = client
        .query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM enrollment_tokens WHERE token_hash = $1"),
            &[&token_hash],
        )
        .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// Records an enrollment: a new host, or a fresh start for a revoked one of the same name
/// (its history stays attached to the same id). `None` when a live host has the name.
pub async fn enroll(
    store: &Store,
    name: &str,
    fingerprint: &str,
    agent_version: Option<&str>,
    address: Option<&str>,
) -> Result<Option<Host>, StoreError> {
    let client = store.pool().get().await?;
    let row = client
        .query_opt(
            &format!(
                "INSERT INTO hosts (id, name, cert_fingerprints, agent_version, address) \
                 VALUES ($1, $2, ARRAY[lower($3)], $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET cert_fingerprints = EXCLUDED.cert_fingerprints, \
                 status = 'enrolled', revoked_at = NULL, enrolled_at = now(), \
                 agent_version = EXCLUDED.agent_version, address = EXCLUDED.address \
                 WHERE hosts.revoked_at IS NOT NULL \
                 RETURNING {COLUMNS}"
            ),
            &[
                &Uuid::now_v7(),
                &name,
                &fingerprint,
                &agent_version,
                &address,
            ],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Hosts revoked since they were last loaded: name and their fingerprints.
pub async fn revoked(store: &Store) -> Result<Vec<Host>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM hosts WHERE revoked_at IS NOT NULL ORDER BY name"
        ))
        .await?;
    client
        .query(&stmt, &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Every token, newest first.
pub async fn list_tokens(store: &Store) -> Result<Vec<EnrollmentToken>, StoreError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM enrollment_tokens ORDER BY created_at DESC, id DESC"
            ),
            &[],
        )
        .await?;
    rows.iter().map(token_from_row).collect()
}

/// Revokes an unused token; false when absent, used or already revoked.
pub async fn revoke_token(store: &Store, id: Uuid) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE enrollment_tokens SET revoked_at = now() \
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
            &[&id],
        )
        .await?;
    Ok(n == 1)
}

fn from_row(row: &Row) -> Result<Host, StoreError> {
    Ok(Host {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        cert_fingerprints: row.try_get("cert_fingerprints")?,
        status: HostStatus::parse(row.try_get("status")?)?,
        agent_version: row.try_get("agent_version")?,
        address: row.try_get("address")?,
        enrolled_at: row.try_get("enrolled_at")?,
        last_seen: row.try_get("last_seen")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn token_from_row(row: &Row) -> Result<EnrollmentToken, StoreError> {
    Ok(EnrollmentToken {
        id: row.try_get("id")?,
        host_name: row.try_get("host_name")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_pattern() {
        for ok in ["a", "sensor-01", "0", &"a".repeat(63)] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "A", "a_b", "a.b", &"a".repeat(64), "é"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
