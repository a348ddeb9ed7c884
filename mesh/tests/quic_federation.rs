//! Federated pub/sub between brokers of different "hosts" over real QUIC links: interest
//! propagation, per-host addressing, no forwarding without interest, no echo.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::sync::Arc;
use std::time::Duration;

use decnet_mesh::bus::{Broker, Subscription};
use decnet_mesh::envelope::{Envelope, Payload};
use decnet_mesh::topic::{Pattern, Topic, decky, host};
use futures::StreamExt;
use mesh_common::{Deployment, agent, eventually, wait_up};

/// Patterns the agent's link currently forwards (its feed on the agent broker).
fn forwarded(broker: &Broker) -> Vec<Pattern> {
    let mut v: Vec<Pattern> = broker
        .stats()
        .subscribers
        .into_iter()
        .filter(|s| s.client_name == "mesh-link")
        .flat_map(|s| s.patterns)
        .collect();
    v.sort();
    v
}

fn event(topic: Topic, n: u32) -> Arc<Envelope> {
    Arc::new(Envelope::new(topic, "packet", Payload::encode(&n).unwrap()).unwrap())
}

async fn next(sub: &mut Subscription) -> Arc<Envelope> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("event within 5 s")
        .expect("subscription open")
}

/// Asserts nothing arrives on `sub` for `quiet`.
async fn silent(sub: &mut Subscription, quiet: Duration, what: &str) {
    if let Ok(Some(e)) = tokio::time::timeout(quiet, sub.next()).await {
        panic!("{what}: unexpected event {e:?}");
    }
}

