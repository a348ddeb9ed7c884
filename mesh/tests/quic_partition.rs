//! Partitions on loopback through a relay that drops every datagram: the durable stream
//! resumes soon after the heal, short partitions and long ones alike.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use decnet_mesh::bus::Broker;
use decnet_mesh::quic::partition::PartitionRelay;
use decnet_mesh::quic::{AgentLink, MasterConfig, MasterMesh};
use decnet_outbox::{Config as OutboxConfig, Outbox};
use mesh_common::roles::test_durable;
use mesh_common::sink::MemorySink;
use mesh_common::{Deployment, agent_config, eventually, fast_tuning, wait_up};

async fn partition_and_measure(cut_for: Duration) -> Duration {
    let d = Deployment::new();
    let sink = Arc::new(MemorySink::default());
    let config = MasterConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tuning: fast_tuning(),
        durable: test_durable(),
        ..MasterConfig::default()
    };
    let master = MasterMesh::builder(config, &d.server, d.registry.clone(), Broker::default())
        .sink(sink.clone())
        .start()
        .unwrap();
    let relay = PartitionRelay::start("127.0.0.1".parse().unwrap(), master.local_addr().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), OutboxConfig::default()).unwrap();
    let id = d.enroll("sensor-40");
    let host = id.host().clone();
    let mut config = agent_config(relay.local_addr());
    config.durable = test_durable();
    let link = AgentLink::builder(config, id, Broker::default())
        .durable(Arc::new(outbox.clone()))
        .start()
        .unwrap();
    wait_up(&mut link.state()).await;

    // A producer appending steadily throughout.
    let producer = {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            loop {
                let seq = outbox.next_seq();
                outbox.append(format!("ev-{seq}").as_bytes()).unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    eventually(Duration::from_secs(10), "streaming", || {
        sink.distinct(&host) > 200
    })
    .await;
    relay.cut();
    tokio::time::sleep(cut_for).await;
    let before = sink.distinct(&host);
    relay.heal();
    let healed = Instant::now();
    eventually(Duration::from_secs(30), "streaming again", || {
        sink.distinct(&host) > before + 10
    })
    .await;
    let resumed = healed.elapsed();
    producer.abort();
    let last = outbox.next_seq() - 1;
    outbox.sync_async().await.unwrap();
    eventually(Duration::from_secs(20), "all committed", || {
        sink.distinct(&host) as u64 >= last
    })
    .await;
    sink.verify(&host, last);
    eprintln!("partition of {cut_for:?}: stream resumed {resumed:?} after the heal");
    resumed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_partition_within_the_idle_timeout() {
    let resumed = partition_and_measure(Duration::from_millis(1500)).await;
    assert!(resumed < Duration::from_secs(3), "{resumed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_partition_beyond_the_idle_timeout() {
    let resumed = partition_and_measure(Duration::from_secs(6)).await;
    assert!(resumed < Duration::from_secs(3), "{resumed:?}");
}
