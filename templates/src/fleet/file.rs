//! INI fleet files → [`FleetPlan`] (format in the module docs of [`super`]).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::catalog;
use crate::persona::OsFamily;

use super::addr::{Allocator, Ipv4Net};
use super::build::{default_hostname, is_decky_name, planned_services, split_list, typed_value};
use super::ini::{self, Entry, Section};
use super::{
    ConfigValue, CustomService, DEFAULT_LOCAL_SUBNET, FleetError, FleetPlan, NetworkPlan, Origin,
    PlannedDecky,
};

/// Most deckies one `amount=` may expand into.
const MAX_AMOUNT: u64 = 5000;

fn at(section: &str, line: usize, key: &str, reason: impl Into<String>) -> FleetError {
    FleetError::At {
        line,
        section: section.to_owned(),
        key: key.to_owned(),
        reason: reason.into(),
    }
}

fn entry_err(section: &Section, e: &Entry, reason: impl Into<String>) -> FleetError {
    at(&section.name, e.line, &e.key, reason)
}

/// Reads and validates the INI fleet file at `path`.
pub fn load_ini(path: &Path) -> Result<FleetPlan, FleetError> {
    from_ini(&super::read(path)?)
}

/// One decky section before expansion.
struct DeckyDef<'a> {
    section: &'a Section,
    ip: Option<(Ipv4Addr, usize)>,
    services: Vec<String>,
    custom: Vec<CustomService>,
    archetype: Option<&'static catalog::Archetype>,
    os: Option<OsFamily>,
    distro: Option<&'static catalog::Distro>,
    hostname: Option<String>,
    amount: u64,
    configs: BTreeMap<String, BTreeMap<String, ConfigValue>>,
    origin: Origin,
}

/// Validates an INI fleet definition.
pub fn from_ini(text: &str) -> Result<FleetPlan, FleetError> {
    let sections = ini::parse(text).map_err(|e| at("", e.line, "", e.reason))?;
    let mut network = NetworkPlan {
        subnet: Ipv4Net::parse(DEFAULT_LOCAL_SUBNET).map_err(|r| FleetError::invalid("net", r))?,
        gateway: None,
        interface: None,
        ipvlan: false,
    };
    let mut ip_start: Option<(Ipv4Addr, usize)> = None;
    let mut customs: BTreeMap<String, CustomService> = BTreeMap::new();
    for s in &sections {
        if s.name == "general" {
            ip_start = read_general(s, &mut network)?;
        } else if s.name.eq_ignore_ascii_case("default") {
            return Err(at(
                &s.name,
                s.line,
                "",
                "a [DEFAULT] section is not supported; repeat the keys in each decky section",
            ));
        } else if let Some(name) = s.name.strip_prefix("custom-") {
            let c = read_custom(s, name)?;
            customs.insert(c.name.clone(), c);
        }
    }
    let mut defs: Vec<DeckyDef<'_>> = Vec::new();
    for s in &sections {
        if s.name == "general" || s.name.starts_with("custom-") {
            continue;
        }
        if let Some((decky, svc)) = s.name.split_once('.') {
            let Some(def) = defs.iter_mut().find(|d| d.section.name == decky) else {
                return Err(at(
                    &s.name,
                    s.line,
                    "",
                    format!("no [{decky}] section before this service section"),
                ));
            };
            read_service_section(s, svc, def)?;
            continue;
        }
        defs.push(read_decky(s, &customs)?);
    }
    if defs.is_empty() {
        return Err(at("", 1, "", "the file defines no decky section"));
    }
    expand(defs, network, ip_start)
}

fn read_general(
    s: &Section,
    net: &mut NetworkPlan,
) -> Result<Option<(Ipv4Addr, usize)>, FleetError> {
    let mut start = None;
    if let Some(e) = s.get("net").or_else(|| s.get("subnet")) {
        net.subnet = Ipv4Net::parse(&e.value).map_err(|r| entry_err(s, e, r))?;
    }
    for e in &s.entries {
        let ip = || -> Result<Ipv4Addr, FleetError> {
            e.value
                .parse()
                .map_err(|_| entry_err(s, e, format!("{:?} is not an IPv4 address", e.value)))
        };
        match e.key.as_str() {
            "net" | "subnet" | "log_target" => {}
            "gw" | "gateway" => net.gateway = Some(ip()?),
            "ip_start" => {
                let ip = ip()?;
                if !net.subnet.contains_host(ip) {
                    return Err(entry_err(
                        s,
                        e,
                        format!("{ip} is not a host address of {}", net.subnet),
                    ));
                }
                start = Some((ip, e.line));
            }
            "interface" => net.interface = Some(e.value.clone()),
            "ipvlan" => net.ipvlan = parse_bool(s, e)?,
            _ => {
                return Err(entry_err(
                    s,
                    e,
                    "unknown key (known: net, gw, ip_start, interface, ipvlan, log_target)",
                ));
            }
        }
    }
    Ok(start)
}

fn parse_bool(s: &Section, e: &Entry) -> Result<bool, FleetError> {
    match e.value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(entry_err(
            s,
            e,
            format!("{:?} is not true or false", e.value),
        )),
    }
}

