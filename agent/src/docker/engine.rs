//! Connecting to the container engine (Docker, or Podman's Docker-compatible API).

use std::path::Path;

use bollard::{API_DEFAULT_VERSION, Docker};

/// Socket paths tried, in order, when neither `--engine` nor `DOCKER_HOST` is given.
pub const DEFAULT_SOCKETS: [&str; 2] = ["/var/run/docker.sock", "/run/podman/podman.sock"];
/// Seconds an engine request may take (image imports and builds are long).
const TIMEOUT_S: u64 = 600;

/// Why the engine cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No socket to try.
    #[error(
        "no container engine found: none of {} exists; start Docker, or Podman's API (`podman system service --time=0 unix:///run/podman/podman.sock`), or set DOCKER_HOST / --engine",
        DEFAULT_SOCKETS.join(", ")
    )]
    NotFound,
    /// The engine did not answer.
    #[error("container engine at {address} does not answer: {source}")]
    Unreachable {
        /// Where we looked.
        address: String,
        /// What failed.
        source: bollard::errors::Error,
    },
}

/// Connects to `address` (`unix:///path`, `/path`, `tcp://host:port`), else `DOCKER_HOST`,
/// else the first of [`DEFAULT_SOCKETS`] that exists, and negotiates the API version
/// (Podman 4 speaks 1.41).
pub async fn connect(address: Option<&str>) -> Result<Docker, EngineError> {
    let env = std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty());
    let address = match address.map(str::to_owned).or(env) {
        Some(a) => a,
        None => DEFAULT_SOCKETS
            .iter()
            .find(|p| Path::new(p).exists())
            .map(|p| format!("unix://{p}"))
            .ok_or(EngineError::NotFound)?,
    };
    let unreachable = |source| EngineError::Unreachable {
        address: address.clone(),
        source,
    };
    let docker = if let Some(rest) = address
        .strip_prefix("tcp://")
        .or_else(|| address.strip_prefix("http://"))
    {
        Docker::connect_with_http(&format!("http://{rest}"), TIMEOUT_S, API_DEFAULT_VERSION)
    } else {
        let path = address.strip_prefix("unix://").unwrap_or(&address);
        Docker::connect_with_unix(path, TIMEOUT_S, API_DEFAULT_VERSION)
    }
    .map_err(unreachable)?;
    let docker = docker.negotiate_version().await.map_err(unreachable)?;
    docker.ping().await.map_err(unreachable)?;
    Ok(docker)
}
