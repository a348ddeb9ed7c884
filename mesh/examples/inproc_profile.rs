//! Profiling aid: one publisher thread, one subscriber, in process.
#![allow(clippy::unwrap_used)]
use std::time::Instant;

use decnet_mesh::bus::Broker;
use decnet_mesh::envelope::{EventKind, Payload};
use decnet_mesh::topic::{Pattern, decky};
use futures::StreamExt;

#[tokio::main]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let broker = Broker::default();
    let topic = decky::traffic("inproc").unwrap();
    let mut sub = broker.client("sub").subscribe(&Pattern::exact(&topic));
    let publisher = broker.client("pub");
    let body = Payload::encode(&ciborium::Value::Bytes(vec![0xa5; 126])).unwrap();
    let start = Instant::now();
    let t = topic.clone();
    let h = std::thread::spawn(move || {
        for _ in 0..n {
            publisher
                .publish_payload(&t, EventKind::from_static("b"), body.clone())
                .unwrap();
        }
        start.elapsed()
    });
    let mut got = 0u64;
    if std::env::var_os("PLAIN").is_some() {
        while got < n {
            if sub.next().await.is_none() {
                break;
            }
            got += 1;
        }
    }
    while got < n {
        let item = match futures::FutureExt::now_or_never(sub.next()) {
            Some(i) => Some(i),
            None => tokio::time::timeout(std::time::Duration::from_secs(2), sub.next())
                .await
                .ok(),
        };
        match item {
            Some(Some(_)) => got += 1,
            _ => break,
        }
    }
    let pub_time = h.join().unwrap();
    let el = start.elapsed();
    println!(
        "published {n} in {pub_time:?} ({:.0}/s); received {got} in {el:?} ({:.0}/s); dropped {}",
        n as f64 / pub_time.as_secs_f64(),
        got as f64 / el.as_secs_f64(),
        sub.dropped()
    );
}
