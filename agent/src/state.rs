//! The agent's state directory: identity (key 0600, certificate, CA), `agent.toml`, the
//! outbox and the bus socket.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Used when `--state-dir` is not given.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/decnet/agent";
/// The agent configuration written by `enroll`.
pub const AGENT_FILE: &str = "agent.toml";

/// What `enroll` learned and `run` needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// This host's name in the swarm (from the certificate).
    pub host: String,
    /// Master mesh addresses (`HOST:PORT`), tried in turn.
    pub masters: Vec<String>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// `dir`, or the default.
    pub fn new(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let root = dir.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
        let root = std::path::absolute(&root)
            .with_context(|| format!("state directory {}", root.display()))?;
        Ok(StateDir { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the durable outbox lives.
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    /// The host bus socket, alone in [`StateDir::run_dir`] so that directory can be
    /// mounted into decky containers without exposing the identity beside it.
    pub fn bus_socket(&self) -> PathBuf {
        self.run_dir().join("bus.sock")
    }

    /// The directory of the bus socket.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The enrolled host name, else this machine's hostname (for unenrolled deploys).
    pub fn host_name(&self) -> String {
        if let Ok(file) = self.load() {
            return file.host;
        }
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| decnet_event::is_field_name(h))
            .unwrap_or_else(|| "local".to_owned())
    }

    /// Where deckies keep artifacts and transcripts.
    pub fn deckies(&self) -> PathBuf {
        self.root.join("deckies")
    }

    /// Whether an identity is stored here.
    pub fn is_enrolled(&self) -> bool {
        self.root.join(decnet_pki::AGENT_KEY_FILE).exists()
    }

    /// Reads `agent.toml`.
    pub fn load(&self) -> anyhow::Result<AgentFile> {
        let path = self.root.join(AGENT_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (enroll first: decnet-agent enroll --token …)",
                path.display()
            )
        })?;
        let file: AgentFile =
            toml::from_str(&text).with_context(|| format!("{}: invalid", path.display()))?;
        if file.masters.is_empty() {
            anyhow::bail!(
                "{}: masters: must name at least one HOST:PORT",
                path.display()
            );
        }
        Ok(file)
    }

    /// Writes `agent.toml` (0600, replaced atomically).
    pub fn save(&self, file: &AgentFile) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(file)?;
        write_private(&self.root.join(AGENT_FILE), text.as_bytes())
    }
}

/// Replaces `path` with `bytes` (mode 0600) so that a crash leaves the old or the new
/// content, never a torn file: a synced temporary file renamed over it.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_file_round_trips_with_private_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(Some(tmp.path().to_path_buf())).unwrap();
        let file = AgentFile {
            host: "sensor-01".into(),
            masters: vec!["10.0.0.1:8443".into()],
        };
        state.save(&file).unwrap();
        assert_eq!(state.load().unwrap(), file);
        let mode = std::fs::metadata(tmp.path().join(AGENT_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn missing_file_says_to_enroll() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(Some(tmp.path().to_path_buf())).unwrap();
        let err = format!("{:#}", state.load().unwrap_err());
        assert!(err.contains("enroll first"), "{err}");
    }
}
