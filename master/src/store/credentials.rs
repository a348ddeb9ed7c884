//! Captured credentials, the most tried secrets and principals, and reuse across targets.
//!
//! API: [`board`] → [`Board`] (top secrets, top principals, reused secrets), [`list`] (keyset
//! on id, newest first), [`for_attacker`], [`for_secret`] (every capture of one secret).
//!
//! A secret is identified by the SHA-256 of its raw bytes (the event's `secret_b64` decoded)
//! and its kind. A target is a `(decky, service)` pair; a secret seen on two or more targets
//! is a reuse ([`Secret::target_count`] ≥ 2).

use std::net::IpAddr;

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{Store, StoreError};

/// Most rows of a board section or a page.
pub const MAX_LIMIT: u32 = 1000;

/// One credential as tried by one attacker on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Row id (increasing).
    pub id: i64,
    /// Who tried it.
    pub attacker_ip: IpAddr,
    /// Where.
    pub decky: String,
    /// On which service.
    pub service: String,
    /// User or account; empty when none was given.
    pub principal: String,
    /// What the secret is (`plaintext`, `mysql_native_password`, ...).
    pub secret_kind: String,
    /// SHA-256 of the secret bytes, lowercase hex.
    pub secret_sha256: String,
    /// The exact secret, base64.
    pub secret_b64: String,
    /// The secret for display.
    pub secret_printable: String,
    /// Outcome of the latest attempt, if the service told.
    pub last_outcome: Option<String>,
    /// Attempts that succeeded.
    pub success_count: i64,
    /// Attempts in total.
    pub attempt_count: i64,
    /// First attempt.
    pub first_seen: OffsetDateTime,
    /// Latest attempt.
    pub last_seen: OffsetDateTime,
}

/// A `(decky, service)` pair a secret was tried on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// Decky name.
    pub decky: String,
    /// Service slug.
    pub service: String,
}

/// One secret across every attacker and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// SHA-256 of the secret bytes, lowercase hex.
    pub sha256: String,
    /// What the secret is.
    pub kind: String,
    /// The exact secret, base64.
    pub b64: String,
    /// The secret for display.
    pub printable: String,
    /// Principals it was tried with, sorted.
    pub principals: Vec<String>,
    /// Targets it was tried on, sorted.
    pub targets: Vec<Target>,
    /// `targets.len()`; two or more is a reuse.
    pub target_count: i32,
    /// Attempts in total.
    pub attempt_count: i64,
    /// First attempt.
    pub first_seen: OffsetDateTime,
    /// Latest attempt.
    pub last_seen: OffsetDateTime,
}

/// How often one principal was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User or account; empty when none was given.
    pub principal: String,
    /// Attempts in total.
    pub attempt_count: i64,
    /// First attempt.
    pub first_seen: OffsetDateTime,
    /// Latest attempt.
    pub last_seen: OffsetDateTime,
}

/// The credentials board.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Board {
    /// Most tried secrets first.
    pub top_secrets: Vec<Secret>,
    /// Most tried principals first.
    pub top_principals: Vec<Principal>,
    /// Secrets seen on two or more targets, latest first.
    pub reused: Vec<Secret>,
    /// Distinct credentials (per attacker, target, principal and secret).
    pub credential_count: i64,
}

const COLUMNS: &str = "id, attacker_ip, decky, service, principal, secret_kind, \
    encode(secret_sha256, 'hex') AS secret_sha256, secret_b64, secret_printable, last_outcome, \
    success_count, attempt_count, first_seen, last_seen";

const SECRET_COLUMNS: &str = "encode(secret_sha256, 'hex') AS sha256, secret_kind, secret_b64, \
    secret_printable, principals, targets, target_count, attempt_count, first_seen, last_seen";

/// The board, each section at most `limit` long.
pub async fn board(store: &Store, limit: u32) -> Result<Board, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let client = store.pool().get().await?;
    let top = client
        .prepare_cached(&format!(
            "SELECT {SECRET_COLUMNS} FROM credential_secrets ORDER BY attempt_count DESC, \
             secret_sha256 LIMIT $1"
        ))
        .await?;
    let reused = client
        .prepare_cached(&format!(
            "SELECT {SECRET_COLUMNS} FROM credential_secrets WHERE target_count >= 2 \
             ORDER BY last_seen DESC LIMIT $1"
        ))
        .await?;
    let principals = client
        .prepare_cached(
            "SELECT principal, attempt_count, first_seen, last_seen FROM credential_principals \
             ORDER BY attempt_count DESC, principal LIMIT $1",
        )
        .await?;
    let count = client
        .prepare_cached("SELECT coalesce(sum(credentials), 0)::bigint FROM ingest_hourly")
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&limit];
    let (top, reused, principals, count) = tokio::try_join!(
        client.query(&top, &params),
        client.query(&reused, &params),
        client.query(&principals, &params),
        client.query_one(&count, &[]),
    )?;
    Ok(Board {
        top_secrets: top.iter().map(secret_from_row).collect::<Result<_, _>>()?,
        top_principals: principals
            .iter()
            .map(|r| {
                Ok(Principal {
                    principal: r.try_get(0)?,
                    attempt_count: r.try_get(1)?,
                    first_seen: r.try_get(2)?,
                    last_seen: r.try_get(3)?,
                })
            })
            .collect::<Result<_, StoreError>>()?,
        reused: reused
            .iter()
            .map(secret_from_row)
            .collect::<Result<_, _>>()?,
        credential_count: count.try_get(0)?,
    })
}

