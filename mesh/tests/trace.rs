//! A span started by a publisher continues in each subscriber, in process
//! and across the UNIX socket.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use decnet_mesh::bus::{Broker, Bus, BusServer, ClientConfig, ServerConfig, SocketClient};
use decnet_mesh::topic::decky;
use decnet_mesh::trace;
use futures::StreamExt;
use opentelemetry::trace::{TraceContextExt, TraceId, TracerProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

fn otel_subscriber() -> (impl tracing::Subscriber + Send + Sync, SdkTracerProvider) {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("decnet-mesh-test");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    (subscriber, provider)
}

fn trace_id(span: &tracing::Span) -> TraceId {
    span.context().span().span_context().trace_id()
}

async fn roundtrip(publisher: &Bus, subscriber: &Bus) {
    let mut sub = subscriber.subscribe(&decky::all_state());
    subscriber.flush().await.unwrap();

    // No span: no traceparent.
    publisher
        .publish(&decky::state("d").unwrap(), "s", &0)
        .await
        .unwrap();
    let plain = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain.traceparent(), None);
    assert!(trace::parent_context(&plain).is_none());

    let root = tracing::info_span!("publisher.work");
    let root_trace = trace_id(&root);
    assert_ne!(root_trace, TraceId::INVALID);
    publisher
        .publish(&decky::state("d").unwrap(), "s", &1)
        .instrument(root.clone())
        .await
        .unwrap();
    let env = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    let tp = env.traceparent().expect("traceparent carried");
    assert!(tp.starts_with("00-"), "{tp}");
    assert!(tp.contains(&root_trace.to_string()), "{tp}");

    let handling = trace::event_span(&env);
    assert_eq!(trace_id(&handling), root_trace, "the trace continues");
    let root_span_id = root.context().span().span_context().span_id();
    let handling_span_id = handling.context().span().span_context().span_id();
    assert_ne!(handling_span_id, root_span_id, "a new child span");

    // An unrelated span is in another trace.
    let other = tracing::info_span!("unrelated");
    assert_ne!(trace_id(&other), root_trace);
}

#[tokio::test]
async fn in_process_trace_continues() {
    let (subscriber, _provider) = otel_subscriber();
    let _guard = tracing::subscriber::set_default(subscriber);
    let broker = Broker::default();
    roundtrip(&Bus::local(&broker, "p"), &Bus::local(&broker, "s")).await;
}

#[tokio::test]
async fn socket_trace_continues() {
    let (subscriber, _provider) = otel_subscriber();
    let _guard = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus.sock");
    let broker = Broker::default();
    let _srv = BusServer::bind(broker.clone(), ServerConfig::new(&path))
        .await
        .unwrap();
    let p = SocketClient::connect(ClientConfig::new(&path, "p"));
    let s = SocketClient::connect(ClientConfig::new(&path, "s"));
    tokio::time::timeout(Duration::from_secs(10), p.connected())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), s.connected())
        .await
        .unwrap();
    roundtrip(&p.into(), &s.into()).await;
}
