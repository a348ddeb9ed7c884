//! Running the real DECNET binaries of this workspace as separate processes.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // shared by several test binaries

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A binary built beside this test (`cargo test --workspace` builds every package's binaries).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash>
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo nextest run --workspace`",
        path.display()
    );
    path
}

/// A command with no DECNET_*/OTEL_* settings inherited from the caller.
pub fn command(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("DECNET_") || key.starts_with("OTEL_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// A short temporary directory the `decnet-pg` user (tests run as root) can traverse.
pub fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dn-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    dir
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub use decnet_integration::swarm::proc::Proc;

/// Output of a command run to completion.
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(mut cmd: Command) -> Output {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `curl -sS -m 30 ARGS`'s stdout.
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-m", "30"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `decnet-master up` on a temporary data directory with free API and mesh ports.
pub struct Master {
    pub proc: Proc,
    pub data_dir: PathBuf,
    pub api: String,
    pub password: String,
}

impl Master {
    /// `extra` is appended to the configuration file (e.g. an `[embedded]` table).
    pub fn up(data_dir: &Path, extra: &str) -> Master {
        let port = free_port();
        let config = data_dir.join("master.toml");
        std::fs::write(
            &config,
            format!("[mesh]\nlisten = \"127.0.0.1:0\"\n{extra}"),
        )
        .unwrap();
        let mut cmd = command("decnet-master");
        cmd.args(["up", "--data-dir"])
            .arg(data_dir.join("var"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--config"])
            .arg(&config);
        let mut proc = Proc::spawn("decnet-master", cmd).unwrap();
        let line = proc
            .wait_line("admin password: ", Duration::from_secs(90))
            .unwrap();
        let password = line.trim_start_matches("admin password: ").to_owned();
        proc.wait_line("DECNET mesh on ", Duration::from_secs(30))
            .unwrap();
        Master {
            proc,
            data_dir: data_dir.join("var"),
            api: format!("http://127.0.0.1:{port}"),
            password,
        }
    }

    /// `decnet-master hosts ARGS --data-dir …` run to completion.
    pub fn hosts(&self, args: &[&str]) -> Output {
        let mut cmd = command("decnet-master");
        cmd.arg("hosts")
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir);
        run(cmd)
    }

    /// The `hosts list --json` rows.
    pub fn host_rows(&self) -> Vec<serde_json::Value> {
        let out = self.hosts(&["list", "--json"]);
        assert!(out.ok, "hosts list failed: {}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Logs in as admin, changes the one-time password to `new_password`, returns a token.
    pub fn api_token(&self, new_password: &str) -> String {
        let login = |password: &str| -> serde_json::Value {
            let body = serde_json::json!({"username": "admin", "password": password}).to_string();
            serde_json::from_str(&curl(&[
                "-H",
                "content-type: application/json",
                "--data-binary",
                &body,
                &format!("{}/api/v1/auth/login", self.api),
            ]))
            .unwrap()
        };
        let first = login(&self.password);
        let token = first["access_token"].as_str().unwrap().to_owned();
        let change =
            serde_json::json!({"current_password": self.password, "new_password": new_password})
                .to_string();
        let changed: serde_json::Value = serde_json::from_str(&curl(&[
            "-H",
            "content-type: application/json",
            "-H",
            &format!("authorization: Bearer {token}"),
            "--data-binary",
            &change,
            &format!("{}/api/v1/auth/change-password", self.api),
        ]))
        .unwrap();
        changed["access_token"].as_str().unwrap().to_owned()
    }

    /// Waits until host `name` has `status`.
    pub fn wait_status(&self, name: &str, status: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let rows = self.host_rows();
            if rows
                .iter()
                .any(|r| r["name"] == name && r["status"] == status)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "host {name} not {status} within {timeout:?}: {rows:?}\nmaster stderr:\n{}",
                self.proc.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Runs `prog ARGS`; success and stdout followed by stderr.
pub fn sh(prog: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The container engine's API socket, when it answers.
pub fn engine_socket() -> Option<String> {
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .unwrap_or_else(|| "unix:///run/podman/podman.sock".to_owned());
    let path = host.strip_prefix("unix://")?.to_owned();
    let (ok, _) = sh("curl", &["-fsS", "--unix-socket", &path, "http://d/_ping"]);
    ok.then_some(path)
}

/// Whether a docker-driver test can run here (root and an engine); panics when
/// `DECNET_REQUIRE_ENGINE=1` (set by `deploy/test.sh`) and it cannot, so CI never skips.
pub fn available() -> bool {
    let required = std::env::var("DECNET_REQUIRE_ENGINE").is_ok_and(|v| v == "1");
    let root = nix::unistd::Uid::effective().is_root();
    let engine = engine_socket().is_some();
    if root && engine {
        return true;
    }
    let why = format!("root: {root}, container engine API reachable: {engine}");
    assert!(!required, "a docker driver test cannot run ({why})");
    eprintln!("SKIPPED: docker driver tests need root and an engine ({why})");
    false
}

/// The Debian bookworm root filesystem tarball `deploy/test.sh` makes with debootstrap
/// (`$DECNET_TEST_BASE_ROOTFS`, else /var/cache/decnet-tests/bookworm-minbase.tar), when
/// it and `docker-registry` exist; panics when CI requires them.
pub fn base_rootfs() -> Option<PathBuf> {
    let path = std::env::var("DECNET_TEST_BASE_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/var/cache/decnet-tests/bookworm-minbase.tar"));
    let registry = sh("sh", &["-c", "command -v docker-registry"]).0;
    if path.is_file() && registry {
        return Some(path);
    }
    let required = std::env::var("DECNET_REQUIRE_ENGINE").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{} or docker-registry is missing (deploy/test.sh prepares both)",
        path.display()
    );
    eprintln!(
        "SKIPPED: no base rootfs at {} or no docker-registry",
        path.display()
    );
    None
}

/// A Debian image in the engine for custom (BYOS) services, imported from [`base_rootfs`].
pub fn base_image() -> Option<String> {
    let rootfs = base_rootfs()?;
    let image = "localhost/decnet-test-base:bookworm".to_owned();
    if !sh("podman", &["image", "exists", &image]).0 {
        let (ok, out) = sh("podman", &["import", rootfs.to_str().unwrap(), &image]);
        assert!(ok, "podman import: {out}");
    }
    Some(image)
}
