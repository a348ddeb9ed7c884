//! The swarm's network: namespaces for the master, two sensors and an attacker, joined by two
//! bridges that live in a namespace of their own (nothing touches the host's network).
//!
//! ```text
//!   mgmt 10.231.0.0/24 (bridge br-mgmt)     decoy 10.232.0.0/24 (bridge br-decoy)
//!   master .1   sensor-01 .2            sensor-01 .2 (+ deckies .11-.13)
//!               sensor-02 .3            sensor-02 .3 (+ deckies .21-.23)   attacker .100
//! ```
//! The mesh runs only on mgmt, so cutting a sensor's mgmt link partitions it from the master
//! while the attacker keeps reaching its deckies.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context as _, bail};

/// Runs `ip ARGS`.
pub fn ip(args: &[&str]) -> anyhow::Result<Output> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run ip (install iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// One end of the topology: a namespace with its addresses.
#[derive(Debug, Clone)]
pub struct Node {
    /// Namespace name.
    pub ns: String,
}

impl Node {
    /// `ip netns exec NS program…`.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]).arg(program);
        cmd
    }

    /// Runs `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut full = vec!["-n", self.ns.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }
}

/// The whole topology; removed on drop.
#[derive(Debug)]
pub struct Swarm {
    prefix: String,
    /// The master's namespace (mgmt 10.231.0.1).
    pub master: Node,
    /// Sensor 1 (mgmt .2, decoy .2 and .11-.13).
    pub sensor1: Node,
    /// Sensor 2 (mgmt .3, decoy .3 and .21-.23).
    pub sensor2: Node,
    /// The attacker (decoy .100).
    pub attacker: Node,
    lan: Node,
    namespaces: Vec<String>,
}

/// The mgmt interface name inside master and sensor namespaces.
pub const MGMT_IF: &str = "mgmt";
/// The decoy interface name inside sensor and attacker namespaces.
pub const DECOY_IF: &str = "decoy";

impl Swarm {
    /// Builds the namespaces, bridges and links.
    pub fn build() -> anyhow::Result<Swarm> {
        if !nix::unistd::Uid::effective().is_root() {
            bail!("the swarm demo creates network namespaces: run it as root");
        }
        sweep_stale();
        let prefix = format!("dsw{}", std::process::id());
        let node = |role: &str| Node {
            ns: format!("{prefix}-{role}"),
        };
        let mut swarm = Swarm {
            master: node("m"),
            sensor1: node("s1"),
            sensor2: node("s2"),
            attacker: node("x"),
            lan: node("lan"),
            namespaces: Vec::new(),
            prefix,
        };
        for n in [
            &swarm.lan,
            &swarm.master,
            &swarm.sensor1,
            &swarm.sensor2,
            &swarm.attacker,
        ]
        .map(|n| n.ns.clone())
        {
            ip(&["netns", "add", &n])?;
            swarm.namespaces.push(n.clone());
            ip(&["-n", &n, "link", "set", "lo", "up"])?;
        }
        for br in ["br-mgmt", "br-decoy"] {
            swarm.lan.ip(&["link", "add", br, "type", "bridge"])?;
            swarm.lan.ip(&["link", "set", br, "up"])?;
        }
        let links: [(&Node, &str, &str, &[&str]); 6] = [
            (&swarm.master, "br-mgmt", MGMT_IF, &["10.231.0.1/24"]),
            (&swarm.sensor1, "br-mgmt", MGMT_IF, &["10.231.0.2/24"]),
            (&swarm.sensor2, "br-mgmt", MGMT_IF, &["10.231.0.3/24"]),
            (
                &swarm.sensor1,
                "br-decoy",
                DECOY_IF,
                &[
                    "10.232.0.2/24",
                    "10.232.0.11/24",
                    "10.232.0.12/24",
                    "10.232.0.13/24",
                ],
            ),
            (
                &swarm.sensor2,
                "br-decoy",
                DECOY_IF,
                &[
                    "10.232.0.3/24",
                    "10.232.0.21/24",
                    "10.232.0.22/24",
                    "10.232.0.23/24",
                ],
            ),
            (&swarm.attacker, "br-decoy", DECOY_IF, &["10.232.0.100/24"]),
        ];
        for (i, (node, bridge, name, addrs)) in links.iter().enumerate() {
            let (a, b) = (
                format!("{}{i}a", swarm.prefix),
                format!("{}{i}b", swarm.prefix),
            );
            ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])?;
            ip(&["link", "set", &a, "netns", &node.ns, "name", name])?;
            ip(&["link", "set", &b, "netns", &swarm.lan.ns])?;
            swarm.lan.ip(&["link", "set", &b, "master", bridge, "up"])?;
            for addr in *addrs {
                node.ip(&["addr", "add", addr, "dev", name])?;
            }
            node.ip(&["link", "set", name, "up"])?;
        }
        Ok(swarm)
    }

    /// Takes a sensor's mgmt link down (partition) or up (heal).
    pub fn set_mgmt(&self, sensor: &Node, up: bool) -> anyhow::Result<()> {
        sensor.ip(&["link", "set", MGMT_IF, if up { "up" } else { "down" }])?;
        Ok(())
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Removes namespaces left behind by demo processes that no longer exist.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("dsw") else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if !pid.is_empty() && !alive {
            let _ = ip(&["netns", "del", name]);
        }
    }
}
