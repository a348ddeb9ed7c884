//! The API's view of the mesh: one [`LinkInfo`] per connected host.

use decnet_mesh::quic::MasterMesh;

use crate::api::mesh::{LinkInfo, LinkState, MeshView};

/// [`MeshView`] over the live [`MasterMesh`] registry.
#[derive(Clone)]
pub struct SwarmView {
    mesh: MasterMesh,
}

impl std::fmt::Debug for SwarmView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmView").finish_non_exhaustive()
    }
}

impl SwarmView {
    /// A view of `mesh`.
    pub fn new(mesh: MasterMesh) -> Self {
        SwarmView { mesh }
    }
}

impl MeshView for SwarmView {
    fn links(&self) -> Vec<LinkInfo> {
        self.mesh
            .hosts()
            .into_iter()
            .map(|h| LinkInfo {
                host: h.host.to_string(),
                state: LinkState::Up,
                agent_version: Some(h.agent_version),
                rtt_ms: Some(h.rtt.as_secs_f64() * 1000.0),
            })
            .collect()
    }

    fn is_wired(&self) -> bool {
        true
    }

    fn control(&self) -> Option<MasterMesh> {
        Some(self.mesh.clone())
    }
}
