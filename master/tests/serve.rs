//! `serve` and `migrate` against an external database (a throwaway cluster).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use decnet_pgcluster::TestCluster;
use support::{Master, command, empty_config, free_port, run, traversable_tempdir};
use tokio_postgres::NoTls;

const SECRET: &str = "9c1e5f2a7b3d8e0f4a6c2b1d9e8f7a6b5c4d3e2f1a0b9c8d";

fn serve(url: &str, config: &std::path::Path, port: u16) -> std::process::Command {
    let mut cmd = command(&[
        "serve",
        "--database-url",
        url,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--config",
        config.to_str().unwrap(),
    ]);
    cmd.env("DECNET_JWT_SECRET", SECRET);
    cmd.env("DECNET_MESH__PKI_DIR", config.parent().unwrap().join("pki"));
    cmd
}

#[tokio::test]
async fn serve_reports_database_outage_as_503() {
    let tmp = traversable_tempdir();
    let mut db = TestCluster::start().unwrap();
    db.create_database("decnet").await.unwrap();
    let port = free_port();
    let mut master = Master::spawn(
        serve(&db.url("decnet"), &empty_config(tmp.path()), port),
        port,
    );
    let (code, body) = master.wait_for_health(Duration::from_secs(60)).await;
    assert_eq!(
        (code, body["database"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    let printed: Vec<String> = master
        .stdout()
        .into_iter()
        .filter(|l| l.starts_with("admin password: "))
        .collect();
    assert_eq!(
        printed.len(),
        1,
        "an empty external database gets its admin too"
    );

    db.cluster_mut().stop_immediate().unwrap();
    let (code, body) = master.wait_for_health(Duration::from_secs(10)).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["database"], "unavailable");
    assert_eq!(body["status"], "degraded");

    let status = master.terminate();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        master.stderr()
    );
}

#[test]
fn unreachable_database_is_retried_with_warnings_then_given_up() {
    let tmp = traversable_tempdir();
    let missing = tmp.path().join("no-socket-here");
    let url = format!("host={} user=postgres dbname=decnet", missing.display());
    let mut cmd = serve(&url, &empty_config(tmp.path()), free_port());
    cmd.env("DECNET_DATABASE__CONNECT_ATTEMPTS", "3");
    cmd.env("DECNET_DATABASE__CONNECT_BACKOFF", "20ms");
    let started = std::time::Instant::now();
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(30));
    let warnings: Vec<&str> = out.stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert!(
        warnings.iter().any(|l| l.contains("attempt 1/3 failed")),
        "{}",
        out.stderr
    );
    assert!(
        warnings.iter().any(|l| l.contains("attempt 2/3 failed")),
        "{}",
        out.stderr
    );
    let errors: Vec<&str> = out.stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("attempt 3/3") && l.contains("giving up")),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn migrate_applies_pending_migrations_once() {
    let tmp = traversable_tempdir();
    let db = TestCluster::start().unwrap();
    let config = db.create_database("decnet").await.unwrap();
    let url = db.url("decnet");
    let migrate = || {
        let mut cmd = command(&["migrate", "--database-url", &url]);
        cmd.args(["--config", empty_config(tmp.path()).to_str().unwrap()]);
        run(cmd)
    };
    let first = migrate();
    assert!(first.status.success(), "{}", first.stderr);
    assert!(
        first.stdout.contains("applied V1__users"),
        "{}",
        first.stdout
    );
    let second = migrate();
    assert!(second.status.success(), "{}", second.stderr);
    assert!(second.stdout.contains("up to date"), "{}", second.stdout);

    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        tables.contains(&"users".to_owned()) && tables.contains(&"meta".to_owned()),
        "{tables:?}"
    );
}
