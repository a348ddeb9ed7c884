//! Account queries of the auth layer: what a token's user may do, revocation, user management.

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::store::StoreError;
use crate::store::users::Role;

/// What the auth layer needs to know about a token's user, read per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Current role (from the database, never from the token).
    pub role: Role,
    /// Whether the user must change the password before doing anything else.
    pub must_change_password: bool,
    /// Tokens issued before this instant (Unix milliseconds) are refused.
    pub tokens_valid_from_ms: i64,
}

/// A user as listed to administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Whether the next login must set a new password.
    pub must_change_password: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// Outcome of a change that must keep at least one administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    /// Done.
    Done,
    /// No such user.
    NotFound,
    /// Refused: it would leave no administrator.
    LastAdmin,
}

fn role_of(row: &Row, column: &'static str) -> Result<Role, StoreError> {
    let value: &str = row.try_get(column)?;
    match value {
        "admin" => Ok(Role::Admin),
        "viewer" => Ok(Role::Viewer),
        other => Err(StoreError::Corrupt {
            column: "users.role",
            value: other.to_owned(),
        }),
    }
}

fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MIN)
}

/// The user of a token and whether its `jti` was revoked; `None` when the user is gone.
pub async fn principal(
    pool: &Pool,
    user: Uuid,
    jti: Uuid,
) -> Result<Option<(Principal, bool)>, StoreError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "SELECT id, username, role, must_change_password, \
                    CASE WHEN tokens_valid_from = '-infinity' THEN NULL ELSE tokens_valid_from END \
                        AS valid_from, \
                    EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2) AS revoked \
             FROM users WHERE id = $1",
        )
        .await?;
    let Some(row) = client.query_opt(&stmt, &[&user, &jti]).await? else {
        return Ok(None);
    };
    let valid_from: Option<OffsetDateTime> = row.try_get("valid_from")?;
    let principal = Principal {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role_of(&row, "role")?,
        must_change_password: row.try_get("must_change_password")?,
        tokens_valid_from_ms: valid_from.map_or(i64::MIN, to_ms),
    };
    Ok(Some((principal, row.try_get("revoked")?)))
}

/// A user's id, password hash and must-change flag, for login.
pub async fn login_record(
    pool: &Pool,
    username: &str,
) -> Result<Option<(Uuid, String, bool)>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT id, password_hash, must_change_password FROM users WHERE username = $1",
            &[&username],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// The password hash of a user by id.
pub async fn password_hash(pool: &Pool, user: Uuid) -> Result<Option<String>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt("SELECT password_hash FROM users WHERE id = $1", &[&user])
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Records a logged-out token; kept until the token would have expired anyway.
pub async fn revoke(
    pool: &Pool,
    jti: Uuid,
    user: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (jti) DO NOTHING",
            &[&jti, &user, &expires_at],
        )
        .await?;
    Ok(())
}

/// Deletes revocations of tokens that have expired; returns how many.
pub async fn prune_revoked(pool: &Pool) -> Result<u64, StoreError> {
    let client = pool.get().await?;
    Ok(client
        .execute("DELETE FROM revoked_tokens WHERE expires_at < now()", &[])
        .await?)
}

/// Sets a new password hash and refuses every token issued before `valid_from`.
///
/// Returns false when the user does not exist.
pub async fn set_password(
    pool: &Pool,
    user: Uuid,
    password_hash: &str,
    must_change_password: bool,
    valid_from: OffsetDateTime,
) -> Result<bool, StoreError> {
    let client = pool.get().await?;
    let n = client
        .execute(
            "UPDATE users SET password_hash = $2, must_change_password = $3, \
                 tokens_valid_from = $4, updated_at = now() WHERE id = $1",
            &[&user, &password_hash, &must_change_password, &valid_from],
        )
        .await?;
    Ok(n == 1)
}

const ACCOUNT_COLUMNS: &str = "id, username, role, must_change_password, created_at";

fn account(row: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role_of(row, "role")?,
        must_change_password: row.try_get("must_change_password")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Every user, by name.
pub async fn list(pool: &Pool) -> Result<Vec<Account>, StoreError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY username"),
            &[],
        )
        .await?;
    rows.iter().map(account).collect()
}

/// One user by name.
pub async fn find(pool: &Pool, username: &str) -> Result<Option<Account>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = $1"),
            &[&username],
        )
        .await?;
    row.as_ref().map(account).transpose()
}

/// Creates a user; `None` when the name is taken.
pub async fn create(
    pool: &Pool,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<Option<Account>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!(
                "INSERT INTO users (id, username, password_hash, role, must_change_password) \
                 VALUES ($1, $2, $3, $4, true) ON CONFLICT (username) DO NOTHING \
                 RETURNING {ACCOUNT_COLUMNS}"
            ),
            &[&Uuid::now_v7(), &username, &password_hash, &role.as_str()],
        )
        .await?;
    row.as_ref().map(account).transpose()
}

/// Runs `change` on `username` unless it would leave no administrator.
///
/// The administrators are locked for the transaction, so two concurrent demotions
/// cannot both pass the check.
async fn guarded(
    pool: &Pool,
    username: &str,
    new_role: Option<Role>,
) -> Result<AdminChange, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let admins: Vec<String> = tx
        .query(
            "SELECT username FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let Some(row) = tx
        .query_opt(
            "SELECT role FROM users WHERE username = $1 FOR UPDATE",
            &[&username],
        )
        .await?
    else {
        return Ok(AdminChange::NotFound);
    };
    let is_admin = role_of(&row, "role")? == Role::Admin;
    let stays_admin = new_role == Some(Role::Admin);
    if is_admin && !stays_admin && admins.len() <= 1 {
        return Ok(AdminChange::LastAdmin);
    }
    match new_role {
        Some(role) => {
            tx.execute(
                "UPDATE users SET role = $2, updated_at = now() WHERE username = $1",
                &[&username, &role.as_str()],
            )
            .await?;
        }
        None => {
            tx.execute("DELETE FROM users WHERE username = $1", &[&username])
                .await?;
        }
    }
    tx.commit().await?;
    Ok(AdminChange::Done)
}

/// Deletes a user (never the last administrator).
pub async fn delete(pool: &Pool, username: &str) -> Result<AdminChange, StoreError> {
    guarded(pool, username, None).await
}

/// Sets a user's role (never demoting the last administrator).
pub async fn set_role(pool: &Pool, username: &str, role: Role) -> Result<AdminChange, StoreError> {
    guarded(pool, username, Some(role)).await
}
