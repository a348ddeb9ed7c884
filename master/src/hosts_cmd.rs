//! `decnet-master hosts …`: enrollment tokens, listing and revocation from the shell.
//!
//! These talk to the database directly: the running master picks a revocation up within a
//! second (see `swarm::sync`), and tokens carry what the master wrote into its PKI directory.

use anyhow::{Context as _, bail};
use decnet_pgcluster::Cluster;
use decnet_runtime::config::Secret;

use crate::cli::{HostsArgs, HostsCommand};
use crate::config::{DEFAULT_SERVE_PKI_DIR, MasterConfig, Mode};
use crate::embedded;
use crate::store::Store;
use crate::store::hosts;
use crate::swarm::Enrollment;
use crate::swarm::tokens;

/// Runs one `hosts` subcommand.
pub async fn run(args: HostsArgs) -> anyhow::Result<()> {
    let mut config = MasterConfig::load(args.config.path.as_deref())?;
    if let Some(url) = args.database_url {
        config.database_url = Some(Secret::new(url));
    }
    if let Some(dir) = args.data_dir {
        config.embedded.data_dir = dir;
    }
    let valid = config.validate(Mode::Check)?;
    let embedded_dir =
        std::path::absolute(&valid.config.embedded.data_dir).context("embedded.data_dir")?;
    let (pg, default_pki) = match valid.database {
        Some(pg) => (pg, std::path::PathBuf::from(DEFAULT_SERVE_PKI_DIR)),
        None => {
            if !embedded_dir.join("pg").exists() {
                bail!(
                    "no database: {} holds no embedded cluster; pass --data-dir of a running \
                     `decnet-master up` or --database-url",
                    embedded_dir.display()
                );
            }
            (
                Cluster::connection_config_at(&embedded_dir.join("pg"), embedded::DATABASE),
                embedded_dir.join("pki"),
            )
        }
    };
    let pki_dir = valid.config.mesh.pki_dir.clone().unwrap_or(default_pki);
    let mut settings = valid.config.database.clone();
    settings.connect_attempts = 2;
    let store = Store::connect(pg, &settings)
        .await
        .context("cannot reach the database (is the master running?)")?;
    let result = dispatch(args.command, &store, &pki_dir).await;
    store.close();
    result
}

async fn dispatch(
    command: HostsCommand,
    store: &Store,
    pki_dir: &std::path::Path,
) -> anyhow::Result<()> {
    match command {
        HostsCommand::EnrollToken { name, ttl } => {
            let enrollment = Enrollment::load(pki_dir)?;
            let created = tokens::create(store, &enrollment, &name, ttl, None).await?;
            tracing::info!(host = %name, ?ttl, by = "cli", "enrollment token created");
            eprintln!(
                "enrollment token for {name}, valid until {} (single use):",
                created
                    .expires_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            );
            println!("{}", created.token);
            eprintln!("on the sensor host run: decnet-agent enroll --token <the token above>");
        }
        HostsCommand::List { json } => {
            let list = hosts::list(store).await?;
            if json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|h| {
                        serde_json::json!({
                            "name": h.name,
                            "status": h.status.as_str(),
                            "agent_version": h.agent_version,
                            "address": h.address,
                            "cert_fingerprints": h.cert_fingerprints,
                            "enrolled_at": h.enrolled_at.unix_timestamp(),
                            "last_seen": h.last_seen.map(|t| t.unix_timestamp()),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<24} {:<9} {:<10} ADDRESS", "NAME", "STATUS", "VERSION");
                for h in &list {
                    println!(
                        "{:<24} {:<9} {:<10} {}",
                        h.name,
                        h.status.as_str(),
                        h.agent_version.as_deref().unwrap_or("-"),
                        h.address.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        HostsCommand::Revoke { name } => {
            let host = hosts::by_name(store, &name)
                .await?
                .with_context(|| format!("no host named {name}"))?;
            if !hosts::revoke(store, host.id).await? {
                bail!("host {name} is already revoked");
            }
            tracing::warn!(host = %name, by = "cli", "host revoked");
            println!("revoked {name}");
        }
    }
    Ok(())
}
