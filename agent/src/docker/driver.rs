//! The engine side of the docker driver: create, start, list and remove the containers
//! and networks of this agent's deckies. The reconciler decides *what*; this does it.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
    StartContainerOptions,
};

use super::network;
use super::plan::{
    self, DesiredDecky, HostContext, LABEL_BYOS, LABEL_DECKY, LABEL_HOST, LABEL_NETWORK,
    LABEL_PARENT, LABEL_SPEC_HASH,
};

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The engine refused.
    #[error("{what}: {source}")]
    Engine {
        /// What was attempted.
        what: String,
        /// Engine error.
        source: bollard::errors::Error,
    },
    /// A host file or directory.
    #[error("{what}: {source}")]
    Io {
        /// What was attempted.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The plan.
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// The network.
    #[error(transparent)]
    Network(#[from] network::NetworkError),
}

fn engine(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DriverError {
    let what = what.into();
    move |source| DriverError::Engine { what, source }
}

/// One container of this agent, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualContainer {
    /// Container name (without the leading `/`).
    pub name: String,
    /// The decky it belongs to.
    pub decky: String,
    /// The custom service it runs, if it is not the decky container itself.
    pub byos: Option<String>,
    /// Its `decnet.spec-hash` label.
    pub hash: String,
    /// Whether it runs.
    pub running: bool,
}

/// The engine, as this agent's decky driver.
#[derive(Debug, Clone)]
pub struct DockerDriver {
    docker: Docker,
    ctx: HostContext,
}

impl DockerDriver {
    /// A driver creating containers described by `ctx`.
    pub fn new(docker: Docker, ctx: HostContext) -> Self {
        DockerDriver { docker, ctx }
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The host context.
    pub fn context(&self) -> &HostContext {
        &self.ctx
    }

    fn host_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_HOST}={}", self.ctx.host)],
        )])
    }

    /// Every container carrying this host's label, running or not.
    pub async fn actual(&self) -> Result<Vec<ActualContainer>, DriverError> {
        let list = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(self.host_filter()),
                ..Default::default()
            }))
            .await
            .map_err(engine("list containers"))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let labels = c.labels.unwrap_or_default();
                let name = c.names?.first()?.trim_start_matches('/').to_owned();
                Some(ActualContainer {
                    name,
                    decky: labels.get(LABEL_DECKY)?.clone(),
                    byos: labels.get(LABEL_BYOS).cloned(),
                    hash: labels.get(LABEL_SPEC_HASH).cloned().unwrap_or_default(),
                    running: c.state.map(|s| s.to_string()).as_deref() == Some("running"),
                })
            })
            .collect())
    }

    /// Writes the decky's spec and data directories, owned so the decky's user can use
    /// them and the agent can read what it writes (no manual chown, DEBT-035).
    fn prepare_dirs(&self, d: &DesiredDecky) -> Result<(), DriverError> {
        let io = |what: String| move |source| DriverError::Io { what, source };
        let spec_dir = self.ctx.spec_dir(&d.name);
        std::fs::create_dir_all(&spec_dir).map_err(io(format!("create {}", spec_dir.display())))?;
        let spec_file = spec_dir.join("decky.toml");
        std::fs::write(&spec_file, &d.spec_toml)
            .map_err(io(format!("write {}", spec_file.display())))?;
        for p in [&spec_dir, &spec_file] {
            let mode = if p.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .map_err(io(format!("chmod {}", p.display())))?;
        }
        let data = self.ctx.data_dir(&d.name);
        std::fs::create_dir_all(&data).map_err(io(format!("create {}", data.display())))?;
        if nix::unistd::Uid::effective().is_root() {
            give_to_decky_user(&data).map_err(io(format!("chown {}", data.display())))?;
        }
        Ok(())
    }

    /// Creates the decky networks of `deckies` that do not exist yet, one at a time, so
    /// that concurrent [`DockerDriver::create`]s never race to make one.
    pub async fn ensure_networks<'a>(
        &self,
        deckies: impl IntoIterator<Item = &'a DesiredDecky>,
    ) -> Result<(), DriverError> {
        let mut done = BTreeSet::new();
        for d in deckies {
            if done.insert(d.network.network_name()) {
                network::ensure(&self.docker, &d.network, &self.ctx.host).await?;
            }
        }
        Ok(())
    }

    /// Creates and starts the decky's containers (removing stale ones of the same names)
    /// and routes the host to it. Its network must exist ([`DockerDriver::ensure_networks`]).
    pub async fn create(&self, d: &DesiredDecky) -> Result<(), DriverError> {
        self.prepare_dirs(d)?;
        self.remove_decky(&d.name).await?;
        let (name, body) = plan::decky_container(d, &self.ctx)?;
        self.create_and_start(&name, body).await?;
        for b in &d.custom {
            let (name, body) = plan::byos_container(d, b, &self.ctx)?;
            self.create_and_start(&name, body).await?;
        }
        if let Err(e) = network::route_to(&d.network, d.ip()?) {
            tracing::warn!(decky = %d.name, error = %e, "the host cannot reach this decky (the shim needs root / CAP_NET_ADMIN)");
        }
        tracing::info!(decky = %d.name, container = %plan::container_name(&d.name), custom = d.custom.len(), "container decky started");
        Ok(())
    }

    async fn create_and_start(
        &self,
        name: &str,
        body: bollard::models::ContainerCreateBody,
    ) -> Result<(), DriverError> {
        self.docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.to_owned()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(engine(format!("create container {name}")))?;
        self.start(name).await
    }

    /// Starts an existing container.
    pub async fn start(&self, name: &str) -> Result<(), DriverError> {
        self.docker
            .start_container(name, None::<StartContainerOptions>)
            .await
            .map_err(engine(format!("start container {name}")))
    }

    /// Removes every container of decky `name` (forcefully; a missing one is fine).
    pub async fn remove_decky(&self, decky: &str) -> Result<(), DriverError> {
        let names: Vec<String> = self
            .actual()
            .await?
            .into_iter()
            .filter(|c| c.decky == decky)
            .map(|c| c.name)
            .collect();
        // Custom services first: they live in the decky container's namespace.
        let (byos, main): (Vec<_>, Vec<_>) = names
            .into_iter()
            .partition(|n| *n != plan::container_name(decky));
        for name in byos.into_iter().chain(main) {
            self.remove_container(&name).await?;
        }
        Ok(())
    }

    /// Removes one container by name.
    pub async fn remove_container(&self, name: &str) -> Result<(), DriverError> {
        match self
            .docker
            .remove_container(
                name,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(engine(format!("remove container {name}"))(e)),
        }
    }

    /// Removes DECNET networks of this host that no container uses and no desired decky
    /// needs, and their shims.
    pub async fn reap_networks(
        &self,
        needed: &BTreeSet<String>,
    ) -> Result<Vec<String>, DriverError> {
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(self.host_filter()),
            }))
            .await
            .map_err(engine("list networks"))?;
        let mut removed = Vec::new();
        for n in networks {
            let Some(name) = n.name else { continue };
            let labels = n.labels.unwrap_or_default();
            if !labels.contains_key(LABEL_NETWORK) || needed.contains(&name) {
                continue;
            }
            let users = self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(HashMap::from([("network".to_owned(), vec![name.clone()])])),
                    ..Default::default()
                }))
                .await
                .map_err(engine("list containers"))?;
            if !users.is_empty() {
                continue;
            }
            let parent = labels.get(LABEL_PARENT).cloned();
            match self.docker.remove_network(&name).await {
                Ok(()) => {
                    if let Some(parent) = parent {
                        network::remove_shim(&parent);
                    }
                    tracing::info!(network = %name, "decky network removed");
                    removed.push(name);
                }
                Err(e) => {
                    tracing::warn!(network = %name, error = %e, "cannot remove decky network")
                }
            }
        }
        Ok(removed)
    }
}

