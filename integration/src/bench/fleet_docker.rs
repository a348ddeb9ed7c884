//! The `docker` driver of `decnet-agent` against the container engine (Podman's Docker API
//! here), measured from outside:
//!
//! * `docker_deploy_20_ms`: `decnet-agent deploy --driver docker` of 20 deckies (redis on
//!   6379 each) on a macvlan network over a fresh veth pair, from spawning the command
//!   until it has exited (it returns once every decky answers) and every decky has
//!   answered a redis `PING` through the host shim. The image is built before the clock
//!   starts (`decnet-agent image build --offline`).
//! * `docker_rss_mb_per_decky`: the RSS of each decky's container process plus its
//!   `conmon` monitor (the per-container cost on this engine), averaged over the 20.
//!
//! Needs root (veth pair, host shim) and an engine (`DOCKER_HOST`, or the Docker or
//! Podman socket). Everything is torn down afterwards with `decnet-agent teardown --all`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::fleet::{redis_ping, rss_mb};

const DECKIES: usize = 20;

/// What the docker run measured.
pub struct DockerRun {
    /// Deploy time of 20 deckies.
    pub deploy: Duration,
    /// Mean per-decky RSS (container process + conmon).
    pub rss_mb_per_decky: f64,
}

fn exec(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the veth pair and the fleet even when the run fails.
struct Cleanup {
    agent: PathBuf,
    state: PathBuf,
    veth: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(&self.agent)
            .args(["teardown", "--all", "--state-dir"])
            .arg(&self.state)
            .output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
    }
}

fn ppid(pid: u32) -> anyhow::Result<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("malformed /proc/PID/stat")?.1;
    after
        .split_whitespace()
        .nth(1)
        .context("no ppid")?
        .parse()
        .context("bad ppid")
}

fn container_rss(name: &str) -> anyhow::Result<f64> {
    let engine = std::env::var("DOCKER_HOST").unwrap_or_default();
    let socket = engine
        .strip_prefix("unix://")
        .unwrap_or("/run/podman/podman.sock")
        .to_owned();
    let body = exec(
        Command::new("curl").args([
            "-fsS",
            "--unix-socket",
            &socket,
            &format!("http://d/v1.41/containers/{name}/json"),
        ]),
        "curl (container inspect)",
    )?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    let pid = v["State"]["Pid"]
        .as_u64()
        .context("the engine gave no container pid")?;
    let pid = u32::try_from(pid)?;
    let mut total = rss_mb(pid)?;
    let parent = ppid(pid)?;
    let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
    if comm.trim() == "conmon" {
        total += rss_mb(parent)?;
    }
    Ok(total)
}

/// Deploys 20 container deckies and measures them.
pub async fn run(agent: &Path) -> anyhow::Result<DockerRun> {
    if !nix::unistd::Uid::effective().is_root() {
        bail!("the docker fleet benchmark needs root (veth pair and host shim)");
    }
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    let tag = std::process::id() % 10_000;
    let host = format!("bench{tag}");
    std::fs::write(
        state.join("agent.toml"),
        format!("host = \"{host}\"\nmasters = [\"127.0.0.1:9\"]\n"),
    )?;
    let veth = format!("db{tag}a");
    let peer = format!("db{tag}b");
    exec(
        Command::new("ip").args(["link", "add", &veth, "type", "veth", "peer", "name", &peer]),
        "ip link add",
    )?;
    let _cleanup = Cleanup {
        agent: agent.to_path_buf(),
        state: state.clone(),
        veth: veth.clone(),
    };
    for link in [&veth, &peer] {
        exec(
            Command::new("ip").args(["link", "set", link, "up"]),
            "ip link set up",
        )?;
    }
    exec(
        Command::new(agent)
            .args(["image", "build", "--offline", "--state-dir"])
            .arg(&state),
        "decnet-agent image build",
    )?;
    let ini = dir.path().join("fleet.ini");
    std::fs::write(
        &ini,
        format!(
            "[general]\nnet = 10.214.{}.0/24\ninterface = {veth}\n\n[bd{tag}]\nservices = redis\namount = {DECKIES}\n",
            20 + tag % 200
        ),
    )?;
    let started = Instant::now();
    let out = exec(
        Command::new(agent)
            .args(["deploy", "--driver", "docker", "--config"])
            .arg(&ini)
            .arg("--state-dir")
            .arg(&state),
        "decnet-agent deploy --driver docker",
    )?;
    let deckies: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| {
            let mut p = l.split(' ');
            Some((p.next()?.to_owned(), p.next()?.to_owned()))
        })
        .collect();
    if deckies.len() != DECKIES {
        bail!(
            "deploy printed {} deckies, not {DECKIES}:\n{out}",
            deckies.len()
        );
    }
    for (_, ip) in &deckies {
        redis_ping(ip, 6379).await?;
    }
    let deploy = started.elapsed();
    let mut total = 0.0;
    for (name, _) in &deckies {
        total += container_rss(&format!("decnet-{name}"))?;
    }
    Ok(DockerRun {
        deploy,
        rss_mb_per_decky: total / DECKIES as f64,
    })
}
