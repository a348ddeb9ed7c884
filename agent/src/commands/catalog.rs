//! `decnet-agent catalog`.

use crate::cli::CatalogCommand;

/// Prints one catalogue listing.
pub fn run(_command: &CatalogCommand) -> anyhow::Result<()> {
    anyhow::bail!("the catalogue is not built yet")
}
