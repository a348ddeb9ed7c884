//! What the engine is asked for, computed without talking to it: the desired decky
//! (persisted), container names and labels, and the create bodies. Pure, so every
//! persona detail (MAC vendor, sysctls, user, mounts) is unit-tested.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    NetworkingConfig, RestartPolicy, RestartPolicyNameEnum,
};
use decnet_templates::catalog;
use decnet_templates::fleet::{NetworkPlan, PlannedDecky, SpecOptions};
use decnet_templates::spec::DeckySpec;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Label naming the decky a container belongs to.
pub const LABEL_DECKY: &str = "decnet.decky";
/// Label naming the agent host that owns a container or network.
pub const LABEL_HOST: &str = "decnet.host";
/// Label carrying the hash of everything the container was created from.
pub const LABEL_SPEC_HASH: &str = "decnet.spec-hash";
/// Label naming the custom (BYOS) service a container runs.
pub const LABEL_BYOS: &str = "decnet.byos";
/// Label of DECNET networks: their subnet.
pub const LABEL_NETWORK: &str = "decnet.network";
/// Label of DECNET macvlan/ipvlan networks: the parent interface (its shim goes with it).
pub const LABEL_PARENT: &str = "decnet.parent";

/// Where a decky's spec is mounted (read-only) in its container.
pub const SPEC_DIR: &str = "/etc/decnet";
/// Where the decky's artifacts and transcripts directory is mounted.
pub const DATA_DIR: &str = "/var/lib/decnet/decky";
/// Where the agent's bus socket directory is mounted (read-only).
pub const RUN_DIR: &str = "/run/decnet";
/// The decky binary inside the image.
pub const DECKY_BIN: &str = "/usr/local/bin/decnet-decky";
/// The unprivileged user deckies run as when the agent itself runs as root.
pub const DECKY_UID: u32 = 10_001;

/// Why a planned decky cannot become a container decky.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The fleet plan produced an invalid spec.
    #[error(transparent)]
    Fleet(#[from] decnet_templates::fleet::FleetError),
    /// The stored spec does not parse any more.
    #[error("decky {decky}: stored spec is invalid: {reason}")]
    Spec {
        /// Decky name.
        decky: String,
        /// Why.
        reason: String,
    },
}

/// The network a decky attaches to, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetSpec {
    /// IPv4 subnet in CIDR form.
    pub subnet: String,
    /// Gateway the deckies route through (the engine picks `.1` when absent).
    pub gateway: Option<String>,
    /// Parent interface: macvlan (or ipvlan) when set, a bridge when not.
    pub parent: Option<String>,
    /// ipvlan L2 instead of macvlan.
    pub ipvlan: bool,
}

impl NetSpec {
    /// From the fleet plan's `[general]` network.
    pub fn from_plan(net: &NetworkPlan) -> Self {
        NetSpec {
            subnet: net.subnet.to_string(),
            gateway: net.gateway.map(|g| g.to_string()),
            parent: net.interface.clone(),
            ipvlan: net.ipvlan,
        }
    }

    /// The engine driver name.
    pub fn driver(&self) -> &'static str {
        match (&self.parent, self.ipvlan) {
            (None, _) => "bridge",
            (Some(_), false) => "macvlan",
            (Some(_), true) => "ipvlan",
        }
    }

    /// The engine network's name: one network per subnet.
    pub fn network_name(&self) -> String {
        format!("decnet-{}", self.subnet.replace('/', "-"))
    }
}

/// A custom service (`[custom-NAME]` with `binary=`): its own image, sharing the decky's
/// network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Byos {
    /// Service name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Command (`exec=`), split into words the way a POSIX shell would (quotes keep
    /// words together) but never run through a shell.
    pub exec: Option<String>,
    /// Ports it serves (informational; it shares the decky's address).
    pub ports: Vec<u16>,
}

/// One decky the docker driver keeps running; what `docker/desired.json` stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredDecky {
    /// Decky name.
    pub name: String,
    /// The spec as mounted in the container (data directory at [`DATA_DIR`]).
    pub spec_toml: String,
    /// Custom services.
    pub custom: Vec<Byos>,
    /// Its network.
    pub network: NetSpec,
}

