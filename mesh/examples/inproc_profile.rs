//! Profiling aid for the in-process path: one publisher thread, one
//! subscriber task, one broker. `cargo run --release --example inproc_profile [N]`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

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
    let h = std::thread::spawn(move || {
        for _ in 0..n {
            publisher
                .publish_payload(&topic, EventKind::from_static("b"), body.clone())
                .unwrap();
        }
        start.elapsed()
    });
    let idle = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(idle);
    let mut got = 0u64;
    while got < n {
        tokio::select! {
            biased;
            e = sub.next() => if e.is_none() { break },
            () = &mut idle => break,
        }
        got += 1;
        if got.is_multiple_of(65536) {
            idle.as_mut()
                .reset(tokio::time::Instant::now() + Duration::from_secs(2));
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
