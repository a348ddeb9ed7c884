//! Test harness: runs the real `decnet-decky` binary on a fresh loopback
//! address and reads its RFC 5424 stdout back into events.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // shared by several test crates; panics report failures

use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use decnet_event::{Event, rfc5424};

/// A loopback address in 127.77.0.0/16 nobody listens on yet.
pub fn fresh_addr() -> Ipv4Addr {
    let pid = std::process::id();
    for attempt in 0..1000u32 {
        let n = pid
            .wrapping_mul(2_654_435_761)
            .wrapping_add(attempt.wrapping_mul(40_503));
        let ip = Ipv4Addr::new(127, 77, (n >> 8) as u8 % 254 + 1, n as u8 % 254 + 1);
        // Bindable at all, and the service ports are free on it.
        if TcpListener::bind((ip, 0)).is_ok()
            && TcpListener::bind((ip, 6379)).is_ok()
            && TcpListener::bind((ip, 3306)).is_ok()
        {
            return ip;
        }
    }
    panic!("no free 127.77.x.y address");
}

/// A running `decnet-decky`.
pub struct Decky {
    pub ip: Ipv4Addr,
    pub name: String,
    child: Child,
    lines: Lines,
    stderr: Lines,
    _dir: tempfile::TempDir,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(l) => into.lock().unwrap().push(l),
                Err(_) => break,
            }
        }
    });
}

/// Lines collected from a child's output.
pub type Lines = Arc<Mutex<Vec<String>>>;

/// Runs the binary with `spec` (TOML) and extra arguments; returns the child, its stdout and stderr lines, and the spec's directory.
pub fn spawn(spec: &str, extra: &[&str]) -> (Child, Lines, Lines, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_decnet-decky"))
        .arg("--spec")
        .arg(&path)
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    collect(child.stdout.take().unwrap(), Arc::clone(&lines));
    collect(child.stderr.take().unwrap(), Arc::clone(&stderr));
    (child, lines, stderr, dir)
}

/// Runs the binary expecting it to fail at start; returns (status, stderr).
pub fn run_to_failure(spec: &str, extra: &[&str]) -> (ExitStatus, String) {
    let (mut child, _, stderr, _dir) = spawn(spec, extra);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(100));
            return (status, stderr.lock().unwrap().join("\n"));
        }
        assert!(Instant::now() < deadline, "decnet-decky did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Decky {
    /// Starts a decky named `name` on a fresh address with these service tables (and optional top-level keys).
    pub fn start(name: &str, top: &str, services: &str) -> Decky {
        Self::start_with(name, top, services, &[])
    }

    /// [`Decky::start`] with extra command-line arguments.
    pub fn start_with(name: &str, top: &str, services: &str, args: &[&str]) -> Decky {
        Self::start_spec(
            name,
            &format!(
                "hostname = \"{name}\"\nhost = \"test-sensor\"\nseed = \"test-seed-{name}\"\n{top}\n{services}"
            ),
            args,
        )
    }

    /// Starts a decky named `name` on a fresh address; `rest` is the spec
    /// after `name` and `bind` (nothing else is added: no hostname, no seed).
    pub fn start_spec(name: &str, rest: &str, args: &[&str]) -> Decky {
        let ip = fresh_addr();
        let spec = format!("name = \"{name}\"\nbind = [\"{ip}\"]\n{rest}");
        let (child, lines, stderr, dir) = spawn(&spec, args);
        let mut d = Decky {
            ip,
            name: name.to_owned(),
            child,
            lines,
            stderr,
            _dir: dir,
        };
        d.wait_listening();
        d
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("listening"))
        {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("decnet-decky exited with {status}: {}", self.stderr_text());
            }
            assert!(
                Instant::now() < deadline,
                "decnet-decky never listened: {}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), port)
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Raw stdout lines so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Every event printed so far, parsed back from its RFC 5424 line.
    pub fn events(&self) -> Vec<Event> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                rfc5424::parse(l)
                    .unwrap_or_else(|e| panic!("{e}: {l}"))
                    .to_event()
            })
            .collect()
    }

    /// Waits until `done(events)` holds.
    pub fn wait_for(&self, what: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; events: {events:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return s;
            }
            assert!(Instant::now() < deadline, "decnet-decky ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Decky {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Events of one connection (same session id), in order.
pub fn session_of<'a>(events: &'a [Event], sid: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.session_id.as_deref() == Some(sid))
        .collect()
}

/// `(event_type, field)` pairs, for compact exact assertions.
pub fn shape(events: &[&Event], field: &str) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.event_type.clone(),
                e.fields.get(field).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Runs a client command with a timeout; returns (status, stdout, stderr).
pub fn run_client(cmd: &mut Command, stdin: Option<&str>) -> (ExitStatus, String, String) {
    use std::io::Write as _;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Connects a raw TCP client.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Prints a scanner's output and keeps a copy under the test target directory
/// (`target/tmp/nmap-NAME.txt`), so the log of every run holds what it saw.
pub fn keep_log(name: &str, text: &str) {
    println!("{name}:\n{text}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.txt"));
    let _ = std::fs::write(path, text);
}