impl DesiredDecky {
    /// From a fleet plan's decky, events stamped with `host`.
    pub fn from_planned(
        decky: &PlannedDecky,
        net: &NetworkPlan,
        host: &str,
    ) -> Result<Self, PlanError> {
        let spec = decky.to_spec(&SpecOptions {
            data_root: PathBuf::from("/var/lib/decnet"),
            host: Some(host.to_owned()),
        })?;
        let spec = DeckySpec {
            data_dir: PathBuf::from(DATA_DIR),
            ..spec
        };
        if net.interface.is_some() {
            let shim = super::network::shim_addr(&net.subnet.to_string()).map_err(|e| {
                PlanError::Spec {
                    decky: decky.name.clone(),
                    reason: e.to_string(),
                }
            })?;
            if decky.ip == shim {
                return Err(decky
                    .locate(
                        "ip",
                        format!(
                            "{} is the host shim's address in {}; pick another ip",
                            decky.ip, net.subnet
                        ),
                    )
                    .into());
            }
        }
        for c in &decky.custom {
            if let Some(exec) = &c.exec {
                shell_words::split(exec).map_err(|e| PlanError::Spec {
                    decky: decky.name.clone(),
                    reason: format!("[custom-{}] exec: {e}", c.name),
                })?;
            }
        }
        Ok(DesiredDecky {
            name: decky.name.clone(),
            spec_toml: spec.to_toml(),
            custom: decky
                .custom
                .iter()
                .map(|c| Byos {
                    name: c.name.clone(),
                    image: c.binary.clone(),
                    exec: c.exec.clone(),
                    ports: c.ports.clone(),
                })
                .collect(),
            network: NetSpec::from_plan(net),
        })
    }

    /// The parsed spec.
    pub fn spec(&self) -> Result<DeckySpec, PlanError> {
        DeckySpec::parse(&self.spec_toml).map_err(|e| PlanError::Spec {
            decky: self.name.clone(),
            reason: e.to_string(),
        })
    }

    /// The decky's address (the first of its spec).
    pub fn ip(&self) -> Result<IpAddr, PlanError> {
        self.spec()?
            .bind
            .first()
            .copied()
            .ok_or_else(|| PlanError::Spec {
                decky: self.name.clone(),
                reason: "no address to bind".to_owned(),
            })
    }

    /// Hash of everything a container is created from: a change recreates it.
    pub fn hash(&self, image: &str) -> String {
        let mut h = Sha256::new();
        h.update(image.as_bytes());
        h.update([0]);
        h.update(serde_json::to_vec(self).unwrap_or_default());
        let digest = h.finalize();
        digest[..12].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The decky container's name.
pub fn container_name(decky: &str) -> String {
    format!("decnet-{decky}")
}

/// A custom service container's name.
pub fn byos_container_name(decky: &str, service: &str) -> String {
    format!("decnet-{decky}-{service}")
}

/// Host-side facts every container of this agent shares.
#[derive(Debug, Clone)]
pub struct HostContext {
    /// Agent host name (label and events).
    pub host: String,
    /// Image id or reference of the decky image.
    pub image: String,
    /// `uid:gid` the deckies run as.
    pub user: String,
    /// Supplementary groups (the bus socket's group).
    pub group_add: Vec<String>,
    /// Agent state directory.
    pub state_root: PathBuf,
}

impl HostContext {
    /// Host directory with the decky's spec file.
    pub fn spec_dir(&self, decky: &str) -> PathBuf {
        self.state_root.join("docker").join("specs").join(decky)
    }

    /// Host directory with the decky's artifacts and transcripts.
    pub fn data_dir(&self, decky: &str) -> PathBuf {
        self.state_root.join("deckies").join(decky)
    }

    /// Host directory holding the bus socket.
    pub fn run_dir(&self) -> PathBuf {
        self.state_root.join("run")
    }
}

fn labels(ctx: &HostContext, decky: &str, hash: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_DECKY.to_owned(), decky.to_owned()),
        (LABEL_HOST.to_owned(), ctx.host.clone()),
        (LABEL_SPEC_HASH.to_owned(), hash.to_owned()),
    ])
}

fn bind(host: &Path, container: &str, ro: bool) -> String {
    let mode = if ro { ":ro" } else { "" };
    format!("{}:{container}{mode}", host.display())
}

