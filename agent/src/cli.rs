//! Command-line interface of `decnet-agent`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// DECNET sensor agent: runs deckies and streams what attackers do to the master.
#[derive(Debug, Parser)]
#[command(name = "decnet-agent", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The agent's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Join this host to a swarm with a token from `decnet-master hosts enroll-token`.
    Enroll(EnrollArgs),
    /// Run the enrolled agent: host bus, outbox, link to the master, deckies.
    Run(RunArgs),
    /// Show the catalogue of services, archetypes and distros.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Deploy a fleet of deckies from flags or an INI fleet file.
    Deploy(DeployArgs),
    /// Remove container deckies (docker driver): their containers, routes and networks.
    Teardown(TeardownArgs),
    /// The decky container image.
    #[command(subcommand)]
    Image(ImageCommand),
}

/// Where the container engine is and which state directory the docker driver uses.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Container engine API (`unix:///run/podman/podman.sock`, `tcp://HOST:PORT`)
    /// [default: $DOCKER_HOST, else /var/run/docker.sock, else /run/podman/podman.sock].
    #[arg(long, value_name = "ADDRESS")]
    pub engine: Option<String>,
    /// Agent state directory (desired deckies, image record, decky data, bus socket)
    /// [default: /var/lib/decnet/agent].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Options of `teardown`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["decky", "all"])))]
pub struct TeardownArgs {
    /// The decky to remove (repeatable).
    #[arg(long, value_name = "NAME")]
    pub decky: Vec<String>,
    /// Remove every decky of this host, and anything else carrying its DECNET labels.
    #[arg(long)]
    pub all: bool,
    /// Engine and state directory.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `image` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the decnet-decky image (Dockerfile on a pinned base when a registry answers,
    /// else an offline root filesystem import) and record it by digest.
    Build(ImageBuildArgs),
}

/// Options of `image build`.
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// The decnet-decky binary to package [default: next to decnet-agent].
    #[arg(long, value_name = "FILE")]
    pub decky_bin: Option<PathBuf>,
    /// Base image of the Dockerfile build.
    #[arg(long, value_name = "IMAGE", default_value = "debian:bookworm-slim")]
    pub base: String,
    /// Do not try a registry: import a root filesystem built from local files.
    #[arg(long)]
    pub offline: bool,
    /// Engine and state directory.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Options of `enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The enrollment token (`decnet1.…`) [env: DECNET_ENROLL_TOKEN].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "DECNET_ENROLL_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
    /// Master enrollment address `HOST:PORT`, overriding the addresses in the token.
    #[arg(long, value_name = "HOST:PORT")]
    pub master: Option<String>,
    /// Where the key, certificates and agent configuration are kept [default: /var/lib/decnet/agent].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Replace an existing enrollment in the state directory.
    #[arg(long)]
    pub force: bool,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// State directory written by `enroll` [default: /var/lib/decnet/agent].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// INI fleet file deployed with the local driver at start.
    #[arg(long = "fleet", value_name = "FILE", conflicts_with = "demo")]
    pub fleet: Option<PathBuf>,
    /// Deploy the three-decky demo fleet on 127.77.0.10-12 (ports +10000 without root).
    #[arg(long)]
    pub demo: bool,
    /// First address of the demo fleet.
    #[arg(
        long,
        value_name = "IP",
        default_value = "127.77.0.10",
        requires = "demo"
    )]
    pub demo_first_ip: std::net::Ipv4Addr,
    /// Run container deckies (deployed with `deploy --driver docker`) instead of in-process
    /// ones: reconciler, collector into the outbox.
    #[arg(long, value_enum, default_value = "local")]
    pub driver: Driver,
    /// Container engine API (docker driver) [default: $DOCKER_HOST, else the Docker or Podman socket].
    #[arg(long, value_name = "ADDRESS")]
    pub engine: Option<String>,
    /// Added to every demo port [default: 0 as root, 10000 otherwise].
    #[arg(long, value_name = "N", requires = "demo")]
    pub demo_port_offset: Option<u16>,
}

/// `catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// The service emulators, their ports and whether they are implemented.
    Services(CatalogArgs),
    /// The archetypes (bundles of services with a persona).
    Archetypes(CatalogArgs),
    /// The distro profiles.
    Distros(CatalogArgs),
}

/// Output options of the catalogue listings.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Decky drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Driver {
    /// In-process deckies bound to loopback addresses (development, demo, tests).
    Local,
    /// One container per decky through the Docker Engine API (Docker or Podman).
    Docker,
}

