//! The decky network on the engine and the host-side shim.
//!
//! A macvlan (or ipvlan L2) network over the parent interface puts deckies on the wire
//! with their own MACs. The kernel never delivers macvlan traffic between a parent and
//! its children, so the host reaches its deckies through a *shim*: a macvlan interface of
//! its own on the same parent, with one /32 route per decky (never the whole subnet, which
//! may be the host's own LAN). Without a parent interface the network is a bridge, which
//! the host reaches directly. The shim needs `CAP_NET_ADMIN` (root); without it deckies
//! run but the host cannot reach them, and a warning says so.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;

use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use sha2::{Digest as _, Sha256};

use super::plan::{LABEL_HOST, LABEL_NETWORK, LABEL_PARENT, NetSpec};

/// Why the network cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The engine refused.
    #[error("network {name}: {source}")]
    Engine {
        /// Network name.
        name: String,
        /// Engine error.
        source: bollard::errors::Error,
    },
    /// An `ip` command failed.
    #[error("`ip {args}` failed: {reason}")]
    Ip {
        /// The arguments.
        args: String,
        /// stderr or the spawn error.
        reason: String,
    },
}

/// Creates the network for `net` unless it exists; returns its name.
pub async fn ensure(docker: &Docker, net: &NetSpec, host: &str) -> Result<String, NetworkError> {
    let name = net.network_name();
    let engine = |source| NetworkError::Engine {
        name: name.clone(),
        source,
    };
    let existing = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(HashMap::from([("name".to_owned(), vec![name.clone()])])),
        }))
        .await
        .map_err(engine)?;
    if existing.iter().any(|n| n.name.as_deref() == Some(&name)) {
        return Ok(name);
    }
    let mut options = HashMap::new();
    if let Some(parent) = &net.parent {
        options.insert("parent".to_owned(), parent.clone());
    }
    if net.ipvlan {
        options.insert("ipvlan_mode".to_owned(), "l2".to_owned());
        options.insert("mode".to_owned(), "l2".to_owned());
    }
    let mut labels = HashMap::from([
        (LABEL_HOST.to_owned(), host.to_owned()),
        (LABEL_NETWORK.to_owned(), net.subnet.clone()),
    ]);
    if let Some(parent) = &net.parent {
        labels.insert(LABEL_PARENT.to_owned(), parent.clone());
    }
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some(net.driver().to_owned()),
        ipam: Some(Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(net.subnet.clone()),
                gateway: net.gateway.clone(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        options: Some(options),
        labels: Some(labels),
        ..Default::default()
    };
    docker.create_network(request).await.map_err(engine)?;
    tracing::info!(network = %name, driver = net.driver(), parent = ?net.parent, "decky network created");
    Ok(name)
}

/// The shim interface's name for `parent` (at most 15 bytes, stable).
pub fn shim_name(parent: &str) -> String {
    let digest = Sha256::digest(parent.as_bytes());
    format!(
        "dshim{}",
        digest[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn ip(args: &[&str]) -> Result<String, NetworkError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| NetworkError::Ip {
            args: args.join(" "),
            reason: format!("cannot run ip (iproute2): {e}"),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NetworkError::Ip {
            args: args.join(" "),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Makes `ip` reachable from the host through the shim on `net`'s parent (no-op for a
/// bridge network).
pub fn route_to(net: &NetSpec, decky_ip: IpAddr) -> Result<(), NetworkError> {
    let Some(parent) = &net.parent else {
        return Ok(());
    };
    let shim = shim_name(parent);
    let src = shim_addr(&net.subnet)?;
    if ip(&["link", "show", "dev", &shim]).is_err() {
        let mode = if net.ipvlan { "ipvlan" } else { "macvlan" };
        let mut args = vec![
            "link",
            "add",
            &shim,
            "link",
            parent.as_str(),
            "type",
            mode,
            "mode",
        ];
        args.push(if net.ipvlan { "l2" } else { "bridge" });
        // Deckies are created concurrently: another one may have added the shim meanwhile.
        if let Err(e) = ip(&args)
            && ip(&["link", "show", "dev", &shim]).is_err()
        {
            return Err(e);
        }
        ip(&["link", "set", "dev", &shim, "up"])?;
    }
    let src = src.to_string();
    ip(&["addr", "replace", &format!("{src}/32"), "dev", &shim])?;
    let dest = format!("{decky_ip}/32");
    ip(&["route", "replace", &dest, "dev", &shim, "src", &src])?;
    Ok(())
}

/// The shim's own address: the last host address of `subnet` (the fleet allocator hands
/// out addresses from the bottom).
pub fn shim_addr(subnet: &str) -> Result<std::net::Ipv4Addr, NetworkError> {
    let net =
        decnet_templates::fleet::Ipv4Net::parse(subnet).map_err(|reason| NetworkError::Ip {
            args: String::new(),
            reason,
        })?;
    let size = 1u32.checked_shl(32 - u32::from(net.prefix())).unwrap_or(0);
    let last = u32::from(net.network()).wrapping_add(size.wrapping_sub(2));
    Ok(std::net::Ipv4Addr::from(last))
}

/// The deckies the shim on `parent` has a route to (empty when there is no shim).
pub fn routed(parent: &str) -> std::collections::HashSet<IpAddr> {
    ip(&["-o", "route", "show", "dev", &shim_name(parent)])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .next()?
                .trim_end_matches("/32")
                .parse()
                .ok()
        })
        .collect()
}

/// Removes the host route to `decky_ip` (missing routes are fine).
pub fn unroute(net: &NetSpec, decky_ip: IpAddr) {
    if let Some(parent) = &net.parent {
        let dest = format!("{decky_ip}/32");
        let _ = ip(&["route", "del", &dest, "dev", &shim_name(parent)]);
    }
}

/// Removes the shim of `parent` (when its network is gone).
pub fn remove_shim(parent: &str) {
    let _ = ip(&["link", "del", "dev", &shim_name(parent)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_names_fit_ifnamsiz_and_differ_per_parent() {
        let a = shim_name("enp0s31f6-with-a-long-name");
        assert!(a.len() <= 15, "{a}");
        assert_ne!(a, shim_name("eth0"));
        assert_eq!(a, shim_name("enp0s31f6-with-a-long-name"));
        assert_eq!(
            shim_addr("10.99.0.0/24").unwrap().to_string(),
            "10.99.0.254"
        );
        assert_eq!(
            shim_addr("192.168.0.0/16").unwrap().to_string(),
            "192.168.255.254"
        );
    }
}
