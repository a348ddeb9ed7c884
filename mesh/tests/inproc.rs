//! In-process bus: delivery, wildcards, no self-delivery, drop-oldest,
//! isolation of slow subscribers, the no-op bus.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use decnet_mesh::bus::{Broker, BrokerConfig, Bus};
use decnet_mesh::envelope::{Envelope, Payload};
use decnet_mesh::topic::{Pattern, attacker, credential, decky, system};
use futures::StreamExt;

async fn next(sub: &mut decnet_mesh::bus::Subscription) -> Arc<Envelope> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("event within 5 s")
        .expect("stream open")
}

#[tokio::test]
async fn publish_reaches_matching_subscribers_only() {
    let broker = Broker::default();
    let publisher = broker.client("sniffer");
    let listener = broker.client("api");
    let mut all_traffic = listener.subscribe(&decky::all_traffic());
    let mut one_decky = listener.subscribe(&decky::of("d1").unwrap());
    let mut states = listener.subscribe(&decky::all_state());

    let reached = publisher
        .publish(&decky::traffic("d1").unwrap(), "packet", &42u32)
        .unwrap();
    assert_eq!(reached, 2);
    let e = next(&mut all_traffic).await;
    assert_eq!(e.topic(), &decky::traffic("d1").unwrap());
    assert_eq!(e.kind(), "packet");
    assert_eq!(e.decode::<u32>().unwrap(), 42);
    assert_eq!(e.id().get_version_num(), 7);
    let same = next(&mut one_decky).await;
    assert!(
        Arc::ptr_eq(&e, &same),
        "one shared envelope for every subscriber"
    );
    assert!(states.try_next().is_none());

    publisher
        .publish(&decky::traffic("d2").unwrap(), "packet", &1u8)
        .unwrap();
    assert_eq!(next(&mut all_traffic).await.decode::<u8>().unwrap(), 1);
    assert!(one_decky.try_next().is_none());
}

#[tokio::test]
async fn publishers_never_receive_their_own_events() {
    let broker = Broker::default();
    let a = broker.client("a");
    let b = broker.client("b");
    let mut a_sub = a.subscribe(&system::all());
    let mut b_sub = b.subscribe(&system::all());
    let a_clone = a.clone();
    assert_eq!(a_clone.publish(&system::log(), "line", "hi").unwrap(), 1);
    assert_eq!(next(&mut b_sub).await.decode::<String>().unwrap(), "hi");
    assert!(
        a_sub.try_next().is_none(),
        "a clone shares the publisher identity"
    );
    b.publish(&system::log(), "line", "yo").unwrap();
    assert_eq!(next(&mut a_sub).await.decode::<String>().unwrap(), "yo");
    assert!(b_sub.try_next().is_none());
}

