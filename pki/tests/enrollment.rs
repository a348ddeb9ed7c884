//! Enrollment over real loopback TCP: the agent pins the CA by the token's fingerprint.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{DAY, Deployment, Failure, exchange, handshake};
use decnet_pki::tls::{
    ALPN_ENROLL, ALPN_MESH, CaPinMismatch, enrollment_client_config, enrollment_server_config,
    mesh_client_config, mesh_server_config,
};
use decnet_pki::{
    AgentIdentity, EnrollmentToken, Fingerprint, HostName, MASTER_DNS_NAME, NodeKey, TokenError,
    TokenSecret,
};
use rustls::{CertificateError, ServerConfig};

fn enrollment_server(d: &Deployment) -> ServerConfig {
    enrollment_server_config(&d.server, &[ALPN_ENROLL]).unwrap()
}

fn is_pin_mismatch(f: &Failure) -> bool {
    match &f.tls {
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) => {
            other.0.downcast_ref::<CaPinMismatch>().is_some()
        }
        _ => false,
    }
}

#[test]
fn client_accepts_the_pinned_ca() {
    let d = Deployment::new("t");
    let client = enrollment_client_config(d.ca.fingerprint(), &[ALPN_ENROLL]).unwrap();
    let out = handshake(enrollment_server(&d), client, MASTER_DNS_NAME);
    let client = out.client.expect("pinned CA accepted");
    assert_eq!(client.alpn.as_deref(), Some(ALPN_ENROLL));
    let server = out.server.expect("no client certificate needed");
    assert!(server.peer_certs.is_empty());
}

#[test]
fn client_rejects_a_server_from_another_ca() {
    let d = Deployment::new("t");
    let rogue = Deployment::new("t");
    let client = enrollment_client_config(d.ca.fingerprint(), &[ALPN_ENROLL]).unwrap();
    let out = handshake(enrollment_server(&rogue), client, MASTER_DNS_NAME);
    let err = out.client.expect_err("wrong CA");
    assert!(is_pin_mismatch(&err), "{err:?}");
    assert!(
        err.text.contains("does not contain the DECNET CA"),
        "{}",
        err.text
    );
    assert!(out.server.is_err());
}

#[test]
fn client_rejects_a_fingerprint_one_nibble_off() {
    let d = Deployment::new("t");
    let mut hex = d.ca.fingerprint().to_string();
    let last = hex.pop().unwrap();
    hex.push(if last == '0' { '1' } else { '0' });
    let near: Fingerprint = hex.parse().unwrap();
    assert_ne!(near, d.ca.fingerprint());
    let client = enrollment_client_config(near, &[ALPN_ENROLL]).unwrap();
    let out = handshake(enrollment_server(&d), client, MASTER_DNS_NAME);
    assert!(is_pin_mismatch(&out.client.expect_err("near miss")));
}

#[test]
fn client_rejects_a_rogue_leaf_shipped_with_the_genuine_ca() {
    // The genuine CA certificate is public; a rogue server can send it along. The leaf must
    // still be signed by that CA.
    let d = Deployment::new("t");
    let rogue = Deployment::new("t");
    let rogue_key = NodeKey::generate().unwrap();
    let rogue_leaf = rogue
        .ca
        .issue_master_server_cert(&rogue_key, &[], DAY)
        .unwrap();
    let mut server = ServerConfig::builder_with_provider(decnet_pki::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rogue_leaf.der.clone(), d.ca.cert_der().clone()],
            rogue_key.private_key_der(),
        )
        .unwrap();
    server.alpn_protocols = vec![ALPN_ENROLL.to_vec()];
    let client = enrollment_client_config(d.ca.fingerprint(), &[ALPN_ENROLL]).unwrap();
    let out = handshake(server, client, MASTER_DNS_NAME);
    let err = out.client.expect_err("rogue leaf");
    assert!(
        matches!(
            err.tls,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature
            ))
        ),
        "{err:?}"
    );
}

