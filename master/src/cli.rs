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
    /// Sensor hosts: enrollment tokens, listing, revocation.
    Hosts(HostsArgs),
}

/// Options of `hosts`.
#[derive(Debug, Args)]
pub struct HostsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HostsCommand,
    /// Data directory of a running `decnet-master up` [default: ./var/decnet].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL of a `serve` deployment [env: DECNET_DATABASE_URL].
    #[arg(long, value_name = "URL", global = true)]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `hosts` subcommands.
#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Print a single-use token for `decnet-agent enroll --token` (only its hash is stored).
    EnrollToken {
        /// Name the host will get: ^[a-z0-9][a-z0-9-]{0,62}$.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// How long the token stays valid (1m to 7d).
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: std::time::Duration,
    },
    /// List enrolled hosts.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a host: its live link closes within a second and it can no longer connect.
    Revoke {
        /// Host name.
        name: String,
    },
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
    #[arg(long = "config", value_name = "FILE", global = true)]
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
