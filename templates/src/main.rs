//! `decnet-decky` binary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use decnet_templates::emit::{EventSink, bus, rfc5424_stdout::LineSink};
use decnet_templates::spec::DeckySpec;

/// Run one decky: all of its emulated services in one process.
#[derive(Debug, Parser)]
#[command(name = "decnet-decky", version, about)]
struct Cli {
    /// The decky spec (TOML; see the decnet-templates crate docs for the format).
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
    /// Publish events on the host bus at this UNIX socket instead of printing RFC 5424 lines on stdout.
    #[arg(long, value_name = "PATH")]
    bus: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    decnet_runtime::crypto::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("decky")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let _telemetry = decnet_runtime::telemetry::init("decnet-decky")?;
    let spec =
        DeckySpec::load(&cli.spec).with_context(|| format!("spec {}", cli.spec.display()))?;
    let sink: Arc<dyn EventSink> = match &cli.bus {
        None => Arc::new(LineSink::stdout().context("cannot start the event writer")?),
        Some(path) => Arc::new(bus::BusSink::connect(path, &spec.name).await?),
    };
    let decky = decnet_templates::decky::start(&spec, Arc::clone(&sink))
        .await
        .with_context(|| format!("decky {}", spec.name))?;
    for (service, addr) in decky.listening() {
        tracing::info!(decky = %spec.name, service, %addr, "listening");
    }
    let signal = decnet_runtime::shutdown::signal().await;
    tracing::info!(decky = %spec.name, signal, "stopping");
    decky.stop(Duration::from_secs(5)).await;
    if sink.dropped() > 0 {
        tracing::warn!(dropped = sink.dropped(), "events were dropped under load");
    }
    Ok(())
}
