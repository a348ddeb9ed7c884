//! `decnet-master up` as a real process: embedded PostgreSQL, health, admin bootstrap, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use decnet_pgcluster::{Cluster, PgBinaries};
use support::{
    Master, command, empty_config, free_port, processes_using, run, traversable_tempdir,
};
use tokio_postgres::NoTls;

fn up(data_dir: &std::path::Path, config: &std::path::Path, port: u16) -> std::process::Command {
    command(&[
        "up",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--config",
        config.to_str().unwrap(),
    ])
}

fn password_lines(stdout: &[String]) -> Vec<String> {
    stdout
        .iter()
        .filter(|l| l.contains("admin password"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn up_serves_health_bootstraps_admin_once_and_stops_postgres() {
    let tmp = traversable_tempdir();
    let data_dir = tmp.path().join("var");
    let config = empty_config(tmp.path());

    // First start: cluster created, admin created, password printed once.
    let port = free_port();
    let mut master = Master::spawn(up(&data_dir, &config, port), port);
    let (code, body) = master.wait_for_health(Duration::from_secs(90)).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        !processes_using(&data_dir.join("pg")).is_empty(),
        "the embedded server runs under the data dir"
    );

    // A second master on the same data directory is refused, leaving the first intact.
    let other_port = free_port();
    let second = run(up(&data_dir, &config, other_port));
    assert!(!second.status.success());
    assert!(second.stderr.contains("already using"), "{}", second.stderr);

    let status = master.terminate();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        master.stderr()
    );
    let lines = password_lines(&master.stdout());
    assert_eq!(lines.len(), 1, "{lines:?}");
    let password = lines[0]
        .strip_prefix("admin password: ")
        .expect("exact format")
        .to_owned();
    assert!(
        password.len() >= 20 && password.chars().all(|c| c.is_ascii_alphanumeric()),
        "{password}"
    );
    assert!(
        !master.stderr().contains(&password),
        "password never logged"
    );
    assert!(
        processes_using(&data_dir.join("pg")).is_empty(),
        "{:?}",
        processes_using(&data_dir)
    );
    assert!(!data_dir.join("pg/data/postmaster.pid").exists());
    let secret_mode = std::fs::metadata(data_dir.join("jwt.secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(secret_mode & 0o777, 0o600);
    let secret = std::fs::read_to_string(data_dir.join("jwt.secret")).unwrap();

    // Second start: same cluster and data, no new password, same JWT secret.
    let port = free_port();
    let mut master = Master::spawn(up(&data_dir, &config, port), port);
    let (code, _) = master.wait_for_health(Duration::from_secs(60)).await;
    assert_eq!(code, 200);
    let status = master.terminate();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        master.stderr()
    );
    assert!(
        password_lines(&master.stdout()).is_empty(),
        "{:?}",
        master.stdout()
    );
    assert!(processes_using(&data_dir.join("pg")).is_empty());
    assert_eq!(
        std::fs::read_to_string(data_dir.join("jwt.secret")).unwrap(),
        secret
    );

    // The stored admin: argon2id of the printed password, change required.
    let mut cluster = Cluster::new(PgBinaries::locate().unwrap(), data_dir.join("pg")).unwrap();
    cluster.start().unwrap();
    let (client, conn) = cluster
        .connection_config("decnet")
        .connect(NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT username, role, must_change_password, password_hash FROM users",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), "admin");
    assert_eq!(rows[0].get::<_, &str>(1), "admin");
    assert!(rows[0].get::<_, bool>(2));
    let hash: &str = rows[0].get(3);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(decnet_master::auth::password::verify(&password, hash));
    drop(client);
    cluster.stop().unwrap();
}

#[tokio::test]
async fn sigint_also_shuts_down_cleanly() {
    let tmp = traversable_tempdir();
    let data_dir = tmp.path().join("var");
    let port = free_port();
    let mut master = Master::spawn(up(&data_dir, &empty_config(tmp.path()), port), port);
    assert_eq!(master.wait_for_health(Duration::from_secs(90)).await.0, 200);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master.pid()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = master.wait(Duration::from_secs(60));
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        master.stderr()
    );
    assert!(processes_using(&data_dir.join("pg")).is_empty());
}

#[test]
fn missing_postgres_binaries_name_the_package() {
    let tmp = traversable_tempdir();
    let mut cmd = up(
        &tmp.path().join("var"),
        &empty_config(tmp.path()),
        free_port(),
    );
    cmd.env("DECNET_EMBEDDED__PG_BINDIR", tmp.path().join("no-such-bin"));
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("apt-get install postgresql"),
        "{}",
        out.stderr
    );
}

#[test]
fn busy_port_is_refused_naming_the_key() {
    let tmp = traversable_tempdir();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let out = run(up(&tmp.path().join("var"), &empty_config(tmp.path()), port));
    assert!(!out.status.success());
    assert!(out.stderr.contains("api.listen"), "{}", out.stderr);
    assert!(
        !tmp.path().join("var/pg").exists(),
        "nothing started before the port check"
    );
}

#[tokio::test]
async fn sigterm_during_startup_leaves_nothing_running() {
    let tmp = traversable_tempdir();
    let data_dir = tmp.path().join("var");
    let port = free_port();
    let mut master = Master::spawn(up(&data_dir, &empty_config(tmp.path()), port), port);
    // The secret is generated just before initdb runs, after the signal handler is installed.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !master.stderr().contains("generated the JWT secret") {
        assert!(std::time::Instant::now() < deadline, "{}", master.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = master.terminate();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        master.stderr()
    );
    assert!(
        processes_using(&data_dir.join("pg")).is_empty(),
        "{:?}",
        processes_using(&data_dir)
    );
}

#[tokio::test]
async fn restart_after_a_killed_master_recovers_the_cluster() {
    let tmp = traversable_tempdir();
    let data_dir = tmp.path().join("var");
    let config = empty_config(tmp.path());
    let port = free_port();
    let mut master = Master::spawn(up(&data_dir, &config, port), port);
    assert_eq!(master.wait_for_health(Duration::from_secs(90)).await.0, 200);
    // SIGKILL gives the master no chance to stop PostgreSQL, which keeps running.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master.pid()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    master.wait(Duration::from_secs(10));
    assert!(
        !processes_using(&data_dir.join("pg")).is_empty(),
        "orphaned server still up"
    );

    let port = free_port();
    let mut master = Master::spawn(up(&data_dir, &config, port), port);
    let (code, body) = master.wait_for_health(Duration::from_secs(90)).await;
    assert_eq!(code, 200, "{body}");
    assert!(password_lines(&master.stdout()).is_empty());
    let status = master.terminate();
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        master.stderr()
    );
    assert!(
        processes_using(&data_dir.join("pg")).is_empty(),
        "{:?}",
        processes_using(&data_dir)
    );
}
