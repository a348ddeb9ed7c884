//! The store against a real throwaway cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use decnet_master::auth::password;
use decnet_master::config::DatabaseConfig;
use decnet_master::store::users::{NewUser, Role};
use decnet_master::store::{Store, StoreError};
use decnet_pgcluster::TestCluster;

fn settings() -> DatabaseConfig {
    DatabaseConfig {
        connect_attempts: 2,
        connect_backoff: Duration::from_millis(10),
        acquire_timeout: Duration::from_secs(2),
        ..DatabaseConfig::default()
    }
}

async fn migrated_store(db: &TestCluster) -> Store {
    let (_, config) = db.create_unique_database().await.unwrap();
    let store = Store::connect(config, &settings()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test]
async fn migrations_apply_once() {
    let db = TestCluster::start().unwrap();
    let (_, config) = db.create_unique_database().await.unwrap();
    let store = Store::connect(config, &settings()).await.unwrap();
    let first = store.migrate().await.unwrap();
    assert_eq!(first.first().map(|m| m.version), Some(1));
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "nothing pending the second time"
    );
}

#[tokio::test]
async fn concurrent_migrators_do_not_collide() {
    let db = TestCluster::start().unwrap();
    let (_, config) = db.create_unique_database().await.unwrap();
    let a = Store::connect(config.clone(), &settings()).await.unwrap();
    let b = Store::connect(config, &settings()).await.unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let total = ra.unwrap().len() + rb.unwrap().len();
    assert_eq!(
        total,
        decnet_master::store::migrations::embedded_count(),
        "every migration applied exactly once"
    );
}

#[tokio::test]
async fn users_are_created_found_and_unique() {
    let db = TestCluster::start().unwrap();
    let store = migrated_store(&db).await;
    let users = store.users();
    let hash = password::hash("s3cret-pass").unwrap();
    let created = users
        .create(NewUser {
            username: "alice",
            password_hash: &hash,
            role: Role::Viewer,
            must_change_password: false,
        })
        .await
        .unwrap();
    assert_eq!(created.role, Role::Viewer);
    assert_eq!(created.id.get_version_num(), 7);
    let found = users.find_by_username("alice").await.unwrap().unwrap();
    assert_eq!(found, created);
    assert!(users.find_by_username("bob").await.unwrap().is_none());
    let stored = users.password_hash("alice").await.unwrap().unwrap();
    assert!(password::verify("s3cret-pass", &stored));

    let dup = users
        .create(NewUser {
            username: "alice",
            password_hash: &hash,
            role: Role::Admin,
            must_change_password: true,
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Query(_))), "{dup:?}");
    assert_eq!(users.count().await.unwrap(), 1);
}

#[tokio::test]
async fn schema_rejects_unknown_roles() {
    let db = TestCluster::start().unwrap();
    let (_, config) = db.create_unique_database().await.unwrap();
    let store = Store::connect(config.clone(), &settings()).await.unwrap();
    store.migrate().await.unwrap();
    let client = store.pool().get().await.unwrap();
    let err = client
        .execute(
            "INSERT INTO users (id, username, password_hash, role) VALUES (gen_random_uuid(), 'x', 'h', 'root')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION)
    );
}

#[tokio::test]
async fn initial_admin_is_created_once_even_when_racing() {
    let db = TestCluster::start().unwrap();
    let store = migrated_store(&db).await;
    let users = store.users();
    let results = futures_join(&users).await;
    assert_eq!(
        results.iter().filter(|created| **created).count(),
        1,
        "{results:?}"
    );
    let admin = users.find_by_username("admin").await.unwrap().unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert!(admin.must_change_password);
    assert!(
        !users.create_initial_admin("h").await.unwrap(),
        "never again"
    );
}

async fn futures_join(users: &decnet_master::store::Users<'_>) -> Vec<bool> {
    let (a, b, c, d) = tokio::join!(
        users.create_initial_admin("h1"),
        users.create_initial_admin("h2"),
        users.create_initial_admin("h3"),
        users.create_initial_admin("h4"),
    );
    vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()]
}

#[tokio::test]
async fn no_initial_admin_once_any_user_exists() {
    let db = TestCluster::start().unwrap();
    let store = migrated_store(&db).await;
    store
        .users()
        .create(NewUser {
            username: "operator",
            password_hash: "h",
            role: Role::Admin,
            must_change_password: false,
        })
        .await
        .unwrap();
    assert!(
        decnet_master::bootstrap::initial_admin(&store)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .users()
            .find_by_username("admin")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn bootstrap_returns_a_password_that_verifies() {
    let db = TestCluster::start().unwrap();
    let store = migrated_store(&db).await;
    let one_time = decnet_master::bootstrap::initial_admin(&store)
        .await
        .unwrap()
        .unwrap();
    let stored = store.users().password_hash("admin").await.unwrap().unwrap();
    assert!(stored.starts_with("$argon2id$"));
    assert!(password::verify(&one_time, &stored));
    assert!(
        decnet_master::bootstrap::initial_admin(&store)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn ping_fails_when_the_database_goes_away() {
    let mut db = TestCluster::start().unwrap();
    let store = migrated_store(&db).await;
    store.ping().await.unwrap();
    db.cluster_mut().stop_immediate().unwrap();
    let err = store.ping().await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_) | StoreError::Query(_)),
        "{err}"
    );
}

#[tokio::test]
async fn connect_gives_up_after_the_configured_attempts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(tmp.path())
        .user("postgres")
        .dbname("decnet");
    let err = Store::connect(config, &settings()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::GaveUp { attempts: 2, .. }),
        "{err}"
    );
}
