//! The durable event stream end to end: real outbox files, real QUIC, a real agent process
//! killed with SIGKILL mid-stream, and a master restarted mid-stream. Nothing may be lost;
//! duplicates may appear only where an acknowledgement was lost.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use decnet_mesh::bus::Broker;
use decnet_mesh::quic::{AgentLink, MasterConfig, MasterMesh};
use decnet_outbox::{Config as OutboxConfig, Outbox};
use mesh_common::roles::{
    Helper, ROLE, prepare_agent_dir, run_role_from_env, test_durable, window,
};
use mesh_common::sink::{MemorySink, runs};
use mesh_common::{Deployment, agent_config, eventually, fast_tuning};

/// Entry point of the helper processes this file starts; not a test of its own.
#[test]
#[ignore = "helper process: started by the tests in this file with DECNET_MESH_ROLE set"]
fn helper_role() {
    assert!(
        run_role_from_env(),
        "run only as a helper process (DECNET_MESH_ROLE unset)"
    );
}

fn master(
    d: &Deployment,
    listen: SocketAddr,
    sink: &Arc<MemorySink>,
) -> Result<MasterMesh, decnet_mesh::quic::MeshError> {
    let config = MasterConfig {
        listen,
        tuning: fast_tuning(),
        durable: test_durable(),
        ..MasterConfig::default()
    };
    MasterMesh::builder(config, &d.server, d.registry.clone(), Broker::default())
        .sink(sink.clone())
        .start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_delivers_every_record_once_and_trims_the_outbox() {
    let d = Deployment::new();
    let sink = Arc::new(MemorySink::default());
    let m = master(&d, "127.0.0.1:0".parse().unwrap(), &sink).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), OutboxConfig::default()).unwrap();
    const N: u64 = 20_000;
    for seq in 1..=N {
        assert_eq!(outbox.append(format!("ev-{seq}").as_bytes()).unwrap(), seq);
    }
    let id = d.enroll("sensor-30");
    let host = id.host().clone();
    let mut config = agent_config(m.local_addr().unwrap());
    config.durable = test_durable();
    let _link = AgentLink::builder(config, id, Broker::default())
        .durable(Arc::new(outbox.clone()))
        .start()
        .unwrap();
    eventually(Duration::from_secs(20), "all records committed", || {
        sink.distinct(&host) as u64 == N
    })
    .await;
    let dups = sink.verify(&host, N);
    assert!(
        dups.is_empty(),
        "no disruption, yet duplicates: {:?}",
        runs(&dups)
    );
    eventually(Duration::from_secs(5), "outbox fully acknowledged", || {
        outbox.acked() == N
    })
    .await;
    assert_eq!(outbox.first_unacked(), N + 1);
}

fn parse_kv(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_kill_9_and_master_restart_mid_stream_lose_nothing() {
    let d = Deployment::new();
    let sink = Arc::new(MemorySink::default());
    let m1 = master(&d, "127.0.0.1:0".parse().unwrap(), &sink).unwrap();
    let addr = m1.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = d.enroll("sensor-31");
    let host = id.host().clone();
    prepare_agent_dir(dir.path(), &id);
    const TOTAL: u64 = 60_000;
    let envs = [
        (ROLE, "agent".to_owned()),
        ("DECNET_MESH_DIR", dir.path().display().to_string()),
        ("DECNET_MESH_MASTER", addr.to_string()),
        ("DECNET_MESH_APPEND", TOTAL.to_string()),
        ("DECNET_MESH_RATE", "10000".to_owned()),
    ];

    // 1. The agent process streams; kill -9 it while records are flowing.
    let mut a1 = Helper::spawn("agent-1", "helper_role", &[], &envs);
    let start = tokio::task::block_in_place(|| a1.expect("start", Duration::from_secs(30)));
    assert_eq!(parse_kv(&start, "first_unacked"), 1);
    eventually(Duration::from_secs(30), "stream flowing", || {
        sink.distinct(&host) >= 10_000
    })
    .await;
    a1.kill9();
    let at_kill = sink.distinct(&host);
    assert!((at_kill as u64) < TOTAL, "killed mid-stream");

    // 2. It restarts on the same outbox and resumes at its first unacknowledged record.
    let a2 = Helper::spawn("agent-2", "helper_role", &[], &envs);
    let restart = tokio::task::block_in_place(|| a2.expect("start", Duration::from_secs(30)));
    let resumed_at = parse_kv(&restart, "first_unacked");
    assert!(resumed_at > 1, "acknowledgements persisted before the kill");
    assert!(
        resumed_at <= at_kill as u64 + 1,
        "resumes at or before what the master had"
    );

    // 3. The master restarts (same port, same sink, i.e. database) while records flow.
    eventually(Duration::from_secs(30), "stream flowing again", || {
        sink.distinct(&host) >= at_kill + 15_000
    })
    .await;
    m1.shutdown().await;
    drop(m1);
    let at_restart = sink.distinct(&host);
    let mut m2 = None;
    for _ in 0..100 {
        match master(&d, addr, &sink) {
            Ok(m) => {
                m2 = Some(m);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let _m2 = m2.expect("master restarted on the same port");
    assert!((at_restart as u64) < TOTAL, "restarted mid-stream");

    let done = tokio::task::block_in_place(|| a2.expect("done", Duration::from_secs(60)));
    let last: u64 = done.parse().unwrap();
    assert!(last >= TOTAL, "{last}");
    eventually(Duration::from_secs(60), "every record committed", || {
        sink.distinct(&host) as u64 >= last
    })
    .await;

    let dups = sink.verify(&host, last);
    let dup_runs = runs(&dups);
    eprintln!(
        "killed at {at_kill} committed, resumed at {resumed_at}, master restarted at {at_restart}; \
         {} duplicates in runs {dup_runs:?}",
        dups.len()
    );
    // Records acknowledged and persisted before the kill were never sent again.
    assert!(dups.iter().all(|s| *s >= resumed_at), "{dup_runs:?}");
    // At most one run of redelivery per disruption, each no longer than what can be in
    // flight unacknowledged plus acknowledgements not yet persisted by the killed agent.
    assert!(dup_runs.len() <= 2, "{dup_runs:?}");
    for (a, b) in &dup_runs {
        assert!(
            b - a < window() + 5_000,
            "redelivered run {a}..={b} exceeds the window"
        );
    }
}
