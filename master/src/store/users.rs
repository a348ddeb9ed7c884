//! Users of the dashboard and API.

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::StoreError;

/// Name of the account created on the very first start.
pub const INITIAL_ADMIN: &str = "admin";

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including user and fleet management.
    Admin,
    /// Read-only access.
    Viewer,
}

impl Role {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(StoreError::Corrupt {
                column: "users.role",
                value: other.to_owned(),
            }),
        }
    }
}

/// A stored user, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identifier (UUIDv7).
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// Whether the next login must set a new password.
    pub must_change_password: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last modification time.
    pub updated_at: OffsetDateTime,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// What the user may do.
    pub role: Role,
    /// Whether the first login must set a new password.
    pub must_change_password: bool,
}

const COLUMNS: &str = "id, username, role, must_change_password, created_at, updated_at";

/// Repository of users.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pool: &'a Pool,
}

impl<'a> Users<'a> {
    pub(super) fn new(pool: &'a Pool) -> Self {
        Self { pool }
    }

    /// Creates a user; fails on a duplicate name.
    pub async fn create(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO users (id, username, password_hash, role, must_change_password) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
                ),
                &[
                    &Uuid::now_v7(),
                    &new.username,
                    &new.password_hash,
                    &new.role.as_str(),
                    &new.must_change_password,
                ],
            )
            .await?;
        from_row(&row)
    }

    /// Creates the initial `admin` (role admin, password change required) when there are no users.
    ///
    /// Returns whether it was created by this call; concurrent masters create it once.
    pub async fn create_initial_admin(&self, password_hash: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let inserted = client
            .execute(
                "INSERT INTO users (id, username, password_hash, role, must_change_password) \
                 SELECT $1, $2, $3, 'admin', true \
                 WHERE NOT EXISTS (SELECT 1 FROM users) \
                 ON CONFLICT (username) DO NOTHING",
                &[&Uuid::now_v7(), &INITIAL_ADMIN, &password_hash],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Finds a user by login name.
    pub async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE username = $1"),
                &[&username],
            )
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The stored password hash of a user, for login verification.
    pub async fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT password_hash FROM users WHERE username = $1",
                &[&username],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Number of users.
    pub async fn count(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_one("SELECT count(*) FROM users", &[])
            .await?
            .get(0))
    }
}

fn from_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::parse(row.try_get("role")?)?,
        must_change_password: row.try_get("must_change_password")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