/// Options of `deploy`.
#[derive(Debug, Args)]
#[command(after_help = DEPLOY_HELP)]
pub struct DeployArgs {
    /// INI fleet file (the predecessor's format: [general], [decky-01], [decky-01.ssh], [custom-NAME]).
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Number of deckies to generate when no fleet file is given.
    #[arg(long, value_name = "N")]
    pub deckies: Option<u32>,
    /// Comma-separated service slugs for every generated decky.
    #[arg(long, value_name = "LIST")]
    pub services: Option<String>,
    /// Pick 1 to 3 random implemented services per decky.
    #[arg(long)]
    pub randomize_services: bool,
    /// Archetype of every generated decky (services, OS family, distros).
    #[arg(long, value_name = "NAME")]
    pub archetype: Option<String>,
    /// Distro profile of every generated decky (default: round-robin).
    #[arg(long, value_name = "NAME")]
    pub distro: Option<String>,
    /// Pick a random distro per decky.
    #[arg(long)]
    pub randomize_distros: bool,
    /// Seed of the random choices (same seed, same fleet) [default: random].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Subnet the decky addresses come from (CIDR) [default: 127.77.0.0/16].
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<String>,
    /// First decky address [default: .10 of the subnet].
    #[arg(long, value_name = "IP")]
    pub ip_start: Option<String>,
    /// Parent interface of the decky network (docker driver).
    #[arg(long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// Use ipvlan L2 instead of macvlan (docker driver).
    #[arg(long)]
    pub ipvlan: bool,
    /// Decky driver.
    #[arg(long, value_enum, default_value = "local")]
    pub driver: Driver,
    /// Print the plan and exit without deploying.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan as JSON (with --dry-run).
    #[arg(long)]
    pub json: bool,
    /// Run the fleet in this process until SIGTERM or SIGINT (local driver).
    #[arg(long)]
    pub foreground: bool,
    /// Directory under which each decky keeps its artifacts and transcripts
    /// (DIR/NAME) [default: $TMPDIR/decnet-local for the local driver].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Engine and state directory (docker driver).
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Extra help of `deploy`.
const DEPLOY_HELP: &str = "\
Local driver (--driver local --foreground):
  Every decky runs inside this process, bound to its own loopback address
  (127.77.0.0/16 unless --subnet or [general] net= says otherwise). Once all
  deckies listen, stdout gets exactly one line per decky:
      NAME IP service,service,...
  followed by the deckies' events as RFC 5424 lines (each starts with '<').
  Logs go to stderr. SIGTERM or SIGINT stops every decky and exits 0.

  Ports below 1024 (ssh 22, http 80, ...) need root or CAP_NET_BIND_SERVICE
  (setcap cap_net_bind_service=+ep decnet-agent). Without it the deploy fails
  with 'permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE'
  and nothing keeps running; set port= in [DECKY.SERVICE] sections to run
  unprivileged.

Docker driver (--driver docker):
  One container per decky from the decnet-decky image (built on first use, or
  with `decnet-agent image build`), on a macvlan network over --interface
  (ipvlan L2 with --ipvlan; a bridge without --interface), with the persona's
  MAC vendor, hostname and TCP/IP sysctls. The deckies are recorded in
  STATE/docker/desired.json; deploy returns once every decky answers and
  prints one 'NAME IP service,...' line per decky. The containers keep running
  after deploy exits; `decnet-agent run --driver docker` keeps them converged,
  and `decnet-agent teardown --decky NAME | --all` removes them. With
  --foreground, deploy itself reconciles and prints the deckies' events as
  RFC 5424 lines until SIGTERM (the containers stay). Needs root for the host
  shim interface (without it the deckies run but the host cannot reach them).

Services listed by `decnet-agent catalog services` as not implemented are
refused at deploy (--dry-run still shows them, flagged).";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn enroll_takes_token_and_master() {
        let cli = Cli::try_parse_from([
            "decnet-agent",
            "enroll",
            "--token",
            "decnet1.x",
            "--master",
            "10.0.0.1:8444",
        ])
        .unwrap();
        let Command::Enroll(args) = cli.command else {
            panic!("not enroll")
        };
        assert_eq!(args.token, "decnet1.x");
        assert_eq!(args.master.as_deref(), Some("10.0.0.1:8444"));
    }
}
