//! The mesh link over real QUIC on loopback: registry of connected hosts, link states,
//! certificate pinning and revocation, reconnection, certificate rotation.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use decnet_mesh::bus::Broker;
use decnet_mesh::quic::{AgentLink, CaRenewer, LinkState, MasterMesh};
use decnet_pki::{AgentIdentity, HostRegistry, PinDecision};
use mesh_common::{Deployment, agent, agent_config, eventually, logs, wait_state, wait_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_connects_and_the_master_lists_it() {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let addr = master.local_addr().unwrap();
    let id = d.enroll("sensor-01");
    let fp = id.fingerprint();
    let host = id.host().clone();
    let before = std::time::SystemTime::now();
    let link = agent(id, addr, &Broker::default());

    let mut agent_state = link.state();
    let mut master_state = master.link_state(&host);
    assert!(!master_state.borrow().is_up());
    wait_up(&mut agent_state).await;
    let up = wait_up(&mut master_state).await;

    let hosts = master.hosts();
    assert_eq!(hosts.len(), 1);
    let h = &hosts[0];
    assert_eq!(h.host, host);
    assert_eq!(h.fingerprint, fp);
    assert_eq!(h.agent_version, "test-agent-1.0");
    assert!(h.connected_since >= before);
    assert_eq!(h.remote.ip(), addr.ip());
    let LinkState::Up { since, .. } = up else {
        unreachable!()
    };
    assert_eq!(since, h.connected_since);

    // RTT is measured and refreshed (every 100 ms here).
    eventually(Duration::from_secs(3), "rtt refreshed", || {
        master
            .host(&host)
            .is_some_and(|h| h.rtt > Duration::ZERO && h.rtt < Duration::from_secs(1))
    })
    .await;
    match &*agent_state.borrow() {
        LinkState::Up { rtt, .. } => assert!(*rtt < Duration::from_secs(1)),
        other => panic!("agent not up: {other:?}"),
    }

    // Orderly shutdown of the agent shows up on the master.
    link.shutdown().await;
    wait_state(&mut master_state, Duration::from_secs(3), |s| !s.is_up()).await;
    assert!(master.hosts().is_empty());
}

/// Watches `link` for `for_how_long`: it must never come up, nor appear on `master`.
async fn assert_never_up(link: &AgentLink, master: &MasterMesh, for_how_long: Duration) -> String {
    let host = link.identity().host().clone();
    let mut rx = link.state();
    let started = Instant::now();
    let mut last_down = String::new();
    while started.elapsed() < for_how_long {
        let changed = tokio::time::timeout(Duration::from_millis(50), rx.changed()).await;
        let state = rx.borrow_and_update().clone();
        assert!(!state.is_up(), "rejected agent came up: {state:?}");
        if let LinkState::Down { reason, .. } = state {
            last_down = reason;
        }
        assert!(
            master.host(&host).is_none(),
            "rejected agent listed by the master"
        );
        if let Ok(Err(_)) = changed {
            break;
        }
    }
    last_down
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_signed_but_unknown_certificate_is_rejected_and_logged() {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let stranger = d.issue("sensor-02");
    let fp = stranger.fingerprint().to_string();
    let link = agent(stranger, master.local_addr().unwrap(), &Broker::default());
    let reason = assert_never_up(&link, &master, Duration::from_secs(2)).await;
    assert!(!reason.is_empty(), "the agent reports why it is down");
    let logs = logs();
    assert!(
        logs.lines()
            .any(|l| l.contains(&fp) && l.contains("unknown")),
        "rejection logged with fingerprint and reason:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_certificate_is_rejected_and_logged() {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let id = d.enroll("sensor-03");
    let fp = id.fingerprint();
    d.registry.revoke(id.host());
    assert_eq!(d.registry.lookup(&fp), PinDecision::Revoked);
    let link = agent(id, master.local_addr().unwrap(), &Broker::default());
    assert_never_up(&link, &master, Duration::from_secs(2)).await;
    let logs = logs();
    assert!(
        logs.lines()
            .any(|l| l.contains(&fp.to_string()) && l.contains("revoked")),
        "rejection logged:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_closes_a_live_link_within_a_second() {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let other_id = d.enroll("sensor-05");
    let other = agent(other_id, master.local_addr().unwrap(), &Broker::default());
    let id = d.enroll("sensor-04");
    let host = id.host().clone();
    let link = agent(id, master.local_addr().unwrap(), &Broker::default());
    let mut agent_state = link.state();
    let mut master_state = master.link_state(&host);
    wait_up(&mut agent_state).await;
    wait_up(&mut master_state).await;
    wait_up(&mut other.state()).await;

    let revoked_at = Instant::now();
    d.registry.revoke(&host);
    let down = wait_state(&mut master_state, Duration::from_secs(1), |s| !s.is_up()).await;
    let master_saw = revoked_at.elapsed();
    wait_state(&mut agent_state, Duration::from_secs(1), |s| !s.is_up()).await;
    let agent_saw = revoked_at.elapsed();
    assert!(master_saw < Duration::from_secs(1), "{master_saw:?}");
    assert!(agent_saw < Duration::from_secs(1), "{agent_saw:?}");
    let LinkState::Down { reason, .. } = down else {
        unreachable!()
    };
    assert!(reason.contains("revoked"), "{reason}");

    // It stays out: redials fail the pin; the other host is untouched.
    assert_never_up(&link, &master, Duration::from_millis(1500)).await;
    assert!(other.state().borrow().is_up());
    assert_eq!(master.hosts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_redials_after_the_master_restarts() {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let addr = master.local_addr().unwrap();
    let id = d.enroll("sensor-06");
    let host = id.host().clone();
    let link = agent(id, addr, &Broker::default());
    let mut state = link.state();
    wait_up(&mut state).await;
    let first = master.host(&host).unwrap().connected_since;

    master.shutdown().await;
    drop(master);
    wait_state(&mut state, Duration::from_secs(3), |s| !s.is_up()).await;
    // Same port again; the UDP socket is released once the old endpoint is gone.
    let mut config = d.master_config();
    config.listen = addr;
    let restarted = loop {
        match MasterMesh::builder(
            config.clone(),
            &d.server,
            d.registry.clone(),
            Broker::default(),
        )
        .start()
        {
            Ok(m) => break m,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    wait_up(&mut state).await;
    let mut master_state = restarted.link_state(&host);
    wait_up(&mut master_state).await;
    assert!(restarted.host(&host).unwrap().connected_since > first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_keeps_the_link_up_and_the_next_dial_presents_the_new_certificate() {
    let d = Deployment::new();
    let renewer = Arc::new(CaRenewer::new(
        d.ca.clone(),
        d.registry.clone(),
        mesh_common::DAY,
    ));
    let master = MasterMesh::builder(
        d.master_config(),
        &d.server,
        d.registry.clone(),
        Broker::default(),
    )
    .renewer(renewer)
    .start()
    .unwrap();
    let id = d.enroll("sensor-07");
    let host = id.host().clone();
    let old_fp = id.fingerprint();
    let dir = tempfile::tempdir().unwrap();
    id.store(dir.path()).unwrap();
    let mut config = agent_config(master.local_addr().unwrap());
    config.state_dir = Some(dir.path().to_path_buf());
    let link = AgentLink::builder(config, id, Broker::default())
        .start()
        .unwrap();
    let mut state = link.state();
    let LinkState::Up { since, .. } = wait_up(&mut state).await else {
        unreachable!()
    };
    // The agent sees the link up a moment before the master registers it.
    eventually(Duration::from_secs(5), "master registers the host", || {
        master.host(&host).is_some()
    })
    .await;
    let connected_since = master.host(&host).unwrap().connected_since;

    let new_fp = link.renew_certificate().await.unwrap();
    assert_ne!(new_fp, old_fp);
    assert_eq!(link.identity().fingerprint(), new_fp);
    // Stored for the next start of the agent.
    assert_eq!(
        AgentIdentity::load(dir.path()).unwrap().fingerprint(),
        new_fp
    );
    // Both pinned during the overlap.
    assert!(matches!(
        d.registry.lookup(&new_fp),
        PinDecision::Allowed { .. }
    ));
    assert!(matches!(
        d.registry.lookup(&old_fp),
        PinDecision::Allowed { .. }
    ));

    // The link did not drop: same connection on both ends, still on the old certificate.
    tokio::time::sleep(Duration::from_millis(300)).await;
    match &*state.borrow() {
        LinkState::Up { since: s, .. } => assert_eq!(*s, since),
        other => panic!("link dropped during renewal: {other:?}"),
    }
    let h = master.host(&host).unwrap();
    assert_eq!(h.connected_since, connected_since);
    assert_eq!(h.fingerprint, old_fp);

    // The next dial presents the new certificate; the master then retires the old one.
    link.redial();
    eventually(
        Duration::from_secs(5),
        "reconnected with the new certificate",
        || master.host(&host).is_some_and(|h| h.fingerprint == new_fp),
    )
    .await;
    assert_eq!(d.registry.lookup(&old_fp), PinDecision::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_only_the_offending_stream_or_link() {
    use decnet_mesh::quic::endpoint::{agent_client_config, client_endpoint_for};
    use decnet_mesh::quic::proto::FrameReader;
    use decnet_mesh::quic::proto::{
        Hello, Open, PROTOCOL_VERSION, ToAgent, codec::write_message, encode_one,
    };

    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let addr = master.local_addr().unwrap();
    let id = d.enroll("sensor-08");
    let endpoint = client_endpoint_for(addr).unwrap();
    let config = agent_client_config(&id, &mesh_common::fast_tuning()).unwrap();
    let conn = endpoint
        .connect_with(config, addr, decnet_pki::MASTER_DNS_NAME)
        .unwrap()
        .await
        .unwrap();

    // An oversized length prefix as a stream's first frame: that stream is reset.
    let (mut send, recv) = conn.open_bi().await.unwrap();
    send.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    let mut reader = FrameReader::new(recv);
    assert!(reader.next().await.is_err(), "stream reset");
    // Undecodable CBOR: reset too; the connection survives both.
    let (mut send, recv) = conn.open_bi().await.unwrap();
    send.write_all(&[0, 0, 0, 3, 0xff, 0xfe, 0xfd])
        .await
        .unwrap();
    assert!(FrameReader::new(recv).next().await.is_err());
    assert!(
        conn.close_reason().is_none(),
        "one bad stream does not close the link"
    );

    // A greeted session that then sends garbage: the master closes this link.
    let (mut send, recv) = conn.open_bi().await.unwrap();
    let hello = Open::Session(Hello {
        protocol: PROTOCOL_VERSION,
        agent_version: "raw".into(),
    });
    write_message(&mut send, &hello).await.unwrap();
    let mut reader = FrameReader::new(recv);
    assert!(matches!(
        reader.message::<ToAgent>().await.unwrap(),
        ToAgent::Welcome(_)
    ));
    eventually(Duration::from_secs(3), "raw client listed", || {
        master.host(id.host()).is_some()
    })
    .await;
    let mut junk = encode_one(&"not a session frame").unwrap().to_vec();
    junk.extend_from_slice(&[0, 0, 0, 1, 0xff]);
    send.write_all(&junk).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(3), conn.closed())
        .await
        .unwrap();
    assert!(
        matches!(&closed, quinn::ConnectionError::ApplicationClosed(c) if c.error_code == quinn::VarInt::from_u32(3)),
        "{closed:?}"
    );

    // The master carries on: a well-behaved agent connects.
    let other = d.enroll("sensor-09");
    let link = agent(other, addr, &Broker::default());
    wait_up(&mut link.state()).await;
    eventually(Duration::from_secs(3), "agent listed", || {
        master.hosts().len() == 1
    })
    .await;
}
