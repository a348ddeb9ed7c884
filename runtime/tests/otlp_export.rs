//! A span reaches a real OTLP/HTTP receiver carrying the configured service name.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use decnet_runtime::telemetry::{LogFormat, TelemetrySettings, init_with};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use tokio::sync::mpsc;

async fn receive(
    State(tx): State<mpsc::UnboundedSender<ExportTraceServiceRequest>>,
    body: Bytes,
) -> StatusCode {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    match tx.send(request) {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn service_name(request: &ExportTraceServiceRequest) -> Option<String> {
    request.resource_spans.iter().find_map(|rs| {
        rs.resource.as_ref()?.attributes.iter().find_map(|kv| {
            match (kv.key.as_str(), kv.value.as_ref()?.value.as_ref()?) {
                ("service.name", Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            }
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_reaches_the_otlp_receiver_with_the_service_name() {
    decnet_runtime::crypto::install_crypto_provider();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The variables are read the same way `init` reads the process environment.
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
        ("OTEL_SERVICE_NAME", "decnet-otlp-test".to_owned()),
    ];
    let settings = TelemetrySettings::from_lookup("decnet-default", |k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    assert_eq!(settings.format, LogFormat::Human);
    let guard = init_with(settings).unwrap();

    {
        let span = tracing::info_span!("ingest_batch", events = 3);
        let _entered = span.enter();
        tracing::info!("inside the span");
    }
    // Dropping the guard flushes the batch exporter (on a blocking thread, as a binary's main would).
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let request = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the exporter posts within 10 s")
        .expect("a request arrived");
    assert_eq!(service_name(&request).as_deref(), Some("decnet-otlp-test"));
    let names: Vec<String> = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.name.clone())
        .collect();
    assert!(
        names.iter().any(|n| n == "ingest_batch"),
        "spans received: {names:?}"
    );
}
