//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// DECNET master: database, API, dashboard and certificate authority of a deception swarm.
#[derive(Debug, Parser)]
#[command(name = "decnet-master", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The master's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// All-in-one: private PostgreSQL under the data directory, migrations, API on 127.0.0.1.
    Up(UpArgs),
    /// Production: the API against an external PostgreSQL.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Options of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory for the embedded cluster and generated secrets [default: ./var/decnet].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the API [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// PostgreSQL URL, e.g. postgres://decnet:…@db.example/decnet [env: DECNET_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Address of the API [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Options of `migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// PostgreSQL URL [env: DECNET_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print it as TOML, secrets redacted.
    Check(ConfigArg),
}

/// The configuration file option shared by every command.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// TOML configuration file [default: /etc/decnet/master.toml when present].
    #[arg(long = "config", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_flags_parse() {
        let cli = Cli::try_parse_from([
            "decnet-master",
            "up",
            "--data-dir",
            "/d",
            "--listen",
            "127.0.0.1:1",
        ])
        .unwrap();
        let Command::Up(up) = cli.command else {
            panic!("not up")
        };
        assert_eq!(up.data_dir, Some(PathBuf::from("/d")));
        assert_eq!(up.listen.as_deref(), Some("127.0.0.1:1"));
    }
}