fn read_custom(s: &Section, name: &str) -> Result<CustomService, FleetError> {
    if !is_decky_name(name) {
        return Err(at(
            &s.name,
            s.line,
            "",
            format!("{name:?} is not a valid service name ([A-Za-z0-9_-], at most 63)"),
        ));
    }
    if catalog::service(name).is_some() {
        return Err(at(
            &s.name,
            s.line,
            "",
            format!("{name:?} is a built-in service; pick another name"),
        ));
    }
    let mut c = CustomService {
        name: name.to_owned(),
        binary: String::new(),
        exec: None,
        ports: Vec::new(),
    };
    for e in &s.entries {
        match e.key.as_str() {
            "binary" if !e.value.is_empty() => c.binary = e.value.clone(),
            "exec" => c.exec = Some(e.value.clone()).filter(|v| !v.is_empty()),
            "ports" => {
                for p in split_list(&e.value) {
                    let port = p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                        entry_err(s, e, format!("{p:?} is not a port in 1..=65535"))
                    })?;
                    c.ports.push(port);
                }
            }
            "binary" => return Err(entry_err(s, e, "must not be empty")),
            _ => return Err(entry_err(s, e, "unknown key (known: binary, exec, ports)")),
        }
    }
    if c.binary.is_empty() {
        return Err(at(
            &s.name,
            s.line,
            "binary",
            "is required (the container image to run)",
        ));
    }
    if c.ports.is_empty() {
        return Err(at(
            &s.name,
            s.line,
            "ports",
            "is required (the ports the service listens on)",
        ));
    }
    Ok(c)
}

fn read_decky<'a>(
    s: &'a Section,
    customs: &BTreeMap<String, CustomService>,
) -> Result<DeckyDef<'a>, FleetError> {
    if !is_decky_name(&s.name) {
        return Err(at(
            &s.name,
            s.line,
            "",
            "a decky name is 1..=63 of [A-Za-z0-9_-] starting with a letter or digit",
        ));
    }
    let mut d = DeckyDef {
        section: s,
        ip: None,
        services: Vec::new(),
        custom: Vec::new(),
        archetype: None,
        os: None,
        distro: None,
        hostname: None,
        amount: 1,
        configs: BTreeMap::new(),
        origin: Origin {
            section: Some((s.name.clone(), s.line)),
            keys: BTreeMap::new(),
        },
    };
    let mut services_entry = None;
    for e in &s.entries {
        let mut origin = |spec_key: &str| {
            d.origin
                .keys
                .insert(spec_key.to_owned(), (s.name.clone(), e.key.clone(), e.line));
        };
        match e.key.as_str() {
            "ip" => {
                let ip = e.value.parse().map_err(|_| {
                    entry_err(s, e, format!("{:?} is not an IPv4 address", e.value))
                })?;
                origin("bind");
                origin("bind[0]");
                d.ip = Some((ip, e.line));
            }
            "services" => {
                origin("services");
                services_entry = Some(e);
            }
            "archetype" => {
                let a = catalog::archetype(&e.value).ok_or_else(|| {
                    entry_err(
                        s,
                        e,
                        format!(
                            "unknown archetype {:?}; see `decnet-agent catalog archetypes`",
                            e.value
                        ),
                    )
                })?;
                if services_entry.is_none() {
                    origin("services");
                }
                d.archetype = Some(a);
            }
            "nmap_os" | "os" => {
                origin("os");
                d.os = Some(OsFamily::parse(&e.value).ok_or_else(|| entry_err(s, e, format!("{:?} is not one of linux, windows, windows_server, bsd, embedded, cisco", e.value)))?);
            }
            "distro" => {
                origin("distro");
                d.distro = Some(catalog::distro_profile(&e.value).ok_or_else(|| {
                    entry_err(
                        s,
                        e,
                        format!(
                            "unknown distro {:?}; see `decnet-agent catalog distros`",
                            e.value
                        ),
                    )
                })?);
            }
            "hostname" => {
                origin("hostname");
                d.hostname = Some(e.value.clone());
            }
            "amount" => {
                d.amount = e
                    .value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_AMOUNT).contains(n))
                    .ok_or_else(|| {
                        entry_err(
                            s,
                            e,
                            format!("{:?} is not a number in 1..={MAX_AMOUNT}", e.value),
                        )
                    })?;
            }
            "mutate_interval" => {}
            _ => {
                return Err(entry_err(
                    s,
                    e,
                    "unknown key (known: ip, services, archetype, nmap_os, distro, hostname, amount, mutate_interval)",
                ));
            }
        }
    }
    if let Some(e) = services_entry {
        let list = split_list(&e.value);
        if list.is_empty() {
            return Err(entry_err(s, e, "lists no service"));
        }
        for name in list {
            let bare = name.strip_prefix("custom-").unwrap_or(&name);
            if catalog::service(&name).is_some() {
                d.services.push(name);
            } else if let Some(c) = customs.get(bare) {
                d.custom.push(c.clone());
            } else {
                return Err(entry_err(
                    s,
                    e,
                    format!(
                        "unknown service {name:?}; see `decnet-agent catalog services` (custom services need a [custom-{bare}] section)"
                    ),
                ));
            }
        }
    } else if let Some(a) = d.archetype {
        d.services = a.services.iter().map(|s| (*s).to_owned()).collect();
    } else {
        return Err(at(
            &s.name,
            s.line,
            "services",
            "a decky needs services= or archetype=",
        ));
    }
    if d.amount > 1 && d.ip.is_some() {
        return Err(at(
            &s.name,
            d.ip.map_or(s.line, |(_, l)| l),
            "ip",
            "cannot be combined with amount > 1 (addresses are allocated)",
        ));
    }
    Ok(d)
}

