//! Container deckies as the master sees them: deploy and teardown control calls and the
//! status rows of `decnet-agent run --driver docker`.

use decnet_mesh::quic::DeckyStatus;
use decnet_templates::fleet;

use super::driver::DockerDriver;
use super::network;
use super::plan::DesiredDecky;
use super::store::DesiredStore;

/// The container deckies of a running agent.
#[derive(Debug, Clone)]
pub struct ContainerFleet {
    driver: DockerDriver,
    store: DesiredStore,
}

impl ContainerFleet {
    /// Deckies created by `driver`, desired state in `store`.
    pub fn new(driver: DockerDriver, store: DesiredStore) -> Self {
        ContainerFleet { driver, store }
    }

    /// Deploys every decky of INI fleet `text`: recorded first (so the reconciler keeps
    /// them), then created at once so errors reach the caller. Returns their names.
    pub async fn deploy(&self, text: &str) -> anyhow::Result<Vec<String>> {
        let plan = fleet::from_ini(text)?;
        plan.check_deployable()?;
        let host = &self.driver.context().host;
        let deckies = plan
            .deckies
            .iter()
            .map(|d| DesiredDecky::from_planned(d, &plan.network, host))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.upsert(&deckies)?;
        self.driver.ensure_networks(&deckies).await?;
        for d in &deckies {
            self.driver.create(d).await?;
        }
        Ok(deckies.into_iter().map(|d| d.name).collect())
    }

    /// Removes decky `name` and its networks when no other decky needs them; false when
    /// it is not a container decky of this agent.
    pub async fn teardown(&self, name: &str) -> anyhow::Result<bool> {
        if !self.store.read()?.contains_key(name) {
            return Ok(false);
        }
        self.remove(name).await?;
        self.reap_networks().await?;
        Ok(true)
    }

    /// Removes decky `name`'s containers and host route and forgets it (containers left
    /// by a decky that is no longer desired are removed all the same).
    pub async fn remove(&self, name: &str) -> anyhow::Result<()> {
        if let Some(d) = self.store.read()?.get(name)
            && let Ok(ip) = d.ip()
        {
            network::unroute(&d.network, ip);
        }
        self.driver.remove_decky(name).await?;
        self.store.remove(name)?;
        Ok(())
    }

    /// Removes this host's decky networks that no desired decky needs; returns their names.
    pub async fn reap_networks(&self) -> anyhow::Result<Vec<String>> {
        let needed = self
            .store
            .read()?
            .values()
            .map(|d| d.network.network_name())
            .collect();
        Ok(self.driver.reap_networks(&needed).await?)
    }

    /// The desired deckies' names.
    pub fn desired_names(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.store.read()?.into_keys().collect())
    }

    /// Every decky of this host: the desired ones and any that still has containers.
    pub async fn names(&self) -> anyhow::Result<Vec<String>> {
        let mut all = self.desired_names()?;
        for c in self.driver.actual().await? {
            if !all.contains(&c.decky) {
                all.push(c.decky);
            }
        }
        Ok(all)
    }

    /// One row per desired container decky: `running`, `stopped` or `missing`.
    pub async fn status(&self) -> Vec<DeckyStatus> {
        let desired = match self.store.read() {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot read the desired container deckies");
                return Vec::new();
            }
        };
        let actual = self.driver.actual().await.unwrap_or_default();
        desired
            .values()
            .map(|d| {
                let main = super::plan::container_name(&d.name);
                let state = match actual.iter().find(|c| c.name == main) {
                    Some(c) if c.running => "running",
                    Some(_) => "stopped",
                    None => "missing",
                };
                let spec = d.spec().ok();
                DeckyStatus {
                    ip: spec.as_ref().and_then(|s| s.bind.first().copied()),
                    os: spec.as_ref().map(|s| s.os.as_str().to_owned()),
                    persona: spec
                        .as_ref()
                        .map(|s| format!("{} ({})", s.hostname, s.distro)),
                    services: spec.map(|s| s.service_ports()).unwrap_or_default(),
                    ..DeckyStatus::new(d.name.clone(), state)
                }
            })
            .collect()
    }
}
