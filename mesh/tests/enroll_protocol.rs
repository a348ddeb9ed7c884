//! Enrollment over real QUIC on loopback: the happy path and every refusal.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use decnet_mesh::enroll::{
    EnrollError, EnrollOptions, EnrollReply, EnrollRequest, EnrollmentServer, MemoryAuthority,
    Refusal, enroll,
};
use decnet_mesh::quic::LinkTuning;
use decnet_mesh::quic::endpoint::{client_endpoint_for, enrollment_client};
use decnet_mesh::quic::proto::{FrameReader, codec::write_message};
use decnet_pki::{
    AgentIdentity, CertificateAuthority, EnrollmentToken, HostName, HostRegistry, MASTER_DNS_NAME,
    NodeKey, PinDecision, ServerIdentity, TokenError,
};
use mesh_common::{DAY, Deployment, logs};

struct Enroller {
    d: Deployment,
    authority: Arc<MemoryAuthority>,
    server: EnrollmentServer,
}

impl Enroller {
    fn new() -> Self {
        let d = Deployment::new();
        let authority = Arc::new(MemoryAuthority::new(d.ca.clone(), d.registry.clone(), DAY));
        let server =
            EnrollmentServer::start("127.0.0.1:0".parse().unwrap(), &d.server, authority.clone())
                .unwrap();
        Enroller {
            d,
            authority,
            server,
        }
    }

    /// A token the master knows about, pointing at the test endpoint.
    fn token(&self, host: &str, ttl: Duration) -> EnrollmentToken {
        let addr = self.server.local_addr().unwrap().to_string();
        let token = EnrollmentToken::generate(
            vec![addr],
            self.d.ca.fingerprint(),
            host.parse().unwrap(),
            ttl,
            SystemTime::now(),
        )
        .unwrap();
        self.authority.add_token(token.record());
        token
    }
}

