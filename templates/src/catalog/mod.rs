//! The catalogue: service slugs and ports, archetypes, distro profiles, OS families.
//!
//! Everything here is static data taken from the predecessor
//! (`decnet/services/`, `decnet/archetypes.py`, `decnet/distros.py`,
//! `decnet/os_fingerprint.py`). Services this build does not emulate yet are
//! listed with `implemented == false`; fleets naming them are refused at deploy
//! time ([`crate::fleet::FleetPlan::check_deployable`]).
//!
//! The `*_view` functions give serialisable rows for `decnet-agent catalog --json`
//! and for the API.

mod archetypes;
mod distros;
mod os;
mod oui;
mod services;

#[cfg(test)]
mod tests;

pub use archetypes::{ARCHETYPES, Archetype, archetype};
pub use distros::{DISTROS, Distro, HostnameStyle, distro_profile};
pub use os::{NetworkProfile, OS_FAMILIES, network_profile};
pub use oui::{NicVendor, format_mac, mac_address, nic_vendors};
pub use services::{PortSpec, Proto, SERVICES, ServiceInfo, implemented_slugs, service};

use serde::Serialize;

/// One service row of the catalogue listing.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    /// Slug.
    pub slug: &'static str,
    /// Served ports.
    pub ports: &'static [PortSpec],
    /// Default `port`.
    pub default_port: u16,
    /// Whether this build emulates it.
    pub implemented: bool,
    /// What it claims to be.
    pub description: &'static str,
}

/// One archetype row of the catalogue listing.
#[derive(Debug, Clone, Serialize)]
pub struct ArchetypeView {
    /// Slug.
    pub slug: &'static str,
    /// Human name.
    pub display_name: &'static str,
    /// What it pretends to be.
    pub description: &'static str,
    /// Its services.
    pub services: &'static [&'static str],
    /// Those of its services this build does not emulate yet.
    pub not_implemented: Vec<&'static str>,
    /// OS family.
    pub os: &'static str,
    /// Preferred distro profiles.
    pub preferred_distros: &'static [&'static str],
}

/// One distro row of the catalogue listing.
#[derive(Debug, Clone, Serialize)]
pub struct DistroView {
    /// Slug.
    pub slug: &'static str,
    /// Human name.
    pub display_name: &'static str,
    /// Base image.
    pub image: &'static str,
    /// Persona distribution.
    pub persona: &'static str,
    /// Hostname style.
    pub hostname_style: HostnameStyle,
}

/// One OS family row with its network-stack profile.
#[derive(Debug, Clone, Serialize)]
pub struct OsView {
    /// Spec spelling (`windows_server`, ...).
    pub os: &'static str,
    /// Its profile.
    pub network: NetworkProfile,
}

/// The service rows, in catalogue order.
pub fn services_view() -> Vec<ServiceView> {
    SERVICES
        .iter()
        .map(|s| ServiceView {
            slug: s.slug,
            ports: s.ports,
            default_port: s.default_port(),
            implemented: s.implemented(),
            description: s.description,
        })
        .collect()
}

/// The archetype rows, in catalogue order.
pub fn archetypes_view() -> Vec<ArchetypeView> {
    ARCHETYPES
        .iter()
        .map(|a| ArchetypeView {
            slug: a.slug,
            display_name: a.display_name,
            description: a.description,
            services: a.services,
            not_implemented: a
                .services
                .iter()
                .copied()
                .filter(|s| !crate::services::IMPLEMENTED.contains(s))
                .collect(),
            os: a.os.as_str(),
            preferred_distros: a.preferred_distros,
        })
        .collect()
}

/// The distro rows, in catalogue order.
pub fn distros_view() -> Vec<DistroView> {
    DISTROS
        .iter()
        .map(|d| DistroView {
            slug: d.slug,
            display_name: d.display_name,
            image: d.image,
            persona: d.persona,
            hostname_style: d.hostname_style,
        })
        .collect()
}

/// The OS family rows.
pub fn os_view() -> Vec<OsView> {
    OS_FAMILIES
        .iter()
        .map(|os| OsView {
            os: os.as_str(),
            network: *network_profile(*os),
        })
        .collect()
}
