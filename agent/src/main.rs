//! `decnet-agent` binary.

use clap::Parser;

/// DECNET sensor agent: runs deckies and streams what attackers do to the master.
#[derive(Debug, Parser)]
#[command(name = "decnet-agent", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