#[test]
fn client_rejects_the_ca_certificate_posing_as_the_leaf() {
    // Even with the CA key, serving the CA certificate itself as the leaf is refused: webpki
    // does not accept a CA certificate as an end entity.
    let dir = tempfile::tempdir().unwrap();
    let ca = decnet_pki::CertificateAuthority::load_or_create(dir.path(), "t").unwrap();
    let ca_key_pem = std::fs::read_to_string(dir.path().join("ca.key")).unwrap();
    let ca_key = NodeKey::from_pem(&ca_key_pem).unwrap();
    let mut server = ServerConfig::builder_with_provider(decnet_pki::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![ca.cert_der().clone(), ca.cert_der().clone()],
            ca_key.private_key_der(),
        )
        .unwrap();
    server.alpn_protocols = vec![ALPN_ENROLL.to_vec()];
    let client = enrollment_client_config(ca.fingerprint(), &[ALPN_ENROLL]).unwrap();
    let out = handshake(server, client, MASTER_DNS_NAME);
    let err = out.client.expect_err("CA as leaf");
    assert!(err.text.contains("CaUsedAsEndEntity"), "{err:?}");
}

#[test]
fn client_checks_the_server_name() {
    let d = Deployment::new("t");
    let client = enrollment_client_config(d.ca.fingerprint(), &[ALPN_ENROLL]).unwrap();
    let out = handshake(enrollment_server(&d), client, "elsewhere.example");
    assert!(out.client.is_err());
    // IP SANs given at issuance work as server names too.
    let client = enrollment_client_config(d.ca.fingerprint(), &[ALPN_ENROLL]).unwrap();
    let out = handshake(enrollment_server(&d), client, "127.0.0.1");
    assert!(out.both_ok(), "{out:?}");
}

// --- A full enrollment, composed from the library the way agent and master will use it. ---

fn write_frame(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    w.write_all(&u32::try_from(data.len()).unwrap().to_be_bytes())?;
    w.write_all(data)?;
    w.flush()
}