/// `chown` to [`plan::DECKY_UID`] (the agent runs as root; the decky does not).
fn give_to_decky_user(path: &Path) -> std::io::Result<()> {
    let id = nix::unistd::Uid::from_raw(plan::DECKY_UID);
    let gid = nix::unistd::Gid::from_raw(plan::DECKY_UID);
    nix::unistd::chown(path, Some(id), Some(gid)).map_err(std::io::Error::from)
}

/// The `uid:gid` deckies run as and the supplementary group that opens the bus socket:
/// the agent's own user when it is not root (so everything a decky writes is the
/// agent's), else the dedicated [`plan::DECKY_UID`], given the socket's group.
pub fn decky_user(bus_socket: &Path) -> (String, Vec<String>) {
    let euid = nix::unistd::Uid::effective();
    if !euid.is_root() {
        let gid = nix::unistd::Gid::effective();
        return (format!("{euid}:{gid}"), Vec::new());
    }
    let uid = plan::DECKY_UID;
    share_bus_socket(bus_socket, uid);
    (format!("{uid}:{uid}"), vec![uid.to_string()])
}

/// Hands the bus socket and its directory to group `gid` so deckies can publish.
fn share_bus_socket(socket: &Path, gid: u32) {
    let gid = nix::unistd::Gid::from_raw(gid);
    for p in [socket.parent(), Some(socket)].into_iter().flatten() {
        if p.exists()
            && let Err(e) = nix::unistd::chown(p, None, Some(gid))
        {
            tracing::warn!(path = %p.display(), error = %e, "cannot give the bus socket to the decky group");
        }
    }
    if let Some(dir) = socket.parent() {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750));
    }
}
