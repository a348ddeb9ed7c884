//! 1,000 garbage connections hit the server while well-behaved clients
//! exchange messages: none of theirs is lost and the broker keeps serving.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use decnet_mesh::bus::{Broker, BrokerConfig, BusServer, ClientConfig, ServerConfig, SocketClient};
use decnet_mesh::topic::{decky, system};
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const GARBAGE: usize = 1000;
const WAVE: usize = 100;
const MESSAGES: u32 = 5_000;
const WAIT: Duration = Duration::from_secs(30);

/// One hostile connection; every kind must end in a protocol error.
fn garbage(kind: usize, rng: &mut rand::rngs::StdRng) -> Vec<u8> {
    let topic = system::log().to_string();
    match kind % 8 {
        // Random bytes; 0xff never starts a verb.
        0 => {
            let n = rng.gen_range(1..8192);
            let mut v: Vec<u8> = (0..n).map(|_| rng.r#gen()).collect();
            v[0] = 0xff;
            v
        }
        // Header without a newline, past the 4 KiB limit.
        1 => vec![b'P'; 4097 + rng.gen_range(0..4096)],
        // Body length past 1 MiB.
        2 => [
            format!("PUB {topic}\n").into_bytes(),
            (1024 * 1024 + 1 + rng.gen_range(0..1000u32))
                .to_be_bytes()
                .to_vec(),
        ]
        .concat(),
        // Half a frame, then gone.
        3 => [
            format!("HELLO half\n\0\0\0\0PUB {topic}\n").into_bytes(),
            200u32.to_be_bytes().to_vec(),
            vec![0xa1; rng.gen_range(0..200)],
        ]
        .concat(),
        // Unknown verb after a proper HELLO.
        4 => b"HELLO x\n\0\0\0\0SPAM x\n\0\0\0\0".to_vec(),
        // Body that is not CBOR.
        5 => [
            format!("PUB {topic}\n").into_bytes(),
            3u32.to_be_bytes().to_vec(),
            vec![0xff, 0xff, 0xff],
        ]
        .concat(),
        // Invalid pattern.
        6 => b"SUB a.>.b\n\0\0\0\0".to_vec(),
        // Header that is not UTF-8.
        _ => [b"SUB ".to_vec(), vec![0xc3, 0x28], b"\n\0\0\0\0".to_vec()].concat(),
    }
}

async fn hit(path: PathBuf, bytes: Vec<u8>) {
    let Ok(mut s) = UnixStream::connect(&path).await else {
        panic!("the server must keep accepting");
    };
    // The server may close before everything is written: that is the point.
    let _ = s.write_all(&bytes).await;
    let _ = s.shutdown().await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut sink)).await;
}

async fn connected(path: &Path, name: &str) -> SocketClient {
    let mut cfg = ClientConfig::new(path, name);
    cfg.queue_capacity = MESSAGES as usize;
    let c = SocketClient::connect(cfg);
    tokio::time::timeout(WAIT, c.connected()).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_connections_do_not_disturb_well_behaved_clients() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    // Room for every message: any loss would be the server's fault, not a full queue.
    let broker = Broker::new(BrokerConfig {
        queue_capacity: MESSAGES as usize,
    });
    let srv = BusServer::bind(broker.clone(), ServerConfig::new(&path))
        .await
        .unwrap();

    let publisher = connected(&path, "publisher").await;
    let mut subs = Vec::new();
    let mut clients = Vec::new();
    for i in 0..2 {
        let c = connected(&path, &format!("subscriber-{i}")).await;
        subs.push(c.subscribe(&decky::all_traffic()));
        c.flush().await.unwrap();
        clients.push(c);
    }
    let local_sub = broker.client("local").subscribe(&decky::all_traffic());

    let attack = {
        let path = path.clone();
        tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(0xdec_0e7);
            for wave in 0..GARBAGE / WAVE {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..WAVE {
                    set.spawn(hit(path.clone(), garbage(wave * WAVE + i, &mut rng)));
                }
                while let Some(r) = set.join_next().await {
                    r.unwrap();
                }
            }
        })
    };

    let topic = decky::traffic("d1").unwrap();
    for i in 0..MESSAGES {
        publisher.publish(&topic, "seq", &i).await.unwrap();
        if i % 100 == 99 {
            publisher.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
    }
    publisher.flush().await.unwrap();
    attack.await.unwrap();

    let mut all_subs: Vec<decnet_mesh::bus::Subscription> = subs;
    all_subs.push(local_sub);
    for (n, mut sub) in all_subs.into_iter().enumerate() {
        let mut seen = BTreeSet::new();
        while seen.len() < MESSAGES as usize {
            let e = tokio::time::timeout(WAIT, sub.next())
                .await
                .unwrap_or_else(|_| panic!("subscriber {n} stalled at {}", seen.len()))
                .unwrap();
            assert!(seen.insert(e.decode::<u32>().unwrap()), "duplicate");
        }
        assert_eq!(sub.dropped(), 0, "subscriber {n}");
    }

    let deadline = tokio::time::Instant::now() + WAIT;
    while srv.stats().protocol_errors < GARBAGE as u64 || srv.stats().open > 3 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", srv.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = srv.stats();
    assert_eq!(stats.protocol_errors, GARBAGE as u64, "{stats:?}");
    assert_eq!(stats.accepted, GARBAGE as u64 + 3);
    for c in clients.iter().chain([&publisher]) {
        assert!(c.is_connected());
        assert_eq!(c.stats().reconnects, 0);
        assert_eq!(c.stats().publish_dropped, 0);
    }

    // Still serving newcomers.
    let late = connected(&path, "late").await;
    let mut late_sub = late.subscribe(&system::all());
    late.flush().await.unwrap();
    let shared = Arc::new(broker.client("w"));
    shared
        .publish(&system::log(), "line", "after the storm")
        .unwrap();
    let e = tokio::time::timeout(WAIT, late_sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.decode::<String>().unwrap(), "after the storm");
}
