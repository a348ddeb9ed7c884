//! Enrollment end to end with the real binaries: a token from `decnet-master hosts
//! enroll-token`, `decnet-agent enroll`, `decnet-agent run` connecting over the QUIC mesh,
//! single use of the token, and revocation from the CLI closing the live link.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::{Master, Proc, command, run, tempdir};

#[test]
fn token_enroll_run_revoke_with_the_real_binaries() {
    let tmp = tempdir();
    let master = Master::up(tmp.path(), "[embedded]\ndemo = false\n");

    let bad = master.hosts(&["enroll-token", "--name", "Bad_Name"]);
    assert!(!bad.ok, "an invalid host name must be refused");
    assert!(
        bad.stderr.contains("^[a-z0-9][a-z0-9-]{0,62}$"),
        "{}",
        bad.stderr
    );

    let issued = master.hosts(&["enroll-token", "--name", "sensor-01", "--ttl", "15m"]);
    assert!(issued.ok, "enroll-token failed: {}", issued.stderr);
    let token = issued.stdout.trim().to_owned();
    assert!(token.starts_with("decnet1."), "{token}");

    let state = tmp.path().join("agent");
    let mut enroll = command("decnet-agent");
    enroll
        .args(["enroll", "--token", &token, "--state-dir"])
        .arg(&state);
    let enrolled = run(enroll);
    assert!(
        enrolled.ok,
        "enroll failed: {}\n{}",
        enrolled.stdout, enrolled.stderr
    );
    assert!(
        enrolled.stdout.contains("enrolled as sensor-01"),
        "{}",
        enrolled.stdout
    );
    let key_mode = std::fs::metadata(state.join("agent.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o077, 0, "the private key must be 0600");
    let agent_toml = std::fs::read_to_string(state.join("agent.toml")).unwrap();
    assert!(agent_toml.contains("sensor-01"), "{agent_toml}");

    // Single use: the same token again is refused, and nothing is overwritten.
    let replay_state = tmp.path().join("agent-replay");
    let mut replay = command("decnet-agent");
    replay
        .args(["enroll", "--token", &token, "--state-dir"])
        .arg(&replay_state);
    let replayed = run(replay);
    assert!(!replayed.ok, "a replayed token must be refused");
    assert!(
        replayed.stderr.contains("already used"),
        "{}",
        replayed.stderr
    );
    assert!(!replay_state.join("agent.key").exists());

    // A second token for an enrolled name is refused until the host is revoked.
    let dup = master.hosts(&["enroll-token", "--name", "sensor-01"]);
    assert!(!dup.ok && dup.stderr.contains("enrolled"), "{}", dup.stderr);

    let mut agent_cmd = command("decnet-agent");
    agent_cmd.args(["run", "--state-dir"]).arg(&state);
    let mut agent = Proc::spawn("decnet-agent", agent_cmd).unwrap();
    agent
        .wait_line("DECNET agent sensor-01 running", Duration::from_secs(30))
        .unwrap();
    master.wait_status("sensor-01", "online", Duration::from_secs(20));
    let rows = master.host_rows();
    let row = rows.iter().find(|r| r["name"] == "sensor-01").unwrap();
    assert_eq!(row["address"], "127.0.0.1");
    assert_eq!(row["cert_fingerprints"].as_array().unwrap().len(), 1);

    // A deployment from the master survives an agent restart.
    let token = master.api_token("enrollment-test-Passw0rd");
    let fleet = "[general]\nnet = 127.77.0.0/16\n\n[kept-01]\nip = 127.77.4.10\nservices = redis\n\n[kept-01.redis]\nport = 26380\n";
    let deployed = common::curl(&[
        "-X",
        "POST",
        "-H",
        &format!("authorization: Bearer {token}"),
        "-H",
        "content-type: text/plain",
        "--data-binary",
        fleet,
        &format!("{}/api/v1/deckies/deploy?host=sensor-01", master.api),
    ]);
    assert!(deployed.contains("\"id\""), "{deployed}");
    wait_for_redis("127.77.4.10", 26380);
    let status = agent.terminate(Duration::from_secs(10)).unwrap();
    assert!(
        status.success(),
        "agent exit: {status:?}\n{}",
        agent.stderr_text()
    );
    assert!(std::net::TcpStream::connect(("127.77.4.10", 26380)).is_err());
    let mut again = command("decnet-agent");
    again.args(["run", "--state-dir"]).arg(&state);
    let mut agent = Proc::spawn("decnet-agent", again).unwrap();
    agent
        .wait_line("DECNET agent sensor-01 running", Duration::from_secs(30))
        .unwrap();
    wait_for_redis("127.77.4.10", 26380);

    let revoked = master.hosts(&["revoke", "sensor-01"]);
    assert!(revoked.ok, "revoke failed: {}", revoked.stderr);
    let started = std::time::Instant::now();
    master.wait_status("sensor-01", "revoked", Duration::from_secs(5));
    // The live link is closed by the master within about a second of the revocation.
    let deadline = started + Duration::from_secs(5);
    loop {
        if master
            .proc
            .stderr_text()
            .contains("host revoked: link closed")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "link not closed:\n{}",
            master.proc.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "revocation took {:?}",
        started.elapsed()
    );
    let status = agent.terminate(Duration::from_secs(10)).unwrap();
    assert!(
        status.success(),
        "agent exit: {status:?}\n{}",
        agent.stderr_text()
    );
}

fn wait_for_redis(ip: &str, port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = std::process::Command::new("redis-cli")
            .args(["-h", ip, "-p", &port.to_string(), "PING"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("PONG") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no decky answers on {ip}:{port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
