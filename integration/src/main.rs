//! `decnet-bench`: DECNET benchmarks, measured side by side with their peers.

use clap::{Parser, Subcommand};

/// DECNET benchmarks, measured side by side with their peers in the same run.
#[derive(Debug, Parser)]
#[command(name = "decnet-bench", version, about)]
struct Cli {
    /// Print exactly one JSON object on stdout instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// The master's REST API and live stream: 1M events, 64 connections per endpoint.
    Api,
    /// Report-format self check: prints an empty report (used by CI to keep the runner building).
    Selftest,
    /// Host bus versus nats-server: socket throughput and latency, in-process throughput.
    Bus {
        /// Internal: serve our broker on this UNIX socket until killed (the
        /// benchmark starts itself in this mode, as it starts nats-server).
        #[arg(long, hide = true)]
        serve_socket: Option<std::path::PathBuf>,
        /// Internal: run only the metrics whose name starts with this (for profiling).
        #[arg(long, hide = true)]
        only: Option<String>,
    },
    /// One decnet-decky on loopback: redis connection rate, idle RSS, RSS with 1,000 connections.
    Decky,
    /// The agent's local driver: 100 deckies up and torn down, RSS per decky at 1,000.
    Fleet,
    /// One agent→master QUIC mTLS link with the durable outbox: throughput, latency, resume after a partition.
    Mesh,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = match cli.bench {
        Bench::Selftest => decnet_integration::report::Report {
            bench: "selftest".into(),
            metrics: Vec::new(),
        },
        Bench::Bus {
            serve_socket: Some(path),
            ..
        } => return decnet_integration::bench::bus::serve(&path).await,
        Bench::Bus {
            serve_socket: None,
            only,
        } => decnet_integration::bench::bus::run(only.as_deref()).await?,
        Bench::Api => decnet_integration::bench::api::run().await?,
        Bench::Decky => decnet_integration::bench::decky::run().await?,
        Bench::Mesh => decnet_integration::bench::mesh::run().await?,
        Bench::Fleet => decnet_integration::bench::fleet::run().await?,
    };
    report.print(cli.json)
}
