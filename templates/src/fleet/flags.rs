//! `decnet-agent deploy` flags → [`FleetPlan`].

use std::net::Ipv4Addr;

use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;

use crate::catalog;
use crate::persona::OsFamily;

use super::addr::{Allocator, Ipv4Net};
use super::build::{default_hostname, planned_services, split_list};
use super::{DEFAULT_LOCAL_SUBNET, FleetError, FleetPlan, NetworkPlan, Origin, PlannedDecky};

/// Most deckies one command line may ask for.
pub const MAX_DECKIES: u32 = 5000;

/// The fleet-shaping flags of `decnet-agent deploy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetFlags {
    /// `--deckies N`.
    pub deckies: u32,
    /// `--services a,b`.
    pub services: Option<String>,
    /// `--randomize-services`: 1..=3 implemented services per decky.
    pub randomize_services: bool,
    /// `--archetype NAME`.
    pub archetype: Option<String>,
    /// `--distro NAME`.
    pub distro: Option<String>,
    /// `--randomize-distros`.
    pub randomize_distros: bool,
    /// `--subnet CIDR` (default [`DEFAULT_LOCAL_SUBNET`]).
    pub subnet: Option<String>,
    /// `--ip-start IP`.
    pub ip_start: Option<String>,
    /// `--interface IFACE`.
    pub interface: Option<String>,
    /// `--ipvlan`.
    pub ipvlan: bool,
    /// Seed of the random choices (same seed, same fleet).
    pub seed: u64,
}

/// Builds the fleet the flags describe.
pub fn from_flags(f: &FleetFlags) -> Result<FleetPlan, FleetError> {
    if !(1..=MAX_DECKIES).contains(&f.deckies) {
        return Err(FleetError::invalid(
            "--deckies",
            format!("{} is not in 1..={MAX_DECKIES}", f.deckies),
        ));
    }
    let archetype = match &f.archetype {
        None => None,
        Some(a) => Some(catalog::archetype(a).ok_or_else(|| {
            FleetError::invalid(
                "--archetype",
                format!("unknown archetype {a:?}; see `decnet-agent catalog archetypes`"),
            )
        })?),
    };
    let services = match &f.services {
        None => None,
        Some(list) => {
            let list = split_list(list);
            if list.is_empty() {
                return Err(FleetError::invalid("--services", "lists no service"));
            }
            if let Some(bad) = list.iter().find(|s| catalog::service(s).is_none()) {
                return Err(FleetError::invalid(
                    "--services",
                    format!("unknown service {bad:?}; see `decnet-agent catalog services`"),
                ));
            }
            Some(list)
        }
    };
    if services.is_some() && f.randomize_services {
        return Err(FleetError::invalid(
            "--randomize-services",
            "cannot be combined with --services",
        ));
    }
    if services.is_none() && !f.randomize_services && archetype.is_none() {
        return Err(FleetError::invalid(
            "--services",
            "one of --services, --randomize-services or --archetype is required",
        ));
    }
    let fixed_distro = match &f.distro {
        None => None,
        Some(_) if f.randomize_distros => {
            return Err(FleetError::invalid(
                "--randomize-distros",
                "cannot be combined with --distro",
            ));
        }
        Some(d) => Some(catalog::distro_profile(d).ok_or_else(|| {
            FleetError::invalid(
                "--distro",
                format!("unknown distro {d:?}; see `decnet-agent catalog distros`"),
            )
        })?),
    };
    let subnet = Ipv4Net::parse(f.subnet.as_deref().unwrap_or(DEFAULT_LOCAL_SUBNET))
        .map_err(|r| FleetError::invalid("--subnet", r))?;
    let start = match &f.ip_start {
        None => subnet.default_start(),
        Some(s) => {
            let ip: Ipv4Addr = s.parse().map_err(|_| {
                FleetError::invalid("--ip-start", format!("{s:?} is not an IPv4 address"))
            })?;
            if !subnet.contains_host(ip) {
                return Err(FleetError::invalid(
                    "--ip-start",
                    format!("{ip} is not a host address of {subnet}"),
                ));
            }
            ip
        }
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(f.seed);
    let mut alloc = Allocator::new(subnet, start, None);
    let implemented = catalog::implemented_slugs();
    let pool: Vec<&'static catalog::Distro> = match archetype {
        Some(a) if !a.preferred_distros.is_empty() => a
            .preferred_distros
            .iter()
            .filter_map(|s| catalog::distro_profile(s))
            .collect(),
        _ => catalog::DISTROS.iter().collect(),
    };
    let mut deckies = Vec::with_capacity(f.deckies as usize);
    for i in 0..f.deckies as usize {
        let name = format!("decky-{:02}", i + 1);
        let ip = alloc.next_free().ok_or_else(|| {
            FleetError::invalid(
                "--subnet",
                format!("{subnet} has no free address left for {name}"),
            )
        })?;
        let slugs: Vec<String> = match (&services, archetype) {
            (Some(list), _) => list.clone(),
            (None, _) if f.randomize_services => {
                let n = rand::Rng::gen_range(&mut rng, 1..=3.min(implemented.len()));
                implemented
                    .choose_multiple(&mut rng, n)
                    .map(|s| (*s).to_owned())
                    .collect()
            }
            (None, Some(a)) => a.services.iter().map(|s| (*s).to_owned()).collect(),
            (None, None) => Vec::new(),
        };
        let distro = match fixed_distro {
            Some(d) => d,
            None if f.randomize_distros => pool
                .choose(&mut rng)
                .copied()
                .unwrap_or(&catalog::DISTROS[0]),
            None => pool
                .get(i % pool.len().max(1))
                .copied()
                .unwrap_or(&catalog::DISTROS[0]),
        };
        let os = archetype.map_or(OsFamily::Linux, |a| a.os);
        let arch_slug = archetype.map(|a| a.slug);
        deckies.push(PlannedDecky {
            hostname: default_hostname(&name, os, distro, arch_slug),
            name,
            ip,
            os,
            distro: distro.slug.to_owned(),
            archetype: arch_slug.map(str::to_owned),
            services: planned_services(&slugs, Default::default()),
            custom: Vec::new(),
            origin: Origin::default(),
        });
    }
    Ok(FleetPlan {
        network: NetworkPlan {
            subnet,
            gateway: None,
            interface: f.interface.clone(),
            ipvlan: f.ipvlan,
        },
        deckies,
    })
}