fn read_frame(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Runs one enrollment attempt; returns the master's verdict and the agent's identity if any.
fn enroll_over_tls(
    d: &Deployment,
    token_string: &str,
    records: &Mutex<Vec<(decnet_pki::TokenRecord, bool)>>,
    state_dir: &std::path::Path,
) -> (Result<(), String>, Option<AgentIdentity>) {
    // Agent side: parse the token, generate the key, pin the CA from the token.
    let token = EnrollmentToken::decode_unexpired(token_string, SystemTime::now()).unwrap();
    let key = NodeKey::generate().unwrap();
    let csr = key.csr(&token.host_name).unwrap();
    let client = enrollment_client_config(token.ca_fingerprint, &[ALPN_ENROLL]).unwrap();
    let host = token.host_name.to_string();
    let secret = *token.secret.as_bytes();
    let result: Arc<Mutex<Option<(String, String)>>> = Arc::default();
    let result_client = result.clone();

    let verdict: Arc<Mutex<Result<(), String>>> = Arc::new(Mutex::new(Ok(())));
    let verdict_server = verdict.clone();
    let out = exchange(
        enrollment_server(d),
        client,
        MASTER_DNS_NAME,
        |tls| {
            // Master side: check the secret against the stored hash, single use, then sign.
            let host: HostName = String::from_utf8(read_frame(tls)?)
                .unwrap()
                .parse()
                .unwrap();
            let secret = TokenSecret::from_bytes(read_frame(tls)?.try_into().unwrap());
            let csr = String::from_utf8(read_frame(tls)?).unwrap();
            let mut records = records.lock().unwrap();
            let found = records.iter_mut().find(|(r, _)| r.hash.matches(&secret));
            let outcome = match found {
                None => Err("unknown token".to_string()),
                Some((_, true)) => Err("token already used".to_string()),
                Some((record, used)) => match record.verify(&host, &secret, SystemTime::now()) {
                    Err(e) => Err(e.to_string()),
                    Ok(()) => match d.ca.issue_from_csr(&csr, &host, DAY) {
                        Err(e) => Err(e.to_string()),
                        Ok(issued) => {
                            *used = true;
                            d.registry.allow(&host, issued.fingerprint).unwrap();
                            Ok(issued.pem)
                        }
                    },
                },
            };
            match outcome {
                Ok(cert_pem) => {
                    write_frame(tls, b"ok")?;
                    write_frame(tls, cert_pem.as_bytes())?;
                    write_frame(tls, d.ca.cert_pem().as_bytes())?;
                }
                Err(reason) => {
                    *verdict_server.lock().unwrap() = Err(reason.clone());
                    write_frame(tls, b"no")?;
                    write_frame(tls, reason.as_bytes())?;
                }
            }
            Ok(())
        },
        move |tls| {
            write_frame(tls, host.as_bytes())?;
            write_frame(tls, &secret)?;
            write_frame(tls, csr.as_bytes())?;
            if read_frame(tls)? == b"ok" {
                let cert = String::from_utf8(read_frame(tls)?).unwrap();
                let ca = String::from_utf8(read_frame(tls)?).unwrap();
                *result_client.lock().unwrap() = Some((cert, ca));
            } else {
                let _reason = read_frame(tls)?;
            }
            Ok(())
        },
    );
    assert!(out.both_ok(), "{out:?}");
    let verdict = verdict.lock().unwrap().clone();
    let pems = result.lock().unwrap().take();
    let identity = pems.map(|(cert, ca)| {
        let id = AgentIdentity::new(key, &cert, &ca).unwrap();
        // The CA certificate received must be the one the token pinned.
        assert_eq!(id.ca_fingerprint(), token.ca_fingerprint);
        id.store(state_dir).unwrap();
        id
    });
    (verdict, identity)
}

#[test]
fn full_enrollment_then_mesh_and_single_use() {
    let d = Deployment::new("t");
    let now = SystemTime::now();
    let token = EnrollmentToken::generate(
        vec!["127.0.0.1:8443".into()],
        d.ca.fingerprint(),
        "sensor-01".parse().unwrap(),
        Duration::from_secs(900),
        now,
    )
    .unwrap();
    let token_string = token.encode();
    // The master keeps only the record (hash), never the secret.
    let records = Mutex::new(vec![(token.record(), false)]);
    drop(token);

    let state = tempfile::tempdir().unwrap();
    let (verdict, identity) = enroll_over_tls(&d, &token_string, &records, state.path());
    verdict.unwrap();
    let identity = identity.unwrap();
    assert_eq!(identity.host().as_str(), "sensor-01");

    // The stored identity reloads and joins the mesh.
    let loaded = AgentIdentity::load(state.path()).unwrap();
    assert_eq!(loaded.fingerprint(), identity.fingerprint());
    let out = handshake(
        mesh_server_config(&d.server, d.registry.clone(), &[ALPN_MESH]).unwrap(),
        mesh_client_config(&loaded, &[ALPN_MESH]).unwrap(),
        MASTER_DNS_NAME,
    );
    assert!(out.both_ok(), "{out:?}");

    // Replaying the same token is refused.
    let state2 = tempfile::tempdir().unwrap();
    let (verdict, identity) = enroll_over_tls(&d, &token_string, &records, state2.path());
    assert_eq!(verdict, Err("token already used".into()));
    assert!(identity.is_none());
}

#[test]
fn enrollment_with_a_forged_secret_is_refused() {
    let d = Deployment::new("t");
    let token = EnrollmentToken::generate(
        vec!["127.0.0.1:8443".into()],
        d.ca.fingerprint(),
        "sensor-01".parse().unwrap(),
        Duration::from_secs(900),
        SystemTime::now(),
    )
    .unwrap();
    let records = Mutex::new(vec![(token.record(), false)]);
    let mut forged = token.clone();
    forged.secret = TokenSecret::generate().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (verdict, identity) = enroll_over_tls(&d, &forged.encode(), &records, state.path());
    assert_eq!(verdict, Err("unknown token".into()));
    assert!(identity.is_none());
    assert!(d.registry.hosts().is_empty());
}

#[test]
fn expired_token_is_refused_by_both_sides() {
    let d = Deployment::new("t");
    let past = SystemTime::now() - Duration::from_secs(3600);
    let token = EnrollmentToken::generate(
        vec!["127.0.0.1:8443".into()],
        d.ca.fingerprint(),
        "sensor-01".parse().unwrap(),
        Duration::from_secs(900),
        past,
    )
    .unwrap();
    assert!(matches!(
        EnrollmentToken::decode_unexpired(&token.encode(), SystemTime::now()),
        Err(TokenError::Expired(_))
    ));
    assert!(matches!(
        token
            .record()
            .verify(&token.host_name, &token.secret, SystemTime::now()),
        Err(TokenError::Expired(_))
    ));
}