#[tokio::test]
async fn full_queue_drops_oldest_and_counts() {
    let broker = Broker::new(BrokerConfig { queue_capacity: 4 });
    let publisher = broker.client("p");
    let subscriber = broker.client("s");
    let mut sub = subscriber.subscribe(&attacker::all());
    for i in 0..10u32 {
        publisher.publish(&attacker::scored(), "score", &i).unwrap();
    }
    assert_eq!(sub.dropped(), 6);
    let got: Vec<u32> = (0..4)
        .map(|_| sub.try_next().unwrap().decode().unwrap())
        .collect();
    assert_eq!(got, vec![6, 7, 8, 9], "the newest survive");
    let stats = broker.stats();
    assert_eq!(stats.dropped, 6);
    assert_eq!(stats.published, 10);
    let line = stats
        .subscribers
        .iter()
        .find(|s| s.client_name == "s")
        .unwrap();
    assert_eq!(line.dropped, 6);
    assert_eq!(line.capacity, 4);
    assert_eq!(line.patterns, vec![attacker::all()]);
    assert_eq!(subscriber.stats().dropped, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_does_not_slow_publisher_or_others() {
    const N: u32 = 200_000;
    let broker = Broker::default();
    let publisher = broker.client("p");
    // Never read: stands for a stuck worker.
    let stuck = broker
        .client("stuck")
        .subscribe_with_capacity(&decky::all(), 16);
    let mut fast = broker
        .client("fast")
        .subscribe_with_capacity(&decky::all(), N as usize);
    let topic = decky::state("d").unwrap();
    let started = Instant::now();
    let publishing = std::thread::spawn(move || {
        for i in 0..N {
            publisher.publish(&topic, "s", &i).unwrap();
        }
    });
    let mut expected = 0u32;
    while expected < N {
        let e = next(&mut fast).await;
        assert_eq!(e.decode::<u32>().unwrap(), expected, "in order, none lost");
        expected += 1;
    }
    publishing.join().unwrap();
    assert_eq!(stuck.dropped(), u64::from(N) - 16);
    assert_eq!(fast.dropped(), 0);
    // Generous: a blocking publisher would never finish at all.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes() {
    let broker = Broker::default();
    let p = broker.client("p");
    let s = broker.client("s");
    let sub = s.subscribe(&system::all_health());
    assert_eq!(broker.stats().subscriptions, 1);
    drop(sub);
    assert_eq!(broker.stats().subscriptions, 0);
    assert!(broker.stats().subscribers.is_empty());
    assert_eq!(
        p.publish(&system::health("w").unwrap(), "hb", &()).unwrap(),
        0
    );
}

#[tokio::test]
async fn a_feed_gets_each_event_once_across_overlapping_patterns() {
    let broker = Broker::default();
    let link = broker.client("federation-link");
    let mut feed = link.feed();
    assert!(feed.add(&decky::all()));
    assert!(feed.add(&decky::all_traffic()));
    assert!(feed.add(&Pattern::everything()));
    assert!(!feed.add(&decky::all()));
    let worker = broker.client("w");
    worker
        .publish(&decky::traffic("x").unwrap(), "t", &1)
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.topic(), &decky::traffic("x").unwrap());
    assert!(feed.try_recv().is_none(), "delivered once");

    // What the link republishes on behalf of a remote host is not echoed back to it.
    let mut local = worker.subscribe(&decky::all());
    let remote = Envelope::new(decky::state("far").unwrap(), "s", Payload::null()).unwrap();
    let id = remote.id();
    assert_eq!(link.publish_envelope(Arc::new(remote)), 1);
    assert!(feed.try_recv().is_none());
    assert_eq!(next(&mut local).await.id(), id, "id kept across the link");
    assert!(feed.remove(&decky::all()));
    assert!(!feed.remove(&decky::all()));
}

#[tokio::test]
async fn disabled_bus_accepts_and_drops() {
    let bus = Bus::disabled("sniffer");
    assert!(!bus.is_enabled());
    bus.publish(&decky::traffic("d").unwrap(), "t", &1)
        .await
        .unwrap();
    bus.flush().await.unwrap();
    let mut sub = bus.subscribe(&decky::all());
    assert!(
        tokio::time::timeout(Duration::from_millis(100), sub.next())
            .await
            .is_err(),
        "stays pending"
    );
    assert_eq!(sub.dropped(), 0);
    assert_eq!(bus.stats().name, "sniffer");
}

#[tokio::test]
async fn bus_handle_over_the_broker() {
    let broker = Broker::default();
    let a = Bus::local(&broker, "a");
    let b = Bus::local(&broker, "b");
    let mut sub = b.subscribe(&credential::all());
    a.publish(&credential::captured(), "cred", &"root:toor")
        .await
        .unwrap();
    a.try_publish_payload(&credential::reuse_detected(), "reuse", Payload::null())
        .unwrap();
    assert_eq!(next(&mut sub).await.kind(), "cred");
    assert_eq!(next(&mut sub).await.kind(), "reuse");
    assert_eq!(a.stats().published, 2);
}
