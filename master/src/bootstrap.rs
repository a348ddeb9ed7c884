//! First-start set-up of the database content.

use crate::auth::password;
use crate::store::Store;

/// Creates the initial `admin` with a one-time password when there are no users yet.
///
/// Returns the password when this call created the account; it exists nowhere else.
pub async fn initial_admin(store: &Store) -> anyhow::Result<Option<String>> {
    if store.users().count().await? > 0 {
        return Ok(None);
    }
    let one_time = password::generate();
    let to_hash = one_time.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&to_hash)).await??;
    if store.users().create_initial_admin(&hash).await? {
        tracing::info!(
            "created the initial admin user; it must change its password at first login"
        );
        Ok(Some(one_time))
    } else {
        Ok(None)
    }
}

/// Shows the one-time password to the operator, on stdout only (never in the logs).
pub fn announce(one_time: &str) {
    println!("First start: user `admin` was created; change its password at first login.");
    println!("admin password: {one_time}");
}
