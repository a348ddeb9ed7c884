//! `decnet-decky` binary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use decnet_templates::emit::{EventSink, Tee, bus, rfc5424_stdout::LineSink};
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
    /// With --bus: also print every event as an RFC 5424 line on stdout (the agent's
    /// collector reads them from the container log: the durable path), and keep running
    /// when the bus is not reachable yet.
    #[arg(long, requires = "bus")]
    events_stdout: bool,
    /// Check that every TCP service of the spec accepts connections, then exit 0 (all do)
    /// or 1 (the container HEALTHCHECK).
    #[arg(long)]
    health_check: bool,
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
    let spec =
        DeckySpec::load(&cli.spec).with_context(|| format!("spec {}", cli.spec.display()))?;
    if cli.health_check {
        return health_check(&spec).await;
    }
    let _telemetry = decnet_runtime::telemetry::init("decnet-decky")?;
    let sink: Arc<dyn EventSink> = match (&cli.bus, cli.events_stdout) {
        (None, _) => Arc::new(LineSink::stdout().context("cannot start the event writer")?),
        (Some(path), false) => Arc::new(bus::BusSink::connect(path, &spec.name).await?),
        (Some(path), true) => {
            let lines: Arc<dyn EventSink> =
                Arc::new(LineSink::stdout().context("cannot start the event writer")?);
            let bus: Arc<dyn EventSink> = Arc::new(bus::BusSink::connect_lazy(path, &spec.name)?);
            Arc::new(Tee::new(vec![lines, bus]))
        }
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

/// Exit status 0 when every TCP endpoint of `spec` accepts a connection within 2 s.
async fn health_check(spec: &DeckySpec) -> anyhow::Result<()> {
    for addr in spec.tcp_endpoints() {
        match tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => anyhow::bail!("{addr}: {e}"),
            Err(_) => anyhow::bail!("{addr}: no answer within 2 s"),
        }
    }
    Ok(())
}
