//! Running the real DECNET binaries of this workspace as separate processes.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // shared by several test binaries

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
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

/// A child process whose stdout and stderr lines are collected; killed on drop.
pub struct Proc {
    pub child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        Proc { child, out, err }
    }

    pub fn stdout(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.err.lock().unwrap().join("\n")
    }

    /// Waits for a stdout line matching `pred`, failing with the process output.
    pub fn wait_line(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stdout().into_iter().find(|l| pred(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout().join("\n"),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit status (SIGKILL after `grace`).
    pub fn terminate(&mut self, grace: Duration) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.terminate(Duration::from_secs(10));
        }
    }
}

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
        let proc = Proc::spawn(cmd);
        let line = proc.wait_line("admin password", Duration::from_secs(90), |l| {
            l.starts_with("admin password: ")
        });
        let password = line.trim_start_matches("admin password: ").to_owned();
        proc.wait_line("mesh line", Duration::from_secs(30), |l| {
            l.starts_with("DECNET mesh on ")
        });
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
                self.proc.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
