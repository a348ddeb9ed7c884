//! `decnet-swarm-demo`: the swarm end to end in network namespaces (run as root); prints one
//! JSON line with what it saw.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

/// Builds a master, two enrolled agents with three deckies each and an attacker in network
/// namespaces, attacks, injects faults (partition, agent SIGKILL, PostgreSQL restart) and
/// checks that every event is stored exactly once.
#[derive(Debug, Parser)]
#[command(name = "decnet-swarm-demo", version, about)]
struct Cli {
    /// Directory holding decnet-master and decnet-agent [default: next to this program].
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Seconds sensor-01 stays cut off from the master.
    #[arg(long, default_value_t = 30)]
    partition_secs: u64,
    /// Internal: run only the OTLP receiver on this address (the demo starts itself so).
    #[arg(long, hide = true, value_name = "ADDR")]
    otlp_receiver: Option<std::net::SocketAddr>,
    /// Internal: where the receiver writes spans.
    #[arg(long, hide = true, value_name = "FILE")]
    otlp_out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    decnet_runtime::crypto::install_crypto_provider();
    if let (Some(listen), Some(out)) = (cli.otlp_receiver, cli.otlp_out.clone()) {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(decnet_integration::swarm::otlp::serve(listen, out));
    }
    let bin_dir = match cli.bin_dir {
        Some(dir) => dir,
        None => std::env::current_exe()?
            .parent()
            .context("no directory for this program")?
            .to_path_buf(),
    };
    let report = decnet_integration::swarm::run(&decnet_integration::swarm::Options {
        bin_dir,
        partition: Duration::from_secs(cli.partition_secs),
    })?;
    println!("{}", serde_json::to_string(&report)?);
    let ok = report.missing == 0 && report.duplicates == 0 && report.faults_survived.len() == 3;
    if !ok {
        anyhow::bail!("events were lost or duplicated");
    }
    if report.trace.is_none() {
        anyhow::bail!("no trace spans decky, agent, mesh and master ingest");
    }
    if !report.transcript_replayed {
        anyhow::bail!("the ssh session transcript did not replay through the API");
    }
    Ok(())
}
