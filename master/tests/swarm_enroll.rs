//! The master's enrollment authority over PostgreSQL, driven through the real QUIC
//! enrollment endpoint: the happy path and every refusal (replay, expiry, wrong name,
//! wrong CA pin), and an enrolled agent pinned across a master restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use decnet_master::config::DatabaseConfig;
use decnet_master::ingest::Ingest;
use decnet_master::store::Store;
use decnet_master::store::hosts::{self, HostStatus};
use decnet_master::swarm::{Swarm, SwarmSettings, tokens};
use decnet_mesh::bus::{Broker, BrokerConfig, Bus};
use decnet_mesh::enroll::{EnrollError, EnrollOptions, Refusal, enroll_with_details};
use decnet_mesh::quic::{AgentConfig, AgentLink, LinkState};
use decnet_pgcluster::TestCluster;
use decnet_pki::{EnrollmentToken, Fingerprint};

async fn store(db: &TestCluster) -> Store {
    let (_, config) = db.create_unique_database().await.unwrap();
    let settings = DatabaseConfig {
        connect_attempts: 2,
        connect_backoff: Duration::from_millis(10),
        ..DatabaseConfig::default()
    };
    let store = Store::connect(config, &settings).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn start(store: &Store, pki: &std::path::Path) -> Swarm {
    let settings = SwarmSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        enroll_listen: None,
        advertise: Vec::new(),
        pki_dir: pki.to_path_buf(),
        deployment: "test".into(),
    };
    let broker = Broker::new(BrokerConfig::default());
    let ingest = Ingest::new(store.clone(), Bus::disabled("ingest"));
    Swarm::start(&settings, store, &broker, ingest)
        .await
        .unwrap()
}

async fn token(store: &Store, swarm: &Swarm, name: &str) -> EnrollmentToken {
    let created = tokens::create(
        store,
        &swarm.enrollment(),
        name,
        Duration::from_secs(900),
        None,
    )
    .await
    .unwrap();
    EnrollmentToken::decode(&created.token).unwrap()
}

fn refusal(result: Result<decnet_mesh::enroll::Enrolled, EnrollError>) -> Refusal {
    match result {
        Err(EnrollError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_refusals_and_pinning_survive_a_restart() {
    decnet_runtime::crypto::install_crypto_provider();
    let db = TestCluster::start().unwrap();
    let store = store(&db).await;
    let pki = tempfile::tempdir().unwrap();
    let swarm = start(&store, pki.path()).await;
    let options = EnrollOptions {
        timeout: Duration::from_secs(5),
        ..EnrollOptions::default()
    };

    // Happy path: the certificate is pinned in the table and the reply names the mesh.
    let good = token(&store, &swarm, "sensor-01").await;
    let enrolled = enroll_with_details(&good, &options).await.unwrap();
    let mesh_addr = swarm.mesh().local_addr().unwrap().to_string();
    assert_eq!(enrolled.mesh_addrs, vec![mesh_addr.clone()]);
    let row = hosts::by_name(&store, "sensor-01").await.unwrap().unwrap();
    assert_eq!(row.status, HostStatus::Enrolled);
    assert_eq!(
        row.cert_fingerprints,
        vec![enrolled.identity.fingerprint().to_hex()]
    );

    // Replay of a used token.
    assert_eq!(
        refusal(enroll_with_details(&good, &options).await),
        Refusal::AlreadyUsed
    );

    // Expired on the master even though the agent's copy says otherwise.
    let late = token(&store, &swarm, "sensor-02").await;
    let client = db_client(&store).await;
    client
        .execute(
            "UPDATE enrollment_tokens SET expires_at = now() - interval '1 second' \
             WHERE host_name = 'sensor-02'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        refusal(enroll_with_details(&late, &options).await),
        Refusal::Expired
    );

    // A token used for another host name.
    let mut renamed = token(&store, &swarm, "sensor-03").await;
    renamed.host_name = "sensor-04".parse().unwrap();
    assert_eq!(
        refusal(enroll_with_details(&renamed, &options).await),
        Refusal::NameMismatch {
            token_host: "sensor-03".into()
        }
    );
    // ... which did not burn it: the right name still enrolls.
    let mut fixed = renamed.clone();
    fixed.host_name = "sensor-03".parse().unwrap();
    enroll_with_details(&fixed, &options).await.unwrap();

    // A master whose CA is not the token's: the agent refuses before sending anything.
    let mut pinned_elsewhere = token(&store, &swarm, "sensor-05").await;
    pinned_elsewhere.ca_fingerprint = Fingerprint::of_der(b"another CA");
    let err = enroll_with_details(&pinned_elsewhere, &options)
        .await
        .unwrap_err();
    assert!(err.is_ca_pin_mismatch(), "{err:?}");
    let genuine = {
        let mut t = pinned_elsewhere.clone();
        t.ca_fingerprint = swarm.enrollment().ca_fingerprint;
        t
    };
    enroll_with_details(&genuine, &options).await.unwrap();

    // Restart the master on the same CA and database: the enrolled agent is still pinned.
    swarm.shutdown().await;
    drop(swarm);
    let swarm = start(&store, pki.path()).await;
    let mesh_addr = swarm.mesh().local_addr().unwrap().to_string();
    let broker = Broker::new(BrokerConfig::default());
    let link = AgentLink::builder(AgentConfig::new(mesh_addr), enrolled.identity, broker)
        .start()
        .unwrap();
    let mut state = link.state();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if matches!(*state.borrow_and_update(), LinkState::Up { .. }) {
                break;
            }
            state.changed().await.unwrap();
        }
    })
    .await
    .expect("the enrolled agent connects to the restarted master");
    link.shutdown().await;
    swarm.shutdown().await;
}

async fn db_client(store: &Store) -> deadpool_postgres::Object {
    store.pool().get().await.unwrap()
}
