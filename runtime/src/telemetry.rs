//! Logging and tracing: an env-filtered `tracing` subscriber printing human or
//! JSON lines on stderr, plus OpenTelemetry OTLP export (HTTP/protobuf) when the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` variable is set.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Compact human-readable lines (the default).
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Everything [`init_with`] needs, usually read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// `tracing` filter directives (`RUST_LOG` syntax).
    pub filter: String,
    /// Output format of log lines.
    pub format: LogFormat,
    /// Full OTLP/HTTP traces URL; `None` disables export.
    pub otlp_traces_endpoint: Option<String>,
    /// `service.name` of exported spans.
    pub service_name: String,
}

impl TelemetrySettings {
    /// Reads `RUST_LOG`, `DECNET_LOG_FORMAT`, `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`
    /// and `OTEL_SERVICE_NAME` through `lookup`.
    pub fn from_lookup(
        default_service: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let nonempty = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let format = match nonempty("DECNET_LOG_FORMAT").as_deref() {
            None | Some("human") | Some("text") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(other) => {
                anyhow::bail!("DECNET_LOG_FORMAT: expected `human` or `json`, got {other:?}")
            }
        };
        // Per the OTLP spec the signal-specific variable is a full URL, while the
        // generic one is a base to which the signal path is appended.
        let otlp_traces_endpoint = nonempty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            nonempty("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        });
        Ok(TelemetrySettings {
            filter: nonempty("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            format,
            otlp_traces_endpoint,
            service_name: nonempty("OTEL_SERVICE_NAME")
                .unwrap_or_else(|| default_service.to_owned()),
        })
    }
}

/// Keeps the exporter alive; dropping it flushes pending spans.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
    }
}

/// Initialises logging and tracing from the process environment.
pub fn init(default_service: &str) -> anyhow::Result<TelemetryGuard> {
    init_with(TelemetrySettings::from_lookup(default_service, |k| {
        std::env::var(k).ok()
    })?)
}

/// Initialises logging and tracing from explicit settings.
pub fn init_with(settings: TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_new(&settings.filter)
        .with_context(|| format!("RUST_LOG: invalid filter {:?}", settings.filter))?;
    let provider = match &settings.otlp_traces_endpoint {
        Some(endpoint) => Some(otlp_provider(endpoint, &settings.service_name)?),
        None => None,
    };
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("decnet")));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if let Some(p) = &provider {
        opentelemetry::global::set_tracer_provider(p.clone());
    }
    let (human, json) = match settings.format {
        LogFormat::Human => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            ),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(human)
        .with(json)
        .with(otel_layer)
        .try_init()
        .context("a tracing subscriber is already installed")?;
    Ok(TelemetryGuard { provider })
}

fn otlp_provider(endpoint: &str, service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = endpoint.to_owned();
    // The blocking HTTP client owns a runtime of its own, which must not be
    // created from inside a tokio runtime: build it on a plain thread.
    let exporter = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_endpoint(endpoint)
            .build()
            .map_err(anyhow::Error::from)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("OTLP exporter set-up panicked"))?
    .context("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter")?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<TelemetrySettings> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TelemetrySettings::from_lookup("decnet-test", move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_human_info_without_export() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.format, LogFormat::Human);
        assert_eq!(s.filter, "info");
        assert_eq!(s.otlp_traces_endpoint, None);
        assert_eq!(s.service_name, "decnet-test");
    }

    #[test]
    fn standard_otel_variables_are_honoured() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318/"),
            ("OTEL_SERVICE_NAME", "sensor-7"),
            ("DECNET_LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(
            s.otlp_traces_endpoint.as_deref(),
            Some("http://jaeger:4318/v1/traces")
        );
        assert_eq!(s.service_name, "sensor-7");
        assert_eq!(s.format, LogFormat::Json);
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/custom"),
        ])
        .unwrap();
        assert_eq!(
            s.otlp_traces_endpoint.as_deref(),
            Some("http://b:4318/custom")
        );
    }

    #[test]
    fn unknown_log_format_is_refused_with_the_variable_name() {
        let err = settings(&[("DECNET_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(err.to_string().starts_with("DECNET_LOG_FORMAT"), "{err}");
    }
}
