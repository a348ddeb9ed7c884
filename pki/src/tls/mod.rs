//! rustls configurations for the mesh and for enrollment.
//!
//! Every configuration is built with the ring provider passed explicitly, so a process that
//! links several providers never depends on which one was installed as the default. All
//! configurations speak TLS 1.3 only (QUIC requires it).

mod client;
mod server;
mod verifier;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

pub use client::{enrollment_client_config, mesh_client_config};
pub use server::{enrollment_server_config, mesh_server_config};
pub use verifier::{CaPinMismatch, CaPinnedServerVerifier, PinnedClientVerifier};

/// ALPN protocol of the QUIC mesh.
pub const ALPN_MESH: &[u8] = b"decnet-mesh/1";
/// ALPN protocol of the enrollment endpoint.
pub const ALPN_ENROLL: &[u8] = b"decnet-enroll/1";

/// The workspace's one crypto provider (ring), as every config here uses it.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn alpn_list(alpn: &[&[u8]]) -> Vec<Vec<u8>> {
    alpn.iter().map(|p| p.to_vec()).collect()
}
