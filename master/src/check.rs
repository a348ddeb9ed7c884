//! `decnet-master config check`: validate and print the effective configuration.

use crate::cli::ConfigArg;
use crate::config::{MasterConfig, Mode};

/// Prints the effective configuration as TOML with secrets redacted; errors if invalid.
pub fn run(arg: ConfigArg) -> anyhow::Result<()> {
    let config = MasterConfig::load(arg.path.as_deref())?;
    let valid = config.validate(Mode::Check)?;
    print!("{}", valid.config.to_redacted_toml()?);
    Ok(())
}