const TTL: Duration = Duration::from_secs(900);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_issues_a_pinned_certificate_for_a_local_key() {
    let e = Enroller::new();
    let token = e.token("sensor-01", TTL);
    // The token travels as the string the operator pastes.
    let pasted = EnrollmentToken::decode(&token.encode()).unwrap();
    let identity = enroll(&pasted, &EnrollOptions::default()).await.unwrap();
    assert_eq!(identity.host().as_str(), "sensor-01");
    assert_eq!(identity.ca_fingerprint(), e.d.ca.fingerprint());
    assert_eq!(
        e.d.registry.lookup(&identity.fingerprint()),
        PinDecision::Allowed {
            host: identity.host().clone()
        }
    );
    assert_eq!(e.authority.is_used(&token.hash()), Some(true));
    // Stored 0600 and loadable: what `decnet-agent enroll` writes.
    let dir = tempfile::tempdir().unwrap();
    identity.store(dir.path()).unwrap();
    let loaded = AgentIdentity::load(dir.path()).unwrap();
    assert_eq!(loaded.fingerprint(), identity.fingerprint());
    let logs = logs();
    assert!(
        logs.contains("agent enrolled") && logs.contains("sensor-01"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_token_is_refused_and_the_replay_logged() {
    let e = Enroller::new();
    let token = e.token("sensor-02", TTL);
    let first = enroll(&token, &EnrollOptions::default()).await.unwrap();
    let replay = enroll(&token, &EnrollOptions::default()).await;
    assert!(
        matches!(replay, Err(EnrollError::Refused(Refusal::AlreadyUsed))),
        "{replay:?}"
    );
    // The first certificate is still the only one pinned for the host.
    assert_eq!(
        e.d.registry.fingerprints(first.host()),
        vec![first.fingerprint()]
    );
    let logs = logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("replayed") && l.contains("sensor-02")),
        "replay logged:\n{logs}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("enrollment refused") && l.contains("already used")),
        "refusal logged:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_by_the_master_and_by_the_agent() {
    let e = Enroller::new();
    // The master's record expired although the agent's copy still looks valid.
    let token = e.token("sensor-03", TTL);
    let mut record = token.record();
    record.expires_at = SystemTime::now() - Duration::from_secs(1);
    e.authority.add_token(record);
    let r = enroll(&token, &EnrollOptions::default()).await;
    assert!(
        matches!(r, Err(EnrollError::Refused(Refusal::Expired))),
        "{r:?}"
    );
    assert!(e.d.registry.fingerprints(&token.host_name).is_empty());

    // A token that is visibly expired is not even sent.
    let mut old = e.token("sensor-04", TTL);
    old.expires_at = SystemTime::now() - Duration::from_secs(1);
    let r = enroll(&old, &EnrollOptions::default()).await;
    assert!(
        matches!(r, Err(EnrollError::Token(TokenError::Expired(_)))),
        "{r:?}"
    );
    assert_eq!(e.authority.is_used(&old.hash()), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_with_another_ca_is_not_trusted_and_learns_nothing() {
    let e = Enroller::new();
    let genuine = e.token("sensor-05", TTL);
    // A rogue endpoint with its own CA, holding the same token record (it cannot have the
    // secret: this checks the agent refuses before sending it).
    let rogue_ca = Arc::new(CertificateAuthority::generate("rogue").unwrap());
    let rogue_id = ServerIdentity::generate(&rogue_ca, &["127.0.0.1".into()], DAY).unwrap();
    let rogue_authority = Arc::new(MemoryAuthority::new(
        rogue_ca.clone(),
        e.d.registry.clone(),
        DAY,
    ));
    rogue_authority.add_token(genuine.record());
    let rogue = EnrollmentServer::start(
        "127.0.0.1:0".parse().unwrap(),
        &rogue_id,
        rogue_authority.clone(),
    )
    .unwrap();

    let options = EnrollOptions {
        master: Some(rogue.local_addr().unwrap().to_string()),
        ..EnrollOptions::default()
    };
    let r = enroll(&genuine, &options).await;
    let err = r.expect_err("rogue master must not be trusted");
    assert!(err.is_ca_pin_mismatch(), "{err}");
    assert_eq!(
        rogue_authority.is_used(&genuine.hash()),
        Some(false),
        "no request reached the rogue"
    );

    // The genuine master still accepts the untouched token.
    let identity = enroll(&genuine, &EnrollOptions::default()).await.unwrap();
    assert_eq!(identity.ca_fingerprint(), e.d.ca.fingerprint());
}

/// Sends a hand-made request, as a modified or hostile agent could.
async fn raw_request(e: &Enroller, request: &EnrollRequest) -> EnrollReply {
    let addr = e.server.local_addr().unwrap();
    let endpoint = client_endpoint_for(addr).unwrap();
    let config = enrollment_client(e.d.ca.fingerprint(), &LinkTuning::default()).unwrap();
    let conn = endpoint
        .connect_with(config, addr, MASTER_DNS_NAME)
        .unwrap()
        .await
        .unwrap();
    let (mut send, recv) = conn.open_bi().await.unwrap();
    write_message(&mut send, request).await.unwrap();
    send.finish().unwrap();
    let reply = FrameReader::new(recv)
        .message::<EnrollReply>()
        .await
        .unwrap();
    conn.close(0u32.into(), b"");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_unknown_tokens_and_mismatched_hosts_are_refused() {
    let e = Enroller::new();
    let token = e.token("sensor-06", TTL);
    let key = NodeKey::generate().unwrap();
    let csr = key.csr(&token.host_name).unwrap();
    let request = |host: &str, secret: &[u8]| EnrollRequest {
        secret: Bytes::copy_from_slice(secret),
        host_name: host.to_owned(),
        csr_pem: csr.clone(),
        agent_version: "t".into(),
    };

    for bad in [
        "Sensor-06",
        "sensor_06",
        "-x",
        "",
        &"a".repeat(64),
        "sensor.06",
    ] {
        let reply = raw_request(&e, &request(bad, token.secret.as_bytes())).await;
        assert!(
            matches!(reply, EnrollReply::Refused(Refusal::BadName(_))),
            "{bad:?}: {reply:?}"
        );
    }
    let logs = logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("enrollment refused") && l.contains("invalid host name")),
        "{logs}"
    );

    let reply = raw_request(&e, &request("sensor-06", &[7u8; 32])).await;
    assert_eq!(reply, EnrollReply::Refused(Refusal::UnknownToken));
    let reply = raw_request(&e, &request("sensor-06", &[7u8; 5])).await;
    assert_eq!(reply, EnrollReply::Refused(Refusal::UnknownToken));
    let reply = raw_request(&e, &request("sensor-07", token.secret.as_bytes())).await;
    assert!(
        matches!(reply, EnrollReply::Refused(Refusal::NameMismatch { ref token_host }) if token_host == "sensor-06"),
        "{reply:?}"
    );
    // A CSR for another name than the token's host.
    let other: HostName = "sensor-08".parse().unwrap();
    let mut wrong_csr = request("sensor-06", token.secret.as_bytes());
    wrong_csr.csr_pem = key.csr(&other).unwrap();
    let reply = raw_request(&e, &wrong_csr).await;
    assert!(
        matches!(reply, EnrollReply::Refused(Refusal::BadCsr(_))),
        "{reply:?}"
    );

    // None of that consumed the token.
    assert_eq!(e.authority.is_used(&token.hash()), Some(false));
    assert!(e.d.registry.fingerprints(&token.host_name).is_empty());
    enroll(&token, &EnrollOptions::default()).await.unwrap();
}
