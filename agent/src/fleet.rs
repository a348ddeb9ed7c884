//! Loading an INI fleet file into decky specs for `run --fleet`.

use std::path::Path;

use decnet_templates::spec::DeckySpec;

/// Parses the fleet file at `path`; decky data directories go under `data_root`.
pub fn load(path: &Path, _data_root: &Path) -> anyhow::Result<Vec<DeckySpec>> {
    anyhow::bail!(
        "{}: fleet files are not supported by run yet",
        path.display()
    )
}
