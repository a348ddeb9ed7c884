//! DECNET master: embedded PostgreSQL, ingest, REST API and dashboard, certificate authority.

pub mod api;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod check;
pub mod cli;
pub mod config;
pub mod embedded;
pub mod embedded_agent;
pub mod hosts_cmd;
pub mod http;
pub mod ingest;
pub mod migrate;
pub mod search;
pub mod serve;
pub mod sse;
pub mod store;
pub mod swarm;
pub mod up;
pub mod web_assets;

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ConfigCommand};

/// Runs one command of the CLI to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Config(ConfigCommand::Check(arg)) => check::run(arg),
        Command::Up(args) => up::run(args, shutdown_on_signal()).await,
        Command::Serve(args) => serve::run(args, shutdown_on_signal()).await,
        Command::Migrate(args) => migrate::run(args, shutdown_on_signal()).await,
        Command::Hosts(args) => hosts_cmd::run(args).await,
    }
}

/// A token cancelled on SIGINT or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let name = decnet_runtime::shutdown::signal().await;
        tracing::info!(signal = name, "shutting down");
        cancel.cancel();
    });
    token
}
