//! The agent `decnet-master up` runs beside itself: host `local`, enrolled through the real
//! enrollment endpoint, running the demo fleet on loopback addresses.
//!
//! It is the `decnet-agent` binary in a child process (found next to `decnet-master`), so the
//! demo exercises exactly the production path: token, enrollment, QUIC mesh, outbox, ingest.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::config::EmbeddedConfig;
use crate::store::Store;
use crate::store::hosts::{self, HostStatus};
use crate::swarm::{Enrollment, tokens};

/// Host name of the embedded agent.
pub const HOST: &str = "local";

/// The running embedded agent.
#[derive(Debug)]
pub struct EmbeddedAgent {
    child: Child,
}

fn agent_binary(config: &EmbeddedConfig) -> Option<PathBuf> {
    if let Some(bin) = &config.agent_bin {
        return Some(bin.clone());
    }
    let exe = std::env::current_exe().ok()?;
    let sibling = exe.parent()?.join("decnet-agent");
    sibling.exists().then_some(sibling)
}

impl EmbeddedAgent {
    /// Enrolls (first start) and starts the agent with the demo fleet; `None` when the demo is
    /// off or no agent binary is installed.
    pub async fn start(
        config: &EmbeddedConfig,
        data_dir: &Path,
        store: &Store,
        enrollment: &Enrollment,
    ) -> anyhow::Result<Option<EmbeddedAgent>> {
        if !config.demo {
            return Ok(None);
        }
        let Some(bin) = agent_binary(config) else {
            tracing::warn!(
                "no decnet-agent next to decnet-master (embedded.agent_bin): no demo fleet"
            );
            return Ok(None);
        };
        let state = data_dir.join("agent");
        if !state.join(decnet_pki::AGENT_KEY_FILE).exists() {
            enroll(&bin, &state, store, enrollment).await?;
        }
        let mut cmd = Command::new(&bin);
        cmd.arg("run")
            .arg("--state-dir")
            .arg(&state)
            .arg("--demo")
            .arg("--demo-first-ip")
            .arg(config.demo_first_ip.to_string());
        if let Some(offset) = config.demo_port_offset {
            cmd.arg("--demo-port-offset").arg(offset.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        if let Some(out) = child.stdout.take() {
            // The agent prints `NAME IP services` per decky: pass them on to the operator.
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.starts_with("DECNET agent") {
                        tracing::info!(agent = %line, "embedded agent");
                    } else {
                        println!("demo decky: {line}");
                    }
                }
            });
        }
        tracing::info!(pid = child.id(), "embedded agent started");
        Ok(Some(EmbeddedAgent { child }))
    }

    /// SIGTERM, then SIGKILL after ten seconds.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(pid.cast_signed());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(status)) => tracing::info!(%status, "embedded agent stopped"),
            _ => {
                tracing::warn!("embedded agent did not stop in time; killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

async fn enroll(
    bin: &Path,
    state: &Path,
    store: &Store,
    enrollment: &Enrollment,
) -> anyhow::Result<()> {
    // A previous embedded agent whose state was deleted: start it afresh.
    if let Some(host) = hosts::by_name(store, HOST).await?
        && host.status != HostStatus::Revoked
    {
        hosts::revoke(store, host.id).await?;
    }
    let token = tokens::create(store, enrollment, HOST, Duration::from_secs(300), None).await?;
    let out = Command::new(bin)
        .arg("enroll")
        .arg("--token")
        .arg(&token.token)
        .arg("--state-dir")
        .arg(state)
        .arg("--force")
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "the embedded agent could not enroll: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    tracing::info!(host = HOST, "embedded agent enrolled");
    Ok(())
}
