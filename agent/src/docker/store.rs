//! `docker/desired.json`: the container deckies this agent keeps running. It survives
//! agent restarts; the reconciler converges the engine on it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::plan::DesiredDecky;

/// The desired-state file.
#[derive(Debug, Clone)]
pub struct DesiredStore {
    path: PathBuf,
}

impl DesiredStore {
    /// `STATE/docker/desired.json`.
    pub fn new(state_root: &Path) -> Self {
        DesiredStore {
            path: state_root.join("docker").join("desired.json"),
        }
    }

    /// Every desired decky by name.
    pub fn read(&self) -> anyhow::Result<BTreeMap<String, DesiredDecky>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is corrupt", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    fn write(&self, map: &BTreeMap<String, DesiredDecky>) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        crate::state::write_private(&self.path, &serde_json::to_vec_pretty(map)?)
    }

    /// Adds or replaces `deckies`.
    pub fn upsert(&self, deckies: &[DesiredDecky]) -> anyhow::Result<()> {
        let mut map = self.read()?;
        for d in deckies {
            map.insert(d.name.clone(), d.clone());
        }
        self.write(&map)
    }

    /// Forgets `name`; false when it was not desired.
    pub fn remove(&self, name: &str) -> anyhow::Result<bool> {
        let mut map = self.read()?;
        let had = map.remove(name).is_some();
        if had {
            self.write(&map)?;
        }
        Ok(had)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::plan::NetSpec;

    fn decky(name: &str) -> DesiredDecky {
        DesiredDecky {
            name: name.into(),
            spec_toml: format!(
                "name = \"{name}\"\nhostname = \"h\"\nbind = [\"10.0.0.9\"]\n[services.http]\n"
            ),
            custom: vec![],
            network: NetSpec {
                subnet: "10.0.0.0/24".into(),
                gateway: None,
                parent: None,
                ipvlan: false,
            },
        }
    }

    #[test]
    fn upsert_and_remove_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = DesiredStore::new(dir.path());
        assert!(store.read().unwrap().is_empty());
        store.upsert(&[decky("a"), decky("b")]).unwrap();
        let again = DesiredStore::new(dir.path());
        assert_eq!(again.read().unwrap().len(), 2);
        assert!(again.remove("a").unwrap());
        assert!(!again.remove("a").unwrap());
        assert_eq!(store.read().unwrap().keys().collect::<Vec<_>>(), vec!["b"]);
    }
}
