//! Real clusters: init, start, query, stop, restart, crash leftovers, missing binaries.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed step should fail the test

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use decnet_pgcluster::{Cluster, Error, PgBinaries, SYSTEM_USER, TestCluster};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio_postgres::NoTls;

fn scratch_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // When tests run as root the server runs as decnet-pg, which must pass through.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    dir
}

fn new_cluster(root: &Path) -> Cluster {
    Cluster::new(PgBinaries::locate().unwrap(), root)
        .unwrap()
        .with_no_sync_init(true)
        .with_setting("fsync", "off")
}

async fn query_one_i64(config: &tokio_postgres::Config, sql: &str) -> i64 {
    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    client.query_one(sql, &[]).await.unwrap().get(0)
}

fn postmaster_pid(data_dir: &Path) -> i32 {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
}

fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        assert!(Instant::now() < deadline, "pid {pid} still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every process whose working directory is `dir` (the postmaster and its children).
fn processes_in(dir: &Path) -> Vec<i32> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .ok()
                .as_deref()
                == Some(&dir)
        })
        .collect()
}

#[tokio::test]
async fn init_start_query_stop() {
    let dir = scratch_dir();
    let root = dir.path().join("pg");
    let mut cluster = new_cluster(&root);
    assert!(!cluster.is_initialized());
    assert!(
        cluster.init_if_needed().unwrap(),
        "first init creates the cluster"
    );
    assert!(cluster.is_initialized());
    cluster.start().unwrap();
    assert!(cluster.is_running());

    let config = cluster.connection_config("postgres");
    assert_eq!(query_one_i64(&config, "SELECT 40 + 2::bigint").await, 42);

    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    let listen: String = client
        .query_one("SHOW listen_addresses", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(listen, "", "no TCP listener");
    let fsync: String = client.query_one("SHOW fsync", &[]).await.unwrap().get(0);
    assert_eq!(fsync, "off", "extra settings are applied");
    drop(client);

    let run = std::fs::metadata(cluster.socket_dir()).unwrap();
    assert_eq!(
        run.mode() & 0o777,
        0o700,
        "socket directory admits only its owner"
    );
    if nix::unistd::Uid::effective().is_root() {
        let user = nix::unistd::User::from_name(SYSTEM_USER).unwrap().unwrap();
        let data = std::fs::metadata(cluster.data_dir()).unwrap();
        assert_eq!(
            data.uid(),
            user.uid.as_raw(),
            "root runs the cluster as {SYSTEM_USER}"
        );
    }

    let pid = postmaster_pid(&cluster.data_dir());
    cluster.stop().unwrap();
    assert!(!cluster.is_running());
    assert!(!alive(pid), "postmaster {pid} exited");
    assert!(
        processes_in(&cluster.data_dir()).is_empty(),
        "no server process left"
    );
    assert!(!cluster.data_dir().join("postmaster.pid").exists());
}

#[tokio::test]
async fn restart_reuses_data() {
    let dir = scratch_dir();
    let root = dir.path().join("pg");
    {
        let mut cluster = new_cluster(&root);
        cluster.init_if_needed().unwrap();
        cluster.start().unwrap();
        assert!(cluster.create_database("keep").await.unwrap());
        assert!(
            !cluster.create_database("keep").await.unwrap(),
            "second create is a no-op"
        );
        let (client, conn) = cluster
            .connection_config("keep")
            .connect(NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute("CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
            .await
            .unwrap();
        // Dropped without an explicit stop: Drop must stop the server.
    }
    assert!(
        processes_in(&root.join("data")).is_empty(),
        "drop stopped the server"
    );

    let mut cluster = new_cluster(&root);
    assert!(
        !cluster.init_if_needed().unwrap(),
        "existing cluster is reused"
    );
    cluster.start().unwrap();
    let v = query_one_i64(
        &cluster.connection_config("keep"),
        "SELECT v::bigint FROM t",
    )
    .await;
    assert_eq!(v, 7);
    cluster.stop().unwrap();
}

#[tokio::test]
async fn killed_server_leaves_no_obstacle() {
    let dir = scratch_dir();
    let mut cluster = new_cluster(&dir.path().join("pg"));
    cluster.init_if_needed().unwrap();
    cluster.start().unwrap();
    let pid = postmaster_pid(&cluster.data_dir());
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    // Backends notice the postmaster's death and exit on their own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !processes_in(&cluster.data_dir()).is_empty() {
        assert!(Instant::now() < deadline, "orphaned backends did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        cluster.data_dir().join("postmaster.pid").exists(),
        "SIGKILL leaves the lock file"
    );

    cluster.start().unwrap();
    assert_ne!(postmaster_pid(&cluster.data_dir()), pid);
    assert_eq!(
        query_one_i64(&cluster.connection_config("postgres"), "SELECT 1::bigint").await,
        1
    );
    cluster.stop().unwrap();
}

#[tokio::test]
async fn pid_file_naming_an_unrelated_live_process_is_stale() {
    let dir = scratch_dir();
    let mut cluster = new_cluster(&dir.path().join("pg"));
    cluster.init_if_needed().unwrap();
    cluster.start().unwrap();
    let pid_path = cluster.data_dir().join("postmaster.pid");
    let lock = std::fs::read_to_string(&pid_path).unwrap();
    cluster.stop().unwrap();

    // After a crash and reboot the recorded pid may belong to some other live process;
    // PostgreSQL alone would refuse to start ("lock file already exists").
    let mut other = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let mut lines: Vec<&str> = lock.lines().collect();
    let other_pid = other.id().to_string();
    lines[0] = &other_pid;
    std::fs::write(&pid_path, lines.join("\n") + "\n").unwrap();

    cluster.start().unwrap();
    assert!(
        alive(other.id() as i32),
        "the unrelated process is left alone"
    );
    assert_eq!(
        query_one_i64(&cluster.connection_config("postgres"), "SELECT 2::bigint").await,
        2
    );
    cluster.stop().unwrap();
    other.kill().unwrap();
    other.wait().unwrap();
}

#[tokio::test]
async fn leftover_server_of_the_same_cluster_is_replaced() {
    let dir = scratch_dir();
    let root = dir.path().join("pg");
    let mut first = new_cluster(&root);
    first.init_if_needed().unwrap();
    first.start().unwrap();
    let old = postmaster_pid(&first.data_dir());

    // A second handle (as after a crashed master whose server kept running) takes over.
    let mut second = new_cluster(&root);
    second.start().unwrap();
    let new = postmaster_pid(&second.data_dir());
    assert_ne!(old, new);
    wait_gone(old);
    assert_eq!(
        query_one_i64(&second.connection_config("postgres"), "SELECT 3::bigint").await,
        3
    );
    assert!(!first.is_running());
    second.stop().unwrap();
    drop(first);
    assert!(processes_in(&root.join("data")).is_empty());
}

#[test]
fn missing_binaries_name_the_package() {
    let empty = tempfile::tempdir().unwrap();
    let err = PgBinaries::from_dir(empty.path()).unwrap_err();
    assert!(matches!(err, Error::BinariesNotFound { .. }));
    assert!(
        err.to_string().contains("apt-get install postgresql"),
        "{err}"
    );

    let err = PgBinaries::locate_with("/nonexistent/pg_config".as_ref(), empty.path()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(
        message.contains(&empty.path().display().to_string()),
        "{message}"
    );
}

#[test]
fn locate_prefers_the_highest_complete_version() {
    let root = tempfile::tempdir().unwrap();
    for (version, programs) in [
        ("9.6", &["initdb", "postgres", "pg_ctl"][..]),
        ("13", &["initdb", "postgres", "pg_ctl"][..]),
        ("16", &["initdb"][..]), // client-only leftovers are not a server install
        ("main", &["initdb", "postgres", "pg_ctl"][..]),
    ] {
        let bin = root.path().join(version).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for program in programs {
            std::fs::write(bin.join(program), "").unwrap();
        }
    }
    let found = PgBinaries::locate_with("/nonexistent/pg_config".as_ref(), root.path()).unwrap();
    assert_eq!(found.bindir(), root.path().join("13").join("bin"));
}

#[test]
fn system_binaries_are_found() {
    let bins = PgBinaries::locate().unwrap();
    assert!(bins.program("initdb").is_file());
    assert!(bins.program("postgres").is_file());
}

#[tokio::test]
async fn test_cluster_is_private_and_removed_on_drop() {
    let cluster = TestCluster::start().unwrap();
    let path = cluster.path().to_path_buf();
    let config = cluster.create_database("app").await.unwrap();
    assert_eq!(query_one_i64(&config, "SELECT 5::bigint").await, 5);
    let (name, config) = cluster.create_unique_database().await.unwrap();
    assert!(name.starts_with("test_"));
    assert_eq!(query_one_i64(&config, "SELECT 6::bigint").await, 6);

    // The URL form reaches the same server.
    let url: tokio_postgres::Config = cluster.url("app").parse().unwrap();
    assert_eq!(query_one_i64(&url, "SELECT 8::bigint").await, 8);

    let pid = postmaster_pid(&path.join("pg").join("data"));
    drop(cluster);
    assert!(!alive(pid), "server stopped");
    assert!(!path.exists(), "directory removed");
}
