//! UNIX-socket server and client end to end, on real sockets in a temp dir.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use decnet_mesh::bus::frame::{FrameDecoder, Verb, encode_frame};
use decnet_mesh::bus::{
    Broker, BrokerConfig, Bus, BusError, BusServer, ClientConfig, ServerConfig, SocketClient,
};
use decnet_mesh::envelope::Envelope;
use decnet_mesh::topic::{decky, system};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const WAIT: Duration = Duration::from_secs(10);

async fn next(sub: &mut decnet_mesh::bus::Subscription) -> Arc<Envelope> {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("event in time")
        .expect("stream open")
}

async fn server(broker: &Broker, path: &Path) -> BusServer {
    BusServer::bind(broker.clone(), ServerConfig::new(path))
        .await
        .unwrap()
}

async fn client(path: &Path, name: &str) -> SocketClient {
    let c = SocketClient::connect(ClientConfig::new(path, name));
    tokio::time::timeout(WAIT, c.connected()).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_clients_and_local_workers_share_one_bus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let srv = server(&broker, &path).await;

    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);

    let a = client(&path, "tool-a").await;
    let b = client(&path, "tool-b").await;
    let local = broker.client("worker");
    let mut b_sub = b.subscribe(&decky::all_traffic());
    let mut a_sub = a.subscribe(&decky::all());
    let mut local_sub = local.subscribe(&decky::all());
    b.flush().await.unwrap();
    a.flush().await.unwrap();

    // Socket → socket and socket → local.
    a.publish(&decky::traffic("d1").unwrap(), "packet", &7u32)
        .await
        .unwrap();
    let e = next(&mut b_sub).await;
    assert_eq!(e.decode::<u32>().unwrap(), 7);
    assert_eq!(e.kind(), "packet");
    assert_eq!(e.topic(), &decky::traffic("d1").unwrap());
    assert_eq!(next(&mut local_sub).await.id(), e.id());

    // Local → socket, with the envelope intact.
    local
        .publish(&decky::state("d2").unwrap(), "state", "up")
        .unwrap();
    let s = next(&mut a_sub).await;
    assert_eq!(s.decode::<String>().unwrap(), "up");
    assert_eq!(s.topic(), &decky::state("d2").unwrap());
    assert!(s.ts_micros() > 0);

    // The publisher's own connection never gets its event back.
    a.flush().await.unwrap();
    b.flush().await.unwrap();
    assert!(
        a_sub.try_next().is_none(),
        "no self-delivery over the socket"
    );

    // Unsubscribe by dropping.
    drop(b_sub);
    b.flush().await.unwrap();
    let names: Vec<String> = broker
        .stats()
        .subscribers
        .iter()
        .map(|s| s.client_name.clone())
        .collect();
    assert!(names.contains(&"tool-a".to_owned()), "{names:?}");
    let b_line = broker
        .stats()
        .subscribers
        .into_iter()
        .find(|s| s.client_name == "tool-b")
        .unwrap();
    assert!(b_line.patterns.is_empty());
    assert_eq!(srv.stats().open, 2);
    srv.shutdown().await;
    assert!(!path.exists(), "socket removed on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_handle_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let _srv = server(&broker, &path).await;
    let publisher = Bus::connect(&path, "pub");
    let listener = Bus::local(&broker, "listener");
    let mut sub = listener.subscribe(&system::all());
    // The client connects in the background; flush fails until it has.
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Err(BusError::NotConnected) = publisher.flush().await {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    publisher
        .publish(&system::log(), "line", "hello")
        .await
        .unwrap();
    assert_eq!(next(&mut sub).await.decode::<String>().unwrap(), "hello");
    assert_eq!(publisher.stats().published, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reconnects_and_resubscribes_after_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let srv = server(&broker, &path).await;
    let mut cfg = ClientConfig::new(&path, "resilient");
    cfg.reconnect_min = Duration::from_millis(20);
    cfg.reconnect_max = Duration::from_millis(200);
    let c = SocketClient::connect(cfg);
    tokio::time::timeout(WAIT, c.connected()).await.unwrap();
    let mut sub = c.subscribe(&decky::all_state());
    c.flush().await.unwrap();
    broker
        .client("w")
        .publish(&decky::state("a").unwrap(), "s", &1)
        .unwrap();
    assert_eq!(next(&mut sub).await.decode::<i32>().unwrap(), 1);

    srv.shutdown().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.is_connected() {
        assert!(tokio::time::Instant::now() < deadline, "noticed the loss");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Publishing while down is dropped and counted, not queued for later.
    c.publish(&system::log(), "l", "lost").await.unwrap();
    assert_eq!(c.stats().publish_dropped, 1);
    // Let a few reconnection attempts fail.
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A brand-new broker: the client must re-send its SUB on its own.
    let broker2 = Broker::default();
    let _srv2 = server(&broker2, &path).await;
    tokio::time::timeout(WAIT, c.connected()).await.unwrap();
    c.flush().await.unwrap();
    assert_eq!(c.stats().reconnects, 1);
    assert_eq!(broker2.stats().subscriptions, 1);
    broker2
        .client("w2")
        .publish(&decky::state("b").unwrap(), "s", &2)
        .unwrap();
    assert_eq!(next(&mut sub).await.decode::<i32>().unwrap(), 2);
}

async fn raw_frames(path: &Path, frames: &[(Verb, Option<&str>, &[u8])]) -> UnixStream {
    let mut s = UnixStream::connect(path).await.unwrap();
    let mut out = bytes::BytesMut::new();
    for (v, a, b) in frames {
        encode_frame(&mut out, *v, *a, b).unwrap();
    }
    s.write_all(&out).await.unwrap();
    s
}

/// Reads until the server closes; returns what it sent.
async fn read_to_close(s: &mut UnixStream) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut all))
        .await
        .expect("server closes the connection")
        .unwrap();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_frame_closes_only_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let srv = server(&broker, &path).await;
    let good = client(&path, "good").await;
    let mut sub = good.subscribe(&system::all());
    good.flush().await.unwrap();

    let topic = system::log();
    let cases: Vec<Vec<u8>> = vec![
        b"HELLO x\n\0\0\0\0WHAT\n\0\0\0\0".to_vec(),
        format!("PUB {topic}\n")
            .into_bytes()
            .into_iter()
            .chain([0x7f, 0xff, 0xff, 0xff])
            .collect(),
        vec![b'A'; 5000],
        [format!("PUB {topic}\n\0\0\0\x01").into_bytes(), vec![0xa1]].concat(), // map missing its entry
        b"SUB a..b\n\0\0\0\0".to_vec(),
        b"PUB has.*.wildcard\n\0\0\0\0".to_vec(),
        b"EVT x\n\0\0\0\0".to_vec(),
        b"PUB \xff\n\0\0\0\0".to_vec(),
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let mut s = UnixStream::connect(&path).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let answer = read_to_close(&mut s).await;
        assert!(answer.is_empty(), "case {i}: nothing but a close");
    }
    // Half a frame, then the peer goes away.
    let mut half = UnixStream::connect(&path).await.unwrap();
    half.write_all(&[format!("PUB {topic}\n\0\0\0\x10").into_bytes(), vec![0xa2]].concat())
        .await
        .unwrap();
    drop(half);

    let deadline = tokio::time::Instant::now() + WAIT;
    while srv.stats().protocol_errors < cases.len() as u64 + 1 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", srv.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Everyone else carries on.
    broker
        .client("w")
        .publish(&topic, "line", "still here")
        .unwrap();
    assert_eq!(
        next(&mut sub).await.decode::<String>().unwrap(),
        "still here"
    );
    assert!(good.is_connected());
    assert_eq!(good.stats().reconnects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_is_answered_after_prior_frames_and_bye_is_polite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let srv = server(&broker, &path).await;
    let sub_topic = decky::all().to_string();
    let mut s = raw_frames(
        &path,
        &[
            (Verb::Hello, Some("raw"), b""),
            (Verb::Sub, Some(&sub_topic), b""),
            (Verb::Ping, Some("42"), b""),
        ],
    )
    .await;
    let mut dec = FrameDecoder::new();
    let mut buf = [0u8; 1024];
    let ping = loop {
        if let Some(f) = dec.next_frame().unwrap() {
            break f;
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        dec.feed(&buf[..n]);
    };
    assert_eq!(ping.verb(), Verb::Ping);
    assert_eq!(ping.arg(), Some("42"));
    assert_eq!(
        broker.stats().subscriptions,
        1,
        "SUB handled before the PING answer"
    );

    broker
        .client("w")
        .publish(&decky::lifecycle("z").unwrap(), "created", &())
        .unwrap();
    srv.shutdown().await;
    let rest = read_to_close(&mut s).await;
    dec.feed(&rest);
    let evt = dec.next_frame().unwrap().unwrap();
    assert_eq!(evt.verb(), Verb::Evt);
    let env = decnet_mesh::bus::wire::decode_envelope(evt.body()).unwrap();
    assert_eq!(env.kind(), "created");
    assert_eq!(dec.next_frame().unwrap().unwrap().verb(), Verb::Bye);
    dec.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_socket_subscriber_loses_events_not_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::new(BrokerConfig { queue_capacity: 64 });
    let _srv = server(&broker, &path).await;
    let pattern = decky::all().to_string();
    // Subscribes, then never reads its socket.
    let _stuck = raw_frames(
        &path,
        &[
            (Verb::Hello, Some("stuck"), b""),
            (Verb::Sub, Some(&pattern), b""),
        ],
    )
    .await;
    let mut cfg = ClientConfig::new(&path, "fast");
    cfg.queue_capacity = 100_000;
    let fast = SocketClient::connect(cfg);
    tokio::time::timeout(WAIT, fast.connected()).await.unwrap();
    let mut sub = fast.subscribe(&decky::all());
    fast.flush().await.unwrap();
    let publisher = client(&path, "publisher").await;
    let topic = decky::traffic("d").unwrap();
    let body = vec![0u8; 1024];
    const N: u32 = 20_000;
    let reader = tokio::spawn(async move {
        let mut got = 0u32;
        while got < N {
            let e = next(&mut sub).await;
            let (i, _): (u32, serde_bytes_like::Bytes) = e.decode().unwrap();
            assert_eq!(i, got, "in order, none lost");
            got += 1;
        }
        sub
    });
    for i in 0..N {
        publisher
            .publish(&topic, "t", &(i, serde_bytes_like::Bytes(body.clone())))
            .await
            .unwrap();
        if i % 50 == 49 {
            // Keep the fast subscriber's server-side queue (64) from overflowing.
            publisher.flush().await.unwrap();
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    let sub = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sub.dropped(), 0);
    let stuck = broker
        .stats()
        .subscribers
        .into_iter()
        .find(|s| s.client_name == "stuck")
        .unwrap();
    assert!(stuck.dropped > 0, "{stuck:?}");
}

mod serde_bytes_like {
    //! A byte string payload without pulling in serde_bytes.
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub struct Bytes(pub Vec<u8>);

    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = ciborium::Value::deserialize(d)?;
            match v {
                ciborium::Value::Bytes(b) => Ok(Bytes(b)),
                _ => Err(serde::de::Error::custom("expected bytes")),
            }
        }
    }
}

#[tokio::test]
async fn a_live_server_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let _srv = server(&broker, &path).await;
    match BusServer::bind(broker.clone(), ServerConfig::new(&path)).await {
        Err(BusError::InUse(p)) => assert_eq!(p, path),
        other => panic!("expected InUse, got {other:?}"),
    }
    // A stale socket file (no server behind it) is replaced.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let s = BusServer::bind(broker, ServerConfig::new(&stale))
        .await
        .unwrap();
    UnixStream::connect(&stale).await.unwrap();
    drop(s);
}
