//! What the API shows of the mesh: per-host link state, agent version and round-trip time.
//!
//! The mesh registry implements [`MeshView`]; until it is wired in, [`NoMesh`] reports
//! every link as unknown.

use serde::Serialize;
use utoipa::ToSchema;

/// State of an agent's link to the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Connected and answering.
    Up,
    /// Connecting or re-connecting.
    Connecting,
    /// Not connected.
    Down,
    /// The master has no mesh view (not wired in this deployment).
    Unknown,
}

/// One agent's link.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LinkInfo {
    /// Host name.
    pub host: String,
    /// Link state.
    pub state: LinkState,
    /// Agent version reported over the link.
    pub agent_version: Option<String>,
    /// Last measured round-trip time in milliseconds.
    pub rtt_ms: Option<f64>,
}

/// The mesh as the API sees it.
pub trait MeshView: Send + Sync + std::fmt::Debug {
    /// Every known link.
    fn links(&self) -> Vec<LinkInfo>;

    /// The link of one host.
    fn link(&self, host: &str) -> LinkInfo {
        self.links()
            .into_iter()
            .find(|l| l.host == host)
            .unwrap_or_else(|| LinkInfo {
                host: host.to_owned(),
                state: if self.is_wired() {
                    LinkState::Down
                } else {
                    LinkState::Unknown
                },
                agent_version: None,
                rtt_ms: None,
            })
    }

    /// Whether a real mesh stands behind this view.
    fn is_wired(&self) -> bool;

    /// The mesh itself, for control calls; `None` without one.
    fn control(&self) -> Option<decnet_mesh::quic::MasterMesh> {
        None
    }
}

/// No mesh: every link unknown.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMesh;

impl MeshView for NoMesh {
    fn links(&self) -> Vec<LinkInfo> {
        Vec::new()
    }

    fn is_wired(&self) -> bool {
        false
    }
}
