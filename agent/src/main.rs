//! `decnet-agent` binary.

mod cli;
mod commands;
mod control;
mod deckies;
mod desired;
mod docker;
mod driver;
mod fleet;
mod state;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    raise_fd_limit();
    decnet_runtime::crypto::install_crypto_provider();
    match cli.command {
        Command::Catalog(command) => commands::catalog::run(&command),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("agent")
                .build()
                .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
            runtime.block_on(async move {
                let _telemetry = decnet_runtime::telemetry::init("decnet-agent")?;
                match command {
                    Command::Enroll(args) => commands::enroll::run(args).await,
                    Command::Run(args) => commands::run::run(args).await,
                    Command::Deploy(args) => commands::deploy::run(args).await,
                    Command::Teardown(args) => commands::docker::teardown(args).await,
                    Command::Image(crate::cli::ImageCommand::Build(args)) => {
                        commands::docker::image_build(args).await
                    }
                    Command::Catalog(_) => Ok(()),
                }
            })
        }
    }
}

/// Every local decky holds a listener per service plus its connections: lift the soft
/// open-file limit to the hard one so a large fleet is bounded by the host, not a default.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        eprintln!("warning: cannot raise the open-file limit from {soft} to {hard}: {e}");
    }
}
