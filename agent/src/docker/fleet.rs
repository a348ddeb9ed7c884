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
        for d in &deckies {
            self.driver.create(d).await?;
        }
        Ok(deckies.into_iter().map(|d| d.name).collect())
    }

    /// Removes decky `name`; false when it is not a container decky of this agent.
    pub async fn teardown(&self, name: &str) -> anyhow::Result<bool> {
        let desired = self.store.read()?;
        let Some(d) = desired.get(name) else {
            return Ok(false);
        };
        if let Ok(ip) = d.ip() {
            network::unroute(&d.network, ip);
        }
        self.driver.remove_decky(name).await?;
        self.store.remove(name)?;
        let remaining = self.store.read()?;
        let needed = remaining
            .values()
            .map(|d| d.network.network_name())
            .collect();
        self.driver.reap_networks(&needed).await?;
        Ok(true)
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
                    ip: d.ip().ok(),
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