fn read_service_section(s: &Section, svc: &str, def: &mut DeckyDef<'_>) -> Result<(), FleetError> {
    if !def.services.iter().any(|x| x == svc) {
        return Err(at(
            &s.name,
            s.line,
            "",
            format!(
                "[{}] does not run service {svc:?} (its services: {})",
                def.section.name,
                def.services.join(", ")
            ),
        ));
    }
    def.origin.keys.insert(
        format!("services.{svc}"),
        (s.name.clone(), String::new(), s.line),
    );
    let table = def.configs.entry(svc.to_owned()).or_default();
    for e in &s.entries {
        let v = typed_value(&e.key, &e.value);
        if e.key == "port" && !matches!(v, ConfigValue::Int(1..=65_535)) {
            return Err(entry_err(
                s,
                e,
                format!("{:?} is not a port in 1..=65535", e.value),
            ));
        }
        def.origin.keys.insert(
            format!("services.{svc}.{}", e.key),
            (s.name.clone(), e.key.clone(), e.line),
        );
        table.insert(e.key.clone(), v);
    }
    Ok(())
}

fn expand(
    defs: Vec<DeckyDef<'_>>,
    network: NetworkPlan,
    ip_start: Option<(Ipv4Addr, usize)>,
) -> Result<FleetPlan, FleetError> {
    let mut alloc = Allocator::new(
        network.subnet,
        ip_start.map_or(network.subnet.default_start(), |(ip, _)| ip),
        network.gateway,
    );
    for d in &defs {
        if let Some((ip, line)) = d.ip {
            if !network.subnet.contains_host(ip) {
                return Err(at(
                    &d.section.name,
                    line,
                    "ip",
                    format!("{ip} is not a host address of {}", network.subnet),
                ));
            }
            if Some(ip) == network.gateway || !alloc.take(ip) {
                return Err(at(
                    &d.section.name,
                    line,
                    "ip",
                    format!("{ip} is already used by the gateway or another decky"),
                ));
            }
        }
    }
    let mut deckies: Vec<PlannedDecky> = Vec::new();
    let mut round_robin = 0usize;
    for d in defs {
        for i in 1..=d.amount {
            let name = if d.amount > 1 {
                format!("{}-{i:02}", d.section.name)
            } else {
                d.section.name.clone()
            };
            if let Some(other) = deckies.iter().find(|x| x.name == name) {
                let line = other
                    .origin
                    .section
                    .as_ref()
                    .map_or(d.section.line, |(_, l)| *l);
                return Err(at(
                    &d.section.name,
                    d.section.line,
                    "",
                    format!("decky name {name:?} is already defined (line {line})"),
                ));
            }
            let ip = match d.ip {
                Some((ip, _)) => ip,
                None => alloc.next_free().ok_or_else(|| {
                    at(
                        &d.section.name,
                        d.section.line,
                        "",
                        format!(
                            "subnet {} has no free address left for {name}",
                            network.subnet
                        ),
                    )
                })?,
            };
            let os =
                d.os.or(d.archetype.map(|a| a.os))
                    .unwrap_or(OsFamily::Linux);
            let distro = match d.distro {
                Some(x) => x,
                None => {
                    let pool: Vec<&'static catalog::Distro> = match d.archetype {
                        Some(a) if !a.preferred_distros.is_empty() => a
                            .preferred_distros
                            .iter()
                            .filter_map(|s| catalog::distro_profile(s))
                            .collect(),
                        _ => catalog::DISTROS.iter().collect(),
                    };
                    round_robin += 1;
                    pool.get((round_robin - 1) % pool.len().max(1))
                        .copied()
                        .unwrap_or(&catalog::DISTROS[0])
                }
            };
            let archetype = d.archetype.map(|a| a.slug);
            let hostname = match &d.hostname {
                Some(h) if d.amount > 1 => format!("{h}-{i:02}"),
                Some(h) => h.clone(),
                None => default_hostname(&name, os, distro, archetype),
            };
            deckies.push(PlannedDecky {
                name,
                hostname,
                ip,
                os,
                distro: distro.slug.to_owned(),
                archetype: archetype.map(str::to_owned),
                services: planned_services(&d.services, d.configs.clone()),
                custom: d.custom.clone(),
                origin: d.origin.clone(),
            });
        }
    }
    Ok(FleetPlan { network, deckies })
}
