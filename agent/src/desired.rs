//! The fleet the master deployed on this agent, kept on disk so an agent restart brings the
//! same deckies back: decky name → the INI fleet text that defined it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use decnet_templates::spec::DeckySpec;

/// `desired.json` in the state directory.
#[derive(Debug, Clone)]
pub struct DesiredFleet {
    path: PathBuf,
}

impl DesiredFleet {
    /// The file under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        DesiredFleet {
            path: state_dir.join("desired.json"),
        }
    }

    fn read(&self) -> anyhow::Result<BTreeMap<String, String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is corrupt", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    fn write(&self, map: &BTreeMap<String, String>) -> anyhow::Result<()> {
        crate::state::write_private(&self.path, &serde_json::to_vec_pretty(map)?)
    }

    /// Records that `names` were deployed from `ini`.
    pub fn deployed(&self, ini: &str, names: &[String]) -> anyhow::Result<()> {
        let mut map = self.read()?;
        for name in names {
            map.insert(name.clone(), ini.to_owned());
        }
        self.write(&map)
    }

    /// Records that `name` was torn down.
    pub fn removed(&self, name: &str) -> anyhow::Result<()> {
        let mut map = self.read()?;
        if map.remove(name).is_some() {
            self.write(&map)?;
        }
        Ok(())
    }

    /// The specs to start again, decky data under `data_root`.
    pub fn specs(&self, data_root: &Path) -> anyhow::Result<Vec<DeckySpec>> {
        let map = self.read()?;
        let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, text) in &map {
            by_text
                .entry(text.as_str())
                .or_default()
                .push(name.as_str());
        }
        let mut out = Vec::new();
        for (text, names) in by_text {
            let specs = crate::fleet::from_text(text, data_root)?;
            out.extend(
                specs
                    .into_iter()
                    .filter(|s| names.contains(&s.name.as_str())),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "[general]\nnet = 127.77.0.0/16\n\n[d-one]\nip = 127.77.50.1\nservices = redis\n\n[d-two]\nip = 127.77.50.2\nservices = http\n";

    #[test]
    fn deployed_deckies_come_back_and_torn_down_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let desired = DesiredFleet::new(dir.path());
        assert!(desired.specs(dir.path()).unwrap().is_empty());
        desired
            .deployed(INI, &["d-one".to_owned(), "d-two".to_owned()])
            .unwrap();
        desired.removed("d-one").unwrap();
        // A fresh handle reads what the first wrote, as after an agent restart.
        let names: Vec<String> = DesiredFleet::new(dir.path())
            .specs(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["d-two"]);
    }
}
