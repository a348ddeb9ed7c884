//! Files captured on deckies (`file_captured` events), by content hash.
//!
//! API: [`list`] (newest first, keyset on id), [`for_attacker`], [`by_sha256`].

use std::net::IpAddr;

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{Store, StoreError};

/// Most artifacts in one page.
pub const MAX_LIMIT: u32 = 1000;

/// One captured file, per (content, decky, service, source, origin path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Row id (increasing).
    pub id: i64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes, if reported.
    pub size: Option<i64>,
    /// Decky it was captured on.
    pub decky: String,
    /// Service it came through.
    pub service: String,
    /// Who put it there.
    pub src_ip: IpAddr,
    /// Path on the decky (empty when unknown).
    pub origin: String,
    /// Name under which the agent stored it, if reported.
    pub stored_as: Option<String>,
    /// Session it was captured in, if known.
    pub session_id: Option<String>,
    /// Captures of this same file.
    pub seen_count: i64,
    /// First capture.
    pub first_seen: OffsetDateTime,
    /// Latest capture.
    pub last_seen: OffsetDateTime,
}

const COLUMNS: &str = "id, encode(sha256, 'hex') AS sha256, size, decky, service, src_ip, \
                       origin, stored_as, session_id, seen_count, first_seen, last_seen";

/// Artifacts newest first, strictly before row `before` when given.
pub async fn list(
    store: &Store,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Artifact>, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let before = before.unwrap_or(i64::MAX);
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM artifacts WHERE id < $1 ORDER BY id DESC LIMIT $2"
        ))
        .await?;
    let rows = client.query(&stmt, &[&before, &limit]).await?;
    rows.iter().map(from_row).collect()
}

/// Artifacts left by `ip`, latest first.
pub async fn for_attacker(
    store: &Store,
    ip: IpAddr,
    limit: u32,
) -> Result<Vec<Artifact>, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM artifacts WHERE src_ip = $1 \
             ORDER BY first_seen DESC, id DESC LIMIT $2"
        ))
        .await?;
    let rows = client.query(&stmt, &[&ip, &limit]).await?;
    rows.iter().map(from_row).collect()
}

/// Every capture of the content with this hex SHA-256, newest first.
pub async fn by_sha256(store: &Store, sha256_hex: &str) -> Result<Vec<Artifact>, StoreError> {
    let Some(sha) = super::credentials::decode_hex32(sha256_hex) else {
        return Ok(Vec::new());
    };
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM artifacts WHERE sha256 = $1 ORDER BY id DESC LIMIT 1000"
        ))
        .await?;
    let rows = client.query(&stmt, &[&sha]).await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &Row) -> Result<Artifact, StoreError> {
    Ok(Artifact {
        id: row.try_get("id")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        decky: row.try_get("decky")?,
        service: row.try_get("service")?,
        src_ip: row.try_get("src_ip")?,
        origin: row.try_get("origin")?,
        stored_as: row.try_get("stored_as")?,
        session_id: row.try_get("session_id")?,
        seen_count: row.try_get("seen_count")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}
