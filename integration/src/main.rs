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
    /// Report-format self check: prints an empty report (used by CI to keep the runner building).
    Selftest,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = match cli.bench {
        Bench::Selftest => decnet_integration::report::Report {
            bench: "selftest".into(),
            metrics: Vec::new(),
        },
    };
    report.print(cli.json)
}
