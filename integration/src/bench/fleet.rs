//! `decnet-bench fleet`: the `local` driver of `decnet-agent`, measured from outside.
//!
//! Each run starts the real `decnet-agent deploy --driver local --foreground`
//! on an INI fleet of N deckies (`amount = N`, each running redis on port
//! 16379 and http on port 10080, addresses from 127.77.100.10 on; ssh is
//! left out because its per-decky host-key generation would dominate):
//!
//! * `local_deploy_100_ms`: from spawning the agent for 100 deckies until all
//!   100 `NAME IP services` lines are printed and every decky has answered a
//!   redis `PING` with `+PONG` on its own address (process start included).
//! * `local_teardown_100_ms`: from SIGTERM to the agent's exit, same fleet.
//! * `local_rss_mb_per_decky`: VmRSS of the agent holding 1,000 deckies, all
//!   answered once, divided by 1,000.
//!
//! * `local_max_deckies`: the largest fleet (1,000, 2,000, 3,500, 5,000; capped at
//!   5,000) that came up with every decky answering; the first size that fails ends
//!   the search and its error is logged.
//! * `docker_deploy_20_ms`, `docker_rss_mb_per_decky`: see [`super::fleet_docker`].
//!
//! The agent is the release `decnet-agent` next to this `decnet-bench`
//! (`cargo build --release -p decnet-agent -p decnet-integration`). 1,000
//! deckies need about 2,100 file descriptors (`ulimit -n`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::report::{Better, Metric, Report};

const PORT: u16 = 16379;
const START_LIMIT: Duration = Duration::from_secs(120);

/// `decnet-agent` next to this binary.
pub(crate) fn agent_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate decnet-bench")?;
    let bin = exe.with_file_name("decnet-agent");
    if !bin.is_file() {
        bail!(
            "{} not found: build it next to decnet-bench with `cargo build --release -p decnet-agent`",
            bin.display()
        );
    }
    Ok(bin)
}

/// VmRSS of `pid` in MB.
pub(crate) fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmRSS missing from /proc/PID/status")?;
    Ok(kb / 1024.0)
}

async fn ping(ip: &str) -> anyhow::Result<()> {
    redis_ping(ip, PORT).await
}

/// One redis `PING` answered with `+PONG` at `ip:port`.
pub(crate) async fn redis_ping(ip: &str, port: u16) -> anyhow::Result<()> {
    let mut s = TcpStream::connect((ip, port))
        .await
        .with_context(|| format!("connect {ip}:{port}"))?;
    s.write_all(b"PING\r\n").await?;
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).await?;
    if &buf != b"+PONG\r\n" {
        bail!("{ip}: unexpected reply {:?}", String::from_utf8_lossy(&buf));
    }
    Ok(())
}

/// What one fleet run measured.
struct Run {
    deploy: Duration,
    teardown: Duration,
    rss_mb: f64,
}

async fn run_fleet(agent: &PathBuf, n: usize) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let ini = dir.path().join("fleet.ini");
    std::fs::write(
        &ini,
        format!(
            "[general]\nnet = 127.77.0.0/16\nip_start = 127.77.100.10\n\n\
             [bench]\nservices = redis, http\namount = {n}\n\n\
             [bench.redis]\nport = {PORT}\n\n[bench.http]\nport = 10080\n"
        ),
    )?;
    let started = Instant::now();
    let mut child = Command::new(agent)
        .args(["deploy", "--driver", "local", "--foreground", "--config"])
        .arg(&ini)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start decnet-agent")?;
    let pid = child.id().context("decnet-agent has no pid")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut ips = Vec::with_capacity(n);
    while ips.len() < n {
        let line = tokio::time::timeout(START_LIMIT, lines.next_line())
            .await
            .context("deckies took too long to start")??
            .context("decnet-agent exited before all deckies started")?;
        let mut parts = line.split(' ');
        if let (Some(_name), Some(ip), Some(_services)) = (parts.next(), parts.next(), parts.next())
        {
            ips.push(ip.to_owned());
        }
    }
    // Keep draining the event lines so the agent's writer never stalls.
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut probes = tokio::task::JoinSet::new();
    for ip in ips {
        probes.spawn(async move { ping(&ip).await });
    }
    while let Some(r) = probes.join_next().await {
        r??;
    }
    let deploy = started.elapsed();
    let rss_mb = rss_mb(pid)?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid)?),
        nix::sys::signal::Signal::SIGTERM,
    )?;
    let stopping = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .context("decnet-agent did not stop within 60 s")??;
    let teardown = stopping.elapsed();
    drain.abort();
    if !status.success() {
        bail!("decnet-agent exited with {status}");
    }
    Ok(Run {
        deploy,
        teardown,
        rss_mb,
    })
}

/// Runs the fleet benchmark.
pub async fn run() -> anyhow::Result<Report> {
    let agent = agent_binary()?;
    let hundred = run_fleet(&agent, 100).await?;
    let thousand = run_fleet(&agent, 1000).await?;
    let mut max: u32 = 0;
    for n in [1000u32, 2000, 3500, 5000] {
        match run_fleet(&agent, n as usize).await {
            Ok(_) => max = n,
            Err(e) => {
                tracing::warn!(deckies = n, error = %format!("{e:#}"), "local fleet size not reached");
                break;
            }
        }
    }
    let docker = super::fleet_docker::run(&agent).await?;
    Ok(Report {
        bench: "fleet".into(),
        metrics: vec![
            Metric::absolute(
                "local_deploy_100_ms",
                "ms",
                hundred.deploy.as_secs_f64() * 1000.0,
                Better::Lower,
                2000.0,
            ),
            Metric::absolute(
                "local_teardown_100_ms",
                "ms",
                hundred.teardown.as_secs_f64() * 1000.0,
                Better::Lower,
                2000.0,
            ),
            Metric::absolute(
                "local_rss_mb_per_decky",
                "MB",
                thousand.rss_mb / 1000.0,
                Better::Lower,
                5.0,
            ),
            Metric::informational("local_max_deckies", "deckies", f64::from(max)),
            Metric::informational(
                "docker_deploy_20_ms",
                "ms",
                docker.deploy.as_secs_f64() * 1000.0,
            ),
            Metric::absolute(
                "docker_rss_mb_per_decky",
                "MB",
                docker.rss_mb_per_decky,
                Better::Lower,
                15.0,
            ),
        ],
    })
}
