//! Fleet files and the demo fleet as decky specs for `run`.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Context as _;
use decnet_templates::fleet::{self, FleetPlan, SpecOptions};
use decnet_templates::spec::DeckySpec;

/// Parses the INI fleet file at `path`; decky data directories go under `data_root`.
pub fn load(path: &Path, data_root: &Path) -> anyhow::Result<Vec<DeckySpec>> {
    let plan = fleet::load_ini(path).with_context(|| format!("fleet file {}", path.display()))?;
    specs(&plan, data_root)
}

/// Parses INI fleet text sent by the master.
pub fn from_text(text: &str, data_root: &Path) -> anyhow::Result<Vec<DeckySpec>> {
    let plan = fleet::from_ini(text).context("fleet file")?;
    specs(&plan, data_root)
}

/// The three demo deckies from `first_ip`. Without root, ports below 1024 cannot be bound,
/// so by default every port is moved up by 10000 (ssh on 10022, http on 10080, ...).
pub fn demo(
    first_ip: Ipv4Addr,
    port_offset: Option<u16>,
    data_root: &Path,
) -> anyhow::Result<Vec<DeckySpec>> {
    let offset = port_offset.unwrap_or(if nix::unistd::Uid::effective().is_root() {
        0
    } else {
        10_000
    });
    let plan = fleet::demo_fleet(first_ip, offset).context("demo fleet")?;
    specs(&plan, data_root)
}

fn specs(plan: &FleetPlan, data_root: &Path) -> anyhow::Result<Vec<DeckySpec>> {
    plan.check_deployable()?;
    let opts = SpecOptions {
        data_root: data_root.to_path_buf(),
        host: None,
    };
    Ok(plan.specs(&opts)?)
}
