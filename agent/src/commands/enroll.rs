//! `decnet-agent enroll`: key generated here, CSR sent, certificate stored.

use std::time::SystemTime;

use anyhow::{Context as _, bail};
use decnet_mesh::enroll::{EnrollOptions, enroll_with_details};
use decnet_mesh::quic::DEFAULT_MESH_PORT;
use decnet_pki::EnrollmentToken;

use crate::cli::EnrollArgs;
use crate::state::{AgentFile, StateDir};

/// Enrolls this host with the master named in the token.
pub async fn run(args: EnrollArgs) -> anyhow::Result<()> {
    let token = EnrollmentToken::decode(args.token.trim())
        .context("--token: not a DECNET enrollment token (it starts with decnet1.)")?;
    token
        .check_not_expired(SystemTime::now())
        .context("--token: ask the master's operator for a new one")?;
    let state = StateDir::new(args.state_dir)?;
    if state.is_enrolled() && !args.force {
        bail!(
            "{} already holds an enrollment; pass --force to replace it",
            state.root().display()
        );
    }
    let options = EnrollOptions {
        master: args.master.clone(),
        ..EnrollOptions::default()
    };
    let enrolled = enroll_with_details(&token, &options)
        .await
        .context("enrollment failed")?;
    let masters = if enrolled.mesh_addrs.is_empty() {
        // An older master names no mesh address: the documented default port beside it.
        token
            .master_addrs
            .iter()
            .filter_map(|a| {
                a.rsplit_once(':')
                    .map(|(h, _)| format!("{h}:{DEFAULT_MESH_PORT}"))
            })
            .collect()
    } else {
        enrolled.mesh_addrs
    };
    enrolled
        .identity
        .store(state.root())
        .with_context(|| format!("cannot store the identity in {}", state.root().display()))?;
    state.save(&AgentFile {
        host: enrolled.identity.host().to_string(),
        masters: masters.clone(),
    })?;
    tracing::info!(host = %enrolled.identity.host(), "enrolled");
    println!(
        "enrolled as {} (certificate {}, CA {}); masters: {}",
        enrolled.identity.host(),
        enrolled.identity.fingerprint(),
        enrolled.identity.ca_fingerprint(),
        masters.join(", ")
    );
    println!(
        "next: decnet-agent run --state-dir {}",
        state.root().display()
    );
    Ok(())
}
