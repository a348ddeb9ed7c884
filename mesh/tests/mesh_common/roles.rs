//! Helper processes: the test binary re-executes itself with `DECNET_MESH_ROLE` set, so a
//! test has a real agent (or master) process it can `kill -9` or run in a network namespace.
//!
//! An agent process appends `ev-{seq}` records to its outbox at a steady rate, streams them
//! to the master, and prints `ROLE ...` progress lines on stdout.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use decnet_mesh::bus::Broker;
use decnet_mesh::quic::{AgentLink, DurableTuning, MasterConfig, MasterMesh};
use decnet_outbox::{Config as OutboxConfig, Outbox};
use decnet_pki::{
    AgentIdentity, CertificateAuthority, Fingerprint, HostName, MemoryRegistry, ServerIdentity,
};

use super::sink::MemorySink;
use super::{DAY, agent_config, fast_tuning, init};

pub const ROLE: &str = "DECNET_MESH_ROLE";

/// Small windows so that "duplicates only where an ack was lost" is a tight bound.
pub fn test_durable() -> DurableTuning {
    DurableTuning {
        max_batch_records: 256,
        max_inflight_batches: 8,
        ..DurableTuning::default()
    }
}

/// Records that can be in flight unacknowledged at once.
pub fn window() -> u64 {
    let t = test_durable();
    (t.max_batch_records * t.max_inflight_batches) as u64
}

/// Wall-clock seconds within the minute, to line up logs of several processes.
pub fn clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:06.3}", (now.as_millis() % 1_000_000) as f64 / 1000.0)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

/// Runs the role named in the environment, if any; returns false when not a helper.
pub fn run_role_from_env() -> bool {
    let Ok(role) = std::env::var(ROLE) else {
        return false;
    };
    init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match role.as_str() {
        "agent" => rt.block_on(agent_role()),
        "master" => rt.block_on(master_role()),
        other => panic!("unknown role {other}"),
    }
    true
}

/// `DIR/identity` (agent identity), `DIR/outbox`; appends up to `APPEND` records at `RATE`/s.
async fn agent_role() {
    let dir = PathBuf::from(env("DECNET_MESH_DIR"));
    let master = env("DECNET_MESH_MASTER");
    let total: u64 = env("DECNET_MESH_APPEND").parse().unwrap();
    let rate: u64 = env("DECNET_MESH_RATE").parse().unwrap();
    let identity = AgentIdentity::load(&dir.join("identity")).unwrap();
    let outbox = Outbox::open(dir.join("outbox"), OutboxConfig::default()).unwrap();
    println!(
        "ROLE start first_unacked={} next_seq={}",
        outbox.first_unacked(),
        outbox.next_seq()
    );
    let mut config = agent_config(master.parse().unwrap());
    config.durable = test_durable();
    let link = AgentLink::builder(config, identity, Broker::default())
        .durable(Arc::new(outbox.clone()))
        .start()
        .unwrap();
    let mut states = link.state();
    let born = Instant::now();
    tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let s = states.borrow_and_update().clone();
            if !matches!(s, decnet_mesh::quic::LinkState::Up { .. })
                || std::env::var("DECNET_MESH_TRACE").is_ok()
            {
                eprintln!(
                    "[{}] +{:.3}s link {s}",
                    clock(),
                    born.elapsed().as_secs_f64()
                );
            }
        }
    });
    let started = Instant::now();
    let first = outbox.next_seq();
    let mut appended = 0u64;
    while outbox.next_seq() <= total {
        // Steady rate: catch up to where the clock says we should be, in chunks.
        let due = first + (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while outbox.next_seq() <= total.min(due) {
            let seq = outbox.next_seq();
            outbox.append(format!("ev-{seq}").as_bytes()).unwrap();
            appended += 1;
            if appended.is_multiple_of(500) {
                let durable = outbox.sync_async().await.unwrap();
                println!("ROLE durable {durable}");
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let durable = outbox.sync_async().await.unwrap();
    println!("ROLE done {durable}");
    // Keep streaming until killed.
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// `DIR/ca` (CA), `DIR/pins` (`host fingerprint` lines), listens on `LISTEN`, writes the
/// sink to `DIR/sink.log`.
async fn master_role() {
    let dir = PathBuf::from(env("DECNET_MESH_DIR"));
    let ca = CertificateAuthority::load(&dir.join("ca")).unwrap();
    let server = ServerIdentity::generate(&ca, &[], DAY).unwrap();
    let registry = Arc::new(MemoryRegistry::new());
    for line in std::fs::read_to_string(dir.join("pins")).unwrap().lines() {
        let (host, fp) = line.split_once(' ').unwrap();
        registry
            .allow(
                &host.parse::<HostName>().unwrap(),
                fp.parse::<Fingerprint>().unwrap(),
            )
            .unwrap();
    }
    let sink = Arc::new(MemorySink::with_file(&dir.join("sink.log")));
    let config = MasterConfig {
        listen: env("DECNET_MESH_LISTEN").parse().unwrap(),
        tuning: fast_tuning(),
        durable: test_durable(),
        ..MasterConfig::default()
    };
    let _master = MasterMesh::builder(config, &server, registry, Broker::default())
        .sink(sink)
        .start()
        .unwrap();
    println!("ROLE listening");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// A helper process and the `ROLE` lines it prints; killed (SIGKILL) on drop.
pub struct Helper {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub name: String,
}

impl Helper {
    /// Starts this test binary as `role`, running test `entry`, optionally under a prefix
    /// command (e.g. `ip netns exec NS`).
    pub fn spawn(name: &str, entry: &str, prefix: &[&str], envs: &[(&str, String)]) -> Helper {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args([
            entry,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest may print `test helper_role ... ` without a newline before it.
                if let Some(at) = line.find("ROLE ")
                    && tx.send(line[at + 5..].to_owned()).is_err()
                {
                    break;
                }
            }
        });
        Helper {
            child,
            lines: rx,
            name: name.to_owned(),
        }
    }

    /// Waits for a `ROLE` line starting with `prefix`; returns the rest of the line.
    pub fn expect(&self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(e) => panic!("{}: no `{prefix}` line within {within:?} ({e})", self.name),
            }
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill9(&mut self) {
        // SIGKILL: no destructor, no flush, no goodbye to the master.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Stores `identity` under `dir/identity` for an agent helper.
pub fn prepare_agent_dir(dir: &Path, identity: &AgentIdentity) {
    identity.store(&dir.join("identity")).unwrap();
}
