//! Mesh mTLS over real loopback TCP: CA chain + registry pin on the master side.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{DAY, Deployment, LogCapture, handshake};
use decnet_pki::tls::{ALPN_ENROLL, ALPN_MESH, mesh_client_config, mesh_server_config};
use decnet_pki::{
    CertificateAuthority, HostRegistry, MASTER_DNS_NAME, NodeKey, PinDecision, ServerIdentity,
    peer_identity,
};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

fn server_config(d: &Deployment) -> rustls::ServerConfig {
    mesh_server_config(&d.server, d.registry.clone(), &[ALPN_MESH]).unwrap()
}

fn alert(e: &common::Failure) -> Option<AlertDescription> {
    match e.tls {
        Some(rustls::Error::AlertReceived(a)) => Some(a),
        _ => None,
    }
}

#[test]
fn registered_agent_connects_and_is_identified() {
    let d = Deployment::new("t");
    let agent = d.register("sensor-01");
    let client = mesh_client_config(&agent, &[ALPN_MESH]).unwrap();
    let out = handshake(server_config(&d), client, MASTER_DNS_NAME);
    let server = out.server.expect("server side");
    let client = out.client.expect("client side");
    assert_eq!(server.alpn.as_deref(), Some(ALPN_MESH));
    assert_eq!(client.alpn.as_deref(), Some(ALPN_MESH));
    let (host, fp) = peer_identity(&server.peer_certs).unwrap();
    assert_eq!(host.as_str(), "sensor-01");
    assert_eq!(fp, agent.fingerprint());
    assert_eq!(
        d.registry.lookup(&fp),
        PinDecision::Allowed { host: host.clone() }
    );
    // The agent sees the master's chain: leaf then CA.
    assert_eq!(client.peer_certs[1], *d.ca.cert_der());
}

#[test]
fn ca_signed_but_unregistered_is_rejected_and_logged() {
    let d = Deployment::new("t");
    let _other = d.register("sensor-01");
    let stranger = d.enroll("sensor-02");
    let client = mesh_client_config(&stranger, &[ALPN_MESH]).unwrap();
    let logs = LogCapture::default();
    let out = logs.run(|| handshake(server_config(&d), client, MASTER_DNS_NAME));
    let err = out.server.expect_err("server must refuse");
    assert_eq!(
        err.tls,
        Some(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure
        ))
    );
    let client_err = out.client.expect_err("client must see the refusal");
    assert!(alert(&client_err).is_some(), "{client_err:?}");
    let text = logs.text();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains(&stranger.fingerprint().to_string()), "{text}");
    assert!(text.contains("unknown"), "{text}");
    assert!(text.contains("sensor-02"), "{text}");
}

#[test]
fn revoked_agent_is_rejected_and_logged() {
    let d = Deployment::new("t");
    let agent = d.register("sensor-01");
    // Connects before revocation...
    let ok = handshake(
        server_config(&d),
        mesh_client_config(&agent, &[ALPN_MESH]).unwrap(),
        MASTER_DNS_NAME,
    );
    assert!(ok.both_ok(), "{ok:?}");
    // ...and not after.
    assert_eq!(d.registry.revoke(agent.host()), vec![agent.fingerprint()]);
    let logs = LogCapture::default();
    let out = logs.run(|| {
        handshake(
            server_config(&d),
            mesh_client_config(&agent, &[ALPN_MESH]).unwrap(),
            MASTER_DNS_NAME,
        )
    });
    assert_eq!(
        out.server.expect_err("revoked").tls,
        Some(rustls::Error::InvalidCertificate(CertificateError::Revoked))
    );
    let client_err = out.client.expect_err("client sees it");
    assert_eq!(
        alert(&client_err),
        Some(AlertDescription::CertificateRevoked)
    );
    let text = logs.text();
    assert!(text.contains(&agent.fingerprint().to_string()), "{text}");
    assert!(text.contains("revoked"), "{text}");
}

#[test]
fn certificate_from_another_ca_is_rejected_even_if_pinned() {
    let d = Deployment::new("t");
    let rogue = Deployment::new("t");
    let foreign = rogue.enroll("sensor-01");
    // Even a registry entry for the foreign fingerprint must not let it in: the chain comes first.
    d.registry
        .allow(foreign.host(), foreign.fingerprint())
        .unwrap();
    // A client that trusts the real master but presents the rogue CA's certificate and chain.
    let mut roots = RootCertStore::empty();
    roots.add(d.ca.cert_der().clone()).unwrap();
    let mut client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![foreign.cert_der().clone(), rogue.ca.cert_der().clone()],
                foreign.key().private_key_der(),
            )
            .unwrap();
    client.alpn_protocols = vec![ALPN_MESH.to_vec()];
    let logs = LogCapture::default();
    let out = logs.run(|| handshake(server_config(&d), client, MASTER_DNS_NAME));
    let err = out.server.expect_err("foreign CA");
    assert!(
        matches!(
            err.tls,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature
            ))
        ),
        "{err:?}"
    );
    assert!(out.client.is_err());
    assert!(
        logs.text()
            .contains("does not verify against the DECNET CA")
    );
}

