//! `decnet-master` binary.

use clap::Parser;

/// DECNET master: database, API, dashboard and certificate authority of a deception swarm.
#[derive(Debug, Parser)]
#[command(name = "decnet-master", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