/// The decky container: static address and persona MAC on its network, the OS family's
/// sysctls, unprivileged with only `CAP_NET_BIND_SERVICE`, spec/data/bus mounted, a
/// HEALTHCHECK that connects to every service.
pub fn decky_container(
    d: &DesiredDecky,
    ctx: &HostContext,
) -> Result<(String, ContainerCreateBody), PlanError> {
    let spec = d.spec()?;
    let ip = spec.bind.first().copied().ok_or_else(|| PlanError::Spec {
        decky: d.name.clone(),
        reason: "no address to bind".to_owned(),
    })?;
    let seed = spec.seed.clone().unwrap_or_else(|| spec.name.clone());
    let (mac, _vendor) = catalog::mac_address(spec.os, &seed);
    let mac = catalog::format_mac(&mac);
    let mut sysctls: HashMap<String, String> = catalog::network_profile(spec.os)
        .sysctls()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    // Docker does not raise an added capability into a non-root user's ambient set; with
    // this namespaced sysctl low ports bind either way (Podman does raise it).
    sysctls.insert(
        "net.ipv4.ip_unprivileged_port_start".to_owned(),
        "0".to_owned(),
    );
    let spec_file = format!("{SPEC_DIR}/decky.toml");
    let second = 1_000_000_000_i64;
    let network = d.network.network_name();
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(ip.to_string()),
            ..Default::default()
        }),
        mac_address: Some(mac.clone()),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        hostname: Some(spec.hostname.split('.').next().unwrap_or("host").to_owned()),
        domainname: spec
            .hostname
            .split_once('.')
            .map(|(_, domain)| domain.to_owned()),
        user: Some(ctx.user.clone()),
        image: Some(ctx.image.clone()),
        entrypoint: Some(vec![DECKY_BIN.to_owned()]),
        cmd: Some(vec![
            "--spec".to_owned(),
            spec_file.clone(),
            "--bus".to_owned(),
            format!("{RUN_DIR}/bus.sock"),
            "--events-stdout".to_owned(),
        ]),
        env: Some(vec![
            "DECNET_LOG_FORMAT=json".to_owned(),
            "RUST_LOG=warn".to_owned(),
        ]),
        mac_address: Some(mac),
        labels: Some(labels(ctx, &d.name, &d.hash(&ctx.image))),
        healthcheck: Some(HealthConfig {
            test: Some(vec![
                "CMD".to_owned(),
                DECKY_BIN.to_owned(),
                "--spec".to_owned(),
                spec_file,
                "--health-check".to_owned(),
            ]),
            interval: Some(30 * second),
            timeout: Some(5 * second),
            retries: Some(3),
            start_period: Some(10 * second),
            ..Default::default()
        }),
        stop_timeout: Some(5),
        host_config: Some(HostConfig {
            binds: Some(vec![
                bind(&ctx.spec_dir(&d.name), SPEC_DIR, true),
                bind(&ctx.data_dir(&d.name), DATA_DIR, false),
                bind(&ctx.run_dir(), RUN_DIR, true),
            ]),
            cap_drop: Some(vec!["ALL".to_owned()]),
            cap_add: Some(vec!["NET_BIND_SERVICE".to_owned()]),
            group_add: (!ctx.group_add.is_empty()).then(|| ctx.group_add.clone()),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            readonly_rootfs: Some(true),
            sysctls: Some(sysctls),
            network_mode: Some(network.clone()),
            // The reconciler restarts crashed deckies with its own backoff.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            pids_limit: Some(512),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network, endpoint)])),
        }),
        ..Default::default()
    };
    Ok((container_name(&d.name), body))
}

