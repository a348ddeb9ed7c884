//! A minimal OTLP/HTTP trace receiver: every span posted to `/v1/traces` becomes one JSON
//! line (trace id, span id, parent id, name, service) in a file the demo reads afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use serde::{Deserialize, Serialize};

/// One received span.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpanLine {
    /// Trace id (hex).
    pub trace_id: String,
    /// Span id (hex).
    pub span_id: String,
    /// Parent span id (hex; empty for a root span).
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// `service.name` of the exporting process.
    pub service: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn lines(request: &ExportTraceServiceRequest) -> Vec<SpanLine> {
    let mut out = Vec::new();
    for rs in &request.resource_spans {
        let service = rs
            .resource
            .as_ref()
            .and_then(|r| {
                r.attributes
                    .iter()
                    .find_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(s) if kv.key == "service.name" => Some(s.clone()),
                        _ => None,
                    })
            })
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                out.push(SpanLine {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    service: service.clone(),
                });
            }
        }
    }
    out
}

async fn receive(State(file): State<Arc<Mutex<std::fs::File>>>, body: Bytes) -> StatusCode {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(mut file) = file.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    for line in lines(&request) {
        let Ok(json) = serde_json::to_string(&line) else {
            continue;
        };
        if writeln!(file, "{json}").is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    StatusCode::OK
}

/// Serves `/v1/traces` on `listen`, appending to `out`, until the process is killed.
pub async fn serve(listen: SocketAddr, out: PathBuf) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out)
        .with_context(|| format!("cannot open {}", out.display()))?;
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(Arc::new(Mutex::new(file)));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("OTLP receiver listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The span names of the first trace holding every name of `wanted`, with their services.
pub fn complete_trace(file: &Path, wanted: &[&str]) -> anyhow::Result<Option<Vec<String>>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut traces: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let span: SpanLine = serde_json::from_str(line)?;
        traces
            .entry(span.trace_id)
            .or_default()
            .insert(format!("{}@{}", span.name, span.service));
    }
    Ok(traces.into_values().find_map(|names| {
        wanted
            .iter()
            .all(|w| names.iter().any(|n| n.starts_with(&format!("{w}@"))))
            .then(|| names.into_iter().collect())
    }))
}
