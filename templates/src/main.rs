//! `decnet-decky` binary.

use clap::Parser;

/// Run one decky: all of its emulated services in one process.
#[derive(Debug, Parser)]
#[command(name = "decnet-decky", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
