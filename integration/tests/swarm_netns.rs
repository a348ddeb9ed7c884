//! Issue 9's proof, run as a test: `decnet-swarm-demo` builds the swarm in network namespaces
//! (root needed, as in CI), attacks it, cuts sensor-01 off for 30 s, SIGKILLs sensor-02's
//! agent, restarts PostgreSQL, and reports; every event must be stored exactly once, and an
//! OTLP receiver must get one trace per attacker connection across every hop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

#[test]
fn swarm_survives_partition_agent_kill_and_database_restart() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test builds network namespaces and must run as root (CI does)"
    );
    let started = Instant::now();
    let out = common::run({
        let mut cmd = common::command("decnet-swarm-demo");
        cmd.args(["--partition-secs", "30"]);
        cmd
    });
    eprintln!("{}", out.stderr);
    assert!(out.ok, "the demo failed:\n{}", out.stderr);
    let line = out.stdout.lines().last().unwrap();
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(report["hosts"], 2, "{report}");
    assert_eq!(report["deckies"], 6, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert_eq!(report["missing"], 0, "{report}");
    assert!(
        report["events_expected"].as_u64().unwrap() > 100,
        "{report}"
    );
    assert_eq!(
        report["events_stored"], report["events_expected"],
        "{report}"
    );
    assert_eq!(
        report["faults_survived"],
        serde_json::json!(["partition", "agent_kill", "postgres_restart"])
    );
    assert!(report["attackers"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["credentials"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["transcript_replayed"], true);
    // One attacker connection is one trace: decky → agent → mesh → master ingest.
    let trace: Vec<String> = serde_json::from_value(report["trace"].clone()).unwrap();
    for span in [
        "decky.connection@decnet-agent-",
        "agent.outbox.append@decnet-agent-",
        "mesh.durable.deliver@decnet-master",
        "master.ingest.commit@decnet-master",
    ] {
        assert!(
            trace.iter().any(|t| t.starts_with(span)),
            "{span} missing from {trace:?}"
        );
    }
    eprintln!("swarm demo took {:?}", started.elapsed());
}
