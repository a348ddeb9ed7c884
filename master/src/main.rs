//! `decnet-master` binary.

use std::process::ExitCode;

use clap::Parser;
use decnet_master::cli::Cli;
use decnet_runtime::config::ConfigError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    decnet_runtime::crypto::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("decnet-master: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let _telemetry = decnet_runtime::telemetry::init("decnet-master")?;
        decnet_master::run(cli).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

/// Configuration problems print as bare `KEY: reason` lines; anything else with its causes.
fn report(error: &anyhow::Error) {
    match error.downcast_ref::<ConfigError>() {
        Some(config) => eprintln!("decnet-master: invalid configuration:\n{config}"),
        None => eprintln!("decnet-master: {error:#}"),
    }
}
