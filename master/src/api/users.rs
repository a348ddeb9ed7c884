//! `/users` (administrators): list, create, delete, set role, reset password.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::hash_password;
use super::error::ErrorBody;
use super::extract::{Admin, Json, Path};
use super::{ApiError, AppState};
use crate::auth::accounts::{self, Account, AdminChange};
use crate::auth::password;
use crate::store::users::Role;

/// Routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(delete_user))
        .routes(routes!(set_role))
        .routes(routes!(reset_password))
}

/// A role as spelled in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// Everything, including user and fleet management.
    Admin,
    /// Read-only access.
    Viewer,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => RoleName::Admin,
            Role::Viewer => RoleName::Viewer,
        }
    }
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Admin => Role::Admin,
            RoleName::Viewer => Role::Viewer,
        }
    }
}

/// A user as shown to administrators.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: RoleName,
    /// Whether the next login must set a new password.
    pub must_change_password: bool,
    /// Creation time (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Account> for UserView {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            username: a.username,
            role: a.role.into(),
            must_change_password: a.must_change_password,
            created_at: a.created_at,
        }
    }
}

/// Login names: letters, digits, `.`, `_`, `-`; 1 to 64 characters.
fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "username must be 1-64 characters of letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Every user.
#[utoipa::path(
    get, path = "/users", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users by name", body = [UserView]),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn list_users(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = accounts::list(state.store.pool()).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: letters, digits, `.`, `_`, `-`; 1 to 64 characters.
    pub username: String,
    /// Role.
    pub role: RoleName,
    /// Initial password (at least 12 characters); generated when absent.
    pub password: Option<String>,
}

/// A created user or a reset password.
#[derive(Debug, Serialize, ToSchema)]
pub struct Issued {
    /// The user.
    pub user: UserView,
    /// The generated one-time password; shown once, absent when the caller chose it.
    pub password: Option<String>,
}

fn initial_password(chosen: Option<String>) -> Result<(String, bool), ApiError> {
    match chosen {
        Some(p) => match password::policy_problem(&p) {
            Some(problem) => Err(ApiError::invalid(format!("password {problem}"))),
            None => Ok((p, false)),
        },
        None => Ok((password::generate(), true)),
    }
}

/// Creates a user, who must change the password at first login.
#[utoipa::path(
    post, path = "/users", tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = Issued),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid name, role or password", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    check_username(&req.username)?;
    let (plain, generated) = initial_password(req.password)?;
    let hash = hash_password(plain.clone()).await?;
    let account = accounts::create(state.store.pool(), &req.username, &hash, req.role.into())
        .await?
        .ok_or_else(|| ApiError::conflict("a user with this name exists"))?;
    tracing::info!(by = %admin.user.username, username = %account.username, role = account.role.as_str(), "user created");
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            user: account.into(),
            password: generated.then_some(plain),
        }),
    ))
}

fn admin_change(result: AdminChange, username: &str) -> Result<(), ApiError> {
    match result {
        AdminChange::Done => Ok(()),
        AdminChange::NotFound => Err(ApiError::not_found(format!("no user {username:?}"))),
        AdminChange::LastAdmin => Err(ApiError::conflict(
            "refused: this would leave no administrator",
        )),
    }
}

/// Deletes a user; their tokens stop working at once.
#[utoipa::path(
    delete, path = "/users/{username}", tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Login name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Own account or last administrator", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_username(&username)?;
    if username == admin.user.username {
        return Err(ApiError::conflict("you cannot delete your own account"));
    }
    admin_change(
        accounts::delete(state.store.pool(), &username).await?,
        &username,
    )?;
    state.gate.invalidate();
    tracing::info!(by = %admin.user.username, %username, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// The role.
    pub role: RoleName,
}

/// Sets a user's role; it applies to the user's very next request.
#[utoipa::path(
    put, path = "/users/{username}/role", tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Login name")),
    request_body = SetRole,
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Last administrator", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid name or role", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn set_role(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(username): Path<String>,
    Json(req): Json<SetRole>,
) -> Result<Json<UserView>, ApiError> {
    check_username(&username)?;
    admin_change(
        accounts::set_role(state.store.pool(), &username, req.role.into()).await?,
        &username,
    )?;
    state.gate.invalidate();
    tracing::info!(by = %admin.user.username, %username, role = ?req.role, "role changed");
    let account = accounts::find(state.store.pool(), &username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {username:?}")))?;
    Ok(Json(account.into()))
}

/// A password reset.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password (at least 12 characters); generated when absent.
    pub password: Option<String>,
}

/// Resets a user's password: their tokens are revoked and they must change it at next login.
#[utoipa::path(
    post, path = "/users/{username}/reset-password", tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Login name")),
    request_body = ResetPassword,
    responses(
        (status = 200, description = "Reset", body = Issued),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an administrator, or password change pending", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid name or password", body = ErrorBody),
        (status = 500, description = "Internal error", body = ErrorBody),
        (status = 503, description = "Database unavailable or request timed out", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(username): Path<String>,
    Json(req): Json<ResetPassword>,
) -> Result<Json<Issued>, ApiError> {
    check_username(&username)?;
    let (plain, generated) = initial_password(req.password)?;
    let account = accounts::find(state.store.pool(), &username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {username:?}")))?;
    let hash = hash_password(plain.clone()).await?;
    let now = OffsetDateTime::now_utc();
    if !accounts::set_password(state.store.pool(), account.id, &hash, true, now).await? {
        return Err(ApiError::not_found(format!("no user {username:?}")));
    }
    state.gate.invalidate();
    tracing::info!(by = %admin.user.username, %username, "password reset; tokens revoked");
    let account = Account {
        must_change_password: true,
        ..account
    };
    Ok(Json(Issued {
        user: account.into(),
        password: generated.then_some(plain),
    }))
}