/// A custom service's container: in the decky container's network namespace.
pub fn byos_container(
    d: &DesiredDecky,
    b: &Byos,
    ctx: &HostContext,
) -> Result<(String, ContainerCreateBody), PlanError> {
    let cmd = match &b.exec {
        None => None,
        Some(e) => Some(shell_words::split(e).map_err(|e| PlanError::Spec {
            decky: d.name.clone(),
            reason: format!("[custom-{}] exec: {e}", b.name),
        })?),
    };
    let mut labels = labels(ctx, &d.name, &d.hash(&ctx.image));
    labels.insert(LABEL_BYOS.to_owned(), b.name.clone());
    let body = ContainerCreateBody {
        image: Some(b.image.clone()),
        cmd,
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(format!("container:{}", container_name(&d.name))),
            cap_drop: Some(vec!["ALL".to_owned()]),
            cap_add: Some(vec!["NET_BIND_SERVICE".to_owned()]),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok((byos_container_name(&d.name, &b.name), body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use decnet_templates::fleet;

    const INI: &str = "[general]\nnet = 10.99.0.0/24\ninterface = veth-x\n\n[win-01]\nip = 10.99.0.10\nservices = http\nnmap_os = windows\n\n[lin-01]\nip = 10.99.0.11\nservices = ssh,redis,echo\n\n[custom-echo]\nbinary = localhost/echo:1\nexec = /bin/echo 'hi there' \"and more\"\nports = 7\n";

    fn ctx() -> HostContext {
        HostContext {
            host: "sensor-a".into(),
            image: "sha256:abc".into(),
            user: "10001:10001".into(),
            group_add: vec!["10001".into()],
            state_root: PathBuf::from("/var/lib/decnet/agent"),
        }
    }

    fn desired(name: &str) -> DesiredDecky {
        let plan = fleet::from_ini(INI).unwrap();
        let d = plan.decky(name).unwrap();
        DesiredDecky::from_planned(d, &plan.network, "sensor-a").unwrap()
    }

    #[test]
    fn windows_decky_gets_ttl_128_a_windows_vendor_mac_and_no_privileges() {
        let d = desired("win-01");
        let (name, body) = decky_container(&d, &ctx()).unwrap();
        assert_eq!(name, "decnet-win-01");
        let hc = body.host_config.unwrap();
        let sysctls = hc.sysctls.unwrap();
        assert_eq!(sysctls["net.ipv4.ip_default_ttl"], "128");
        assert_eq!(hc.cap_drop.unwrap(), vec!["ALL"]);
        assert_eq!(hc.cap_add.unwrap(), vec!["NET_BIND_SERVICE"]);
        assert_eq!(body.user.as_deref(), Some("10001:10001"));
        let mac = body.mac_address.unwrap();
        let oui: Vec<u8> = mac
            .split(':')
            .take(3)
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        assert!(
            catalog::nic_vendors(decnet_templates::persona::OsFamily::Windows)
                .iter()
                .any(|v| v.oui[..] == oui[..]),
            "{mac}"
        );
        let ep = &body.networking_config.unwrap().endpoints_config.unwrap()["decnet-10.99.0.0-24"];
        assert_eq!(
            ep.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("10.99.0.10")
        );
        let labels = body.labels.unwrap();
        assert_eq!(labels[LABEL_DECKY], "win-01");
        assert_eq!(labels[LABEL_HOST], "sensor-a");
        assert_eq!(labels[LABEL_SPEC_HASH].len(), 24);
        let binds = hc.binds.unwrap();
        assert!(
            binds
                .contains(&"/var/lib/decnet/agent/deckies/win-01:/var/lib/decnet/decky".to_owned())
        );
        assert!(binds.contains(&"/var/lib/decnet/agent/run:/run/decnet:ro".to_owned()));
        assert!(
            body.healthcheck
                .unwrap()
                .test
                .unwrap()
                .contains(&"--health-check".to_owned())
        );
    }

    #[test]
    fn linux_decky_ttl_64_and_spec_mounted_with_container_paths() {
        let d = desired("lin-01");
        let spec = d.spec().unwrap();
        assert_eq!(spec.data_dir, PathBuf::from(DATA_DIR));
        assert_eq!(spec.host.as_deref(), Some("sensor-a"));
        let (_, body) = decky_container(&d, &ctx()).unwrap();
        assert_eq!(
            body.host_config.unwrap().sysctls.unwrap()["net.ipv4.ip_default_ttl"],
            "64"
        );
        assert_eq!(d.network.driver(), "macvlan");
    }

    #[test]
    fn the_shim_address_is_refused_with_its_line() {
        let ini = INI.replace("10.99.0.11", "10.99.0.254");
        let plan = fleet::from_ini(&ini).unwrap();
        let err = DesiredDecky::from_planned(plan.decky("lin-01").unwrap(), &plan.network, "h")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("host shim's address") && err.contains("line"),
            "{err}"
        );
    }

    #[test]
    fn byos_shares_the_decky_namespace_and_hash_follows_changes() {
        let d = desired("lin-01");
        assert_eq!(d.custom.len(), 1);
        let (name, body) = byos_container(&d, &d.custom[0], &ctx()).unwrap();
        assert_eq!(name, "decnet-lin-01-echo");
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("container:decnet-lin-01")
        );
        assert_eq!(body.cmd.unwrap(), vec!["/bin/echo", "hi there", "and more"]);
        let mut changed = d.clone();
        changed.network.ipvlan = true;
        assert_ne!(d.hash("img"), changed.hash("img"));
        assert_ne!(d.hash("img"), d.hash("img2"));
        assert_eq!(d.hash("img"), d.clone().hash("img"));
    }
}
