//! `decnet-agent deploy`.

use crate::cli::DeployArgs;

/// Plans and deploys a fleet.
pub async fn run(_args: DeployArgs) -> anyhow::Result<()> {
    anyhow::bail!("deploy is not built yet")
}