/// Credentials newest first, strictly before row `before` when given.
pub async fn list(
    store: &Store,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Credential>, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let before = before.unwrap_or(i64::MAX);
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM credentials WHERE id < $1 ORDER BY id DESC LIMIT $2"
        ))
        .await?;
    let rows = client.query(&stmt, &[&before, &limit]).await?;
    rows.iter().map(from_row).collect()
}

/// Credentials tried by `ip`, latest first.
pub async fn for_attacker(
    store: &Store,
    ip: IpAddr,
    limit: u32,
) -> Result<Vec<Credential>, StoreError> {
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM credentials WHERE attacker_ip = $1 \
             ORDER BY last_seen DESC, id DESC LIMIT $2"
        ))
        .await?;
    let rows = client.query(&stmt, &[&ip, &limit]).await?;
    rows.iter().map(from_row).collect()
}

/// The secret with this hex SHA-256 and kind, and every capture of it (latest first).
pub async fn for_secret(
    store: &Store,
    sha256_hex: &str,
    kind: &str,
    limit: u32,
) -> Result<Option<(Secret, Vec<Credential>)>, StoreError> {
    let Some(sha) = decode_hex32(sha256_hex) else {
        return Ok(None);
    };
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let client = store.pool().get().await?;
    let secret = client
        .query_opt(
            &format!(
                "SELECT {SECRET_COLUMNS} FROM credential_secrets \
                 WHERE secret_sha256 = $1 AND secret_kind = $2"
            ),
            &[&sha, &kind],
        )
        .await?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM credentials WHERE secret_sha256 = $1 AND secret_kind = $2 \
                 ORDER BY last_seen DESC, id DESC LIMIT $3"
            ),
            &[&sha, &kind, &limit],
        )
        .await?;
    Ok(Some((
        secret_from_row(&secret)?,
        rows.iter().map(from_row).collect::<Result<_, _>>()?,
    )))
}

/// 32 bytes from 64 hex digits (either case).
pub(crate) fn decode_hex32(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// Splits a stored target (`"decky service"`; neither contains a space).
pub(crate) fn parse_target(t: &str) -> Target {
    let (decky, service) = t.split_once(' ').unwrap_or((t, ""));
    Target {
        decky: decky.to_owned(),
        service: service.to_owned(),
    }
}

fn secret_from_row(row: &Row) -> Result<Secret, StoreError> {
    let targets: Vec<String> = row.try_get("targets")?;
    Ok(Secret {
        sha256: row.try_get("sha256")?,
        kind: row.try_get("secret_kind")?,
        b64: row.try_get("secret_b64")?,
        printable: row.try_get("secret_printable")?,
        principals: row.try_get("principals")?,
        targets: targets.iter().map(|t| parse_target(t)).collect(),
        target_count: row.try_get("target_count")?,
        attempt_count: row.try_get("attempt_count")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}

fn from_row(row: &Row) -> Result<Credential, StoreError> {
    Ok(Credential {
        id: row.try_get("id")?,
        attacker_ip: row.try_get("attacker_ip")?,
        decky: row.try_get("decky")?,
        service: row.try_get("service")?,
        principal: row.try_get("principal")?,
        secret_kind: row.try_get("secret_kind")?,
        secret_sha256: row.try_get("secret_sha256")?,
        secret_b64: row.try_get("secret_b64")?,
        secret_printable: row.try_get("secret_printable")?,
        last_outcome: row.try_get("last_outcome")?,
        success_count: row.try_get("success_count")?,
        attempt_count: row.try_get("attempt_count")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_targets_decode() {
        let hex = "00ff".repeat(16);
        assert_eq!(decode_hex32(&hex).unwrap()[..2], [0, 255]);
        assert!(decode_hex32("00").is_none());
        assert!(decode_hex32(&"zz".repeat(32)).is_none());
        assert_eq!(
            parse_target("decky-1 ssh"),
            Target {
                decky: "decky-1".into(),
                service: "ssh".into()
            }
        );
    }
}
