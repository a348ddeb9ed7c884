//! The demo fleet `decnet-master up` deploys with the local driver.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::persona::OsFamily;

use super::addr::Ipv4Net;
use super::build::planned_services;
use super::{ConfigValue, FleetError, FleetPlan, NetworkPlan, Origin, PlannedDecky};

/// `(name, hostname, os, distro, archetype, services)` of one demo decky.
type DemoDecky = (
    &'static str,
    &'static str,
    OsFamily,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Three deckies on consecutive addresses from `first_ip`: a Linux server
/// (ssh, http), a database server (mysql, redis) and a Windows workstation
/// persona (http, ftp — its archetype's smb and rdp are not emulated yet).
/// `port_offset` is added to every default port (0 keeps 22, 80, ...; e.g.
/// 10000 gives 10022, 10080 for an unprivileged process).
pub fn demo_fleet(first_ip: Ipv4Addr, port_offset: u16) -> Result<FleetPlan, FleetError> {
    let net = Ipv4Net::parse(&format!("{first_ip}/16"))
        .map_err(|r| FleetError::invalid("first_ip", r))?;
    let defs: [DemoDecky; 3] = [
        (
            "web-01",
            "web-01",
            OsFamily::Linux,
            "ubuntu22",
            "linux-server",
            &["ssh", "http"],
        ),
        (
            "db-01",
            "db-prod-01",
            OsFamily::Linux,
            "debian",
            "database-server",
            &["mysql", "redis"],
        ),
        (
            "ws-01",
            "DESKTOP-4F7Q2LK",
            OsFamily::Windows,
            "debian",
            "windows-workstation",
            &["http", "ftp"],
        ),
    ];
    let mut deckies = Vec::with_capacity(defs.len());
    for (i, (name, hostname, os, distro, archetype, services)) in defs.into_iter().enumerate() {
        let ip = Ipv4Addr::from(u32::from(first_ip).wrapping_add(i as u32));
        if !net.contains_host(ip) {
            return Err(FleetError::invalid(
                "first_ip",
                format!("{ip} leaves {net}"),
            ));
        }
        let slugs: Vec<String> = services.iter().map(|s| (*s).to_owned()).collect();
        let mut configs: BTreeMap<String, BTreeMap<String, ConfigValue>> = BTreeMap::new();
        if port_offset > 0 {
            for slug in services {
                let port = crate::catalog::service(slug).map_or(0, |s| s.default_port());
                let port = port.checked_add(port_offset).ok_or_else(|| {
                    FleetError::invalid(
                        "port_offset",
                        format!("{slug} port {port} + {port_offset} exceeds 65535"),
                    )
                })?;
                configs
                    .entry((*slug).to_owned())
                    .or_default()
                    .insert("port".into(), ConfigValue::Int(i64::from(port)));
            }
        }
        deckies.push(PlannedDecky {
            name: name.to_owned(),
            hostname: hostname.to_owned(),
            ip,
            os,
            distro: distro.to_owned(),
            archetype: Some(archetype.to_owned()),
            services: planned_services(&slugs, configs),
            custom: Vec::new(),
            origin: Origin::default(),
        });
    }
    Ok(FleetPlan {
        network: NetworkPlan {
            subnet: net,
            gateway: None,
            interface: None,
            ipvlan: false,
        },
        deckies,
    })
}