const QUIET: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interest_starts_and_stops_forwarding() {
    let d = Deployment::new();
    let master_broker = Broker::default();
    let master = d.master(&master_broker);
    let agent_broker = Broker::default();
    let id = d.enroll("sensor-10");
    let h = id.host().clone();
    let link = agent(id, master.local_addr().unwrap(), &agent_broker);
    wait_up(&mut link.state()).await;
    wait_up(&mut master.link_state(&h)).await;

    let sniffer = agent_broker.client("sniffer");
    // A plain master-side subscriber: sees whatever reaches the master broker, but its
    // subscription is local and creates no interest.
    let observer = master_broker.client("observer");
    let mut plain = observer.subscribe(&decky::all());

    // No interest: nothing leaves the agent.
    assert!(forwarded(&agent_broker).is_empty());
    sniffer.publish_envelope(event(decky::traffic("d1").unwrap(), 1));
    silent(&mut plain, QUIET, "forwarded without interest").await;
    assert_eq!(master.unwanted_events(), 0, "the agent sent nothing at all");

    // Interest: the pattern reaches the agent and matching events flow.
    let mut traffic = master.subscribe(&decky::all_traffic());
    assert_eq!(master.interest(), vec![decky::all_traffic()]);
    eventually(
        Duration::from_secs(3),
        "agent forwards decky.*.traffic",
        || forwarded(&agent_broker) == vec![decky::all_traffic()],
    )
    .await;
    let sent = event(decky::traffic("d1").unwrap(), 2);
    sniffer.publish_envelope(sent.clone());
    let got = next(&mut traffic).await;
    assert_eq!(got.id(), sent.id());
    assert_eq!(got.ts_micros(), sent.ts_micros());
    assert_eq!(got.decode::<u32>().unwrap(), 2);
    assert_eq!(
        next(&mut plain).await.id(),
        sent.id(),
        "republished on the master broker"
    );
    // Only what matches the interest.
    sniffer.publish_envelope(event(decky::state("d1").unwrap(), 3));
    silent(&mut plain, QUIET, "non-matching topic forwarded").await;

    // A second subscriber to the same pattern adds no interest; dropping one keeps it.
    let second = master.subscribe(&decky::all_traffic());
    drop(second);
    assert_eq!(master.interest(), vec![decky::all_traffic()]);

    // Dropping the last subscriber withdraws the interest and forwarding stops.
    drop(traffic);
    assert!(master.interest().is_empty());
    eventually(Duration::from_secs(3), "agent stops forwarding", || {
        forwarded(&agent_broker).is_empty()
    })
    .await;
    sniffer.publish_envelope(event(decky::traffic("d1").unwrap(), 4));
    silent(
        &mut plain,
        QUIET,
        "forwarded after the interest was dropped",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interest_registered_before_an_agent_connects_applies_to_it() {
    let d = Deployment::new();
    let master = d.master(&Broker::default());
    let mut sessions = master.subscribe(&decky::all_lifecycle());
    let agent_broker = Broker::default();
    let link = agent(
        d.enroll("sensor-11"),
        master.local_addr().unwrap(),
        &agent_broker,
    );
    wait_up(&mut link.state()).await;
    eventually(
        Duration::from_secs(3),
        "late agent got the interest",
        || forwarded(&agent_broker) == vec![decky::all_lifecycle()],
    )
    .await;
    let sent = event(decky::lifecycle("d9").unwrap(), 9);
    agent_broker
        .client("reconciler")
        .publish_envelope(sent.clone());
    assert_eq!(next(&mut sessions).await.id(), sent.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_addressing_reaches_only_that_agent_and_nothing_echoes() {
    let d = Deployment::new();
    let master_broker = Broker::default();
    let master = d.master(&master_broker);
    let addr = master.local_addr().unwrap();
    let (broker_a, broker_b) = (Broker::default(), Broker::default());
    let id_a = d.enroll("sensor-a");
    let id_b = d.enroll("sensor-b");
    let (ha, hb) = (id_a.host().clone(), id_b.host().clone());
    let link_a = agent(id_a, addr, &broker_a);
    let link_b = agent(id_b, addr, &broker_b);
    wait_up(&mut link_a.state()).await;
    wait_up(&mut link_b.state()).await;
    wait_up(&mut master.link_state(&ha)).await;
    wait_up(&mut master.link_state(&hb)).await;

    let worker_a = broker_a.client("worker");
    let mut inbox_a = worker_a.subscribe(&host::of(&ha).unwrap());
    let mut inbox_b = broker_b.client("worker").subscribe(&host::of(&hb).unwrap());
    let mut anything_b = broker_b.client("spy").subscribe(&Pattern::everything());

    // The master also listens, federated, on every host topic: if agent A forwarded the
    // command it received back to the master, this subscriber would see it twice.
    let controller = master_broker.client("controller");
    let mut master_host = master.subscribe_as(&master_broker.client("audit"), &host::all());
    eventually(Duration::from_secs(3), "agents forward host.>", || {
        forwarded(&broker_a).contains(&host::all()) && forwarded(&broker_b).contains(&host::all())
    })
    .await;

    let cmd = event(host::addressed(&ha, &["worker", "stop"]).unwrap(), 7);
    controller.publish_envelope(cmd.clone());
    let got = next(&mut inbox_a).await;
    assert_eq!(got.id(), cmd.id());
    assert_eq!(
        next(&mut master_host).await.id(),
        cmd.id(),
        "local delivery on the master"
    );
    silent(
        &mut master_host,
        QUIET,
        "agent A echoed the master's command back",
    )
    .await;
    silent(
        &mut inbox_b,
        Duration::from_millis(50),
        "host B got host A's command",
    )
    .await;
    silent(
        &mut anything_b,
        Duration::from_millis(50),
        "host B got anything",
    )
    .await;
    silent(
        &mut inbox_a,
        Duration::from_millis(50),
        "host A got it twice",
    )
    .await;

    // Agent-side events forwarded to the master do not come back to their agent either.
    let mut local_a = broker_a.client("local").subscribe(&decky::all_traffic());
    let mut master_traffic = master.subscribe(&decky::all_traffic());
    eventually(Duration::from_secs(3), "agent A forwards traffic", || {
        forwarded(&broker_a).contains(&decky::all_traffic())
    })
    .await;
    let ev = event(decky::traffic("d1").unwrap(), 8);
    broker_a.client("sniffer").publish_envelope(ev.clone());
    assert_eq!(next(&mut master_traffic).await.id(), ev.id());
    assert_eq!(next(&mut local_a).await.id(), ev.id());
    silent(&mut local_a, QUIET, "event came back to its own agent").await;
    silent(
        &mut anything_b,
        Duration::from_millis(50),
        "host B got host A's traffic",
    )
    .await;
    assert_eq!(master.unwanted_events(), 0);
}