#[test]
fn agent_without_a_client_certificate_is_rejected() {
    let d = Deployment::new("t");
    let mut roots = RootCertStore::empty();
    roots.add(d.ca.cert_der().clone()).unwrap();
    let mut client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    client.alpn_protocols = vec![ALPN_MESH.to_vec()];
    let out = handshake(server_config(&d), client, MASTER_DNS_NAME);
    assert!(
        matches!(out.server, Err(ref e) if e.tls == Some(rustls::Error::NoCertificatesPresented)),
        "{:?}",
        out.server
    );
}

#[test]
fn agent_refuses_a_master_from_another_ca() {
    let d = Deployment::new("t");
    let agent = d.register("sensor-01");
    let rogue = Deployment::new("t");
    // The rogue master even pins the agent; the agent must still refuse it.
    rogue
        .registry
        .allow(agent.host(), agent.fingerprint())
        .unwrap();
    let out = handshake(
        server_config(&rogue),
        mesh_client_config(&agent, &[ALPN_MESH]).unwrap(),
        MASTER_DNS_NAME,
    );
    let err = out.client.expect_err("agent trusts only its CA");
    assert!(
        matches!(
            err.tls,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature
            ))
        ),
        "{err:?}"
    );
    assert!(out.server.is_err());
}

#[test]
fn agent_refuses_a_master_certificate_for_another_name() {
    let d = Deployment::new("t");
    let agent = d.register("sensor-01");
    let out = handshake(
        server_config(&d),
        mesh_client_config(&agent, &[ALPN_MESH]).unwrap(),
        "not-the-master.example",
    );
    assert!(
        matches!(
            out.client,
            Err(ref e) if matches!(e.tls, Some(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })))
        ),
        "{:?}",
        out.client
    );
}

#[test]
fn alpn_mismatch_fails() {
    let d = Deployment::new("t");
    let agent = d.register("sensor-01");
    let out = handshake(
        server_config(&d),
        mesh_client_config(&agent, &[ALPN_ENROLL]).unwrap(),
        MASTER_DNS_NAME,
    );
    assert!(
        matches!(out.server, Err(ref e) if e.tls == Some(rustls::Error::NoApplicationProtocol)),
        "{:?}",
        out.server
    );
}

#[test]
fn master_certificate_cannot_be_used_as_an_agent_pin() {
    // A serverAuth+clientAuth master cert chains to the CA; pinning it under a host name must
    // still fail because the certificate names no agent host.
    let d = Deployment::new("t");
    let master_key = NodeKey::generate().unwrap();
    let master_cert =
        d.ca.issue_master_server_cert(&master_key, &[], DAY)
            .unwrap();
    d.registry
        .allow(&"sensor-01".parse().unwrap(), master_cert.fingerprint)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(d.ca.cert_der().clone()).unwrap();
    let mut client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![master_cert.der.clone()], master_key.private_key_der())
            .unwrap();
    client.alpn_protocols = vec![ALPN_MESH.to_vec()];
    let out = handshake(server_config(&d), client, MASTER_DNS_NAME);
    assert!(out.server.is_err(), "{:?}", out.server);
}

#[test]
fn rotation_overlap_then_retire_over_the_wire() {
    let d = Deployment::new("t");
    let old = d.register("sensor-01");
    let request = old.renewal_request().unwrap();
    let issued = d.ca.renew(&request.csr_pem, old.cert_der(), DAY).unwrap();
    d.registry.allow(old.host(), issued.fingerprint).unwrap();
    let new = old.renewed(request, &issued.pem).unwrap();

    // During the overlap both certificates get in.
    for id in [&old, &new] {
        let out = handshake(
            server_config(&d),
            mesh_client_config(id, &[ALPN_MESH]).unwrap(),
            MASTER_DNS_NAME,
        );
        assert!(out.both_ok(), "{out:?}");
        let (host, fp) = peer_identity(&out.server.unwrap().peer_certs).unwrap();
        assert_eq!(host.as_str(), "sensor-01");
        assert_eq!(fp, id.fingerprint());
    }

    // Once the old one is retired only the new one does.
    assert!(d.registry.retire(old.host(), &old.fingerprint()));
    let out = handshake(
        server_config(&d),
        mesh_client_config(&old, &[ALPN_MESH]).unwrap(),
        MASTER_DNS_NAME,
    );
    assert!(out.server.is_err());
    let out = handshake(
        server_config(&d),
        mesh_client_config(&new, &[ALPN_MESH]).unwrap(),
        MASTER_DNS_NAME,
    );
    assert!(out.both_ok(), "{out:?}");
}

#[test]
fn ca_reloaded_from_disk_still_issues_working_chains() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let first = CertificateAuthority::load_or_create(&ca_dir, "t").unwrap();
    let reloaded = CertificateAuthority::load_or_create(&ca_dir, "t").unwrap();
    assert_eq!(first.fingerprint(), reloaded.fingerprint());
    // Master identity from the original CA, agent issued by the reloaded one.
    let server = ServerIdentity::generate(&first, &[], DAY).unwrap();
    let d = Deployment {
        ca: reloaded,
        server,
        registry: Arc::new(decnet_pki::MemoryRegistry::new()),
    };
    let agent = d.register("sensor-01");
    let out = handshake(
        server_config(&d),
        mesh_client_config(&agent, &[ALPN_MESH]).unwrap(),
        MASTER_DNS_NAME,
    );
    assert!(out.both_ok(), "{out:?}");
}
