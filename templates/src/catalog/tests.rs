use std::collections::BTreeSet;

use super::*;
use crate::persona::OsFamily;

#[test]
fn services_are_exactly_the_registry() {
    let catalogue: BTreeSet<&str> = SERVICES.iter().map(|s| s.slug).collect();
    let registry: BTreeSet<&str> = crate::services::IMPLEMENTED
        .iter()
        .chain(crate::services::PLANNED)
        .copied()
        .collect();
    assert_eq!(catalogue, registry);
    assert_eq!(SERVICES.len(), catalogue.len(), "duplicate slug");
    // The README's 25 plus dns, https and smtp_relay.
    assert_eq!(SERVICES.len(), 28);
}

#[test]
fn implemented_flags_follow_the_registry() {
    assert!(service("redis").is_some_and(ServiceInfo::implemented));
    assert!(service("ssh").is_some_and(ServiceInfo::implemented));
    assert!(service("smb").is_some_and(|s| !s.implemented()));
    assert_eq!(
        implemented_slugs(),
        [
            "ftp", "http", "https", "mysql", "redis", "smtp", "ssh", "telnet"
        ]
    );
    assert_eq!(service("nope"), None);
}

#[test]
fn default_ports_are_the_served_ones() {
    let port = |s: &str| service(s).map(ServiceInfo::default_port);
    assert_eq!(port("ssh"), Some(22));
    assert_eq!(port("http"), Some(80));
    assert_eq!(port("https"), Some(443));
    assert_eq!(port("imap"), Some(143));
    assert_eq!(port("smb"), Some(445));
    assert_eq!(port("k8s"), Some(6443));
    assert_eq!(port("docker_api"), Some(2375));
    assert_eq!(port("redis"), Some(6379));
    assert_eq!(port("mysql"), Some(3306));
    assert_eq!(port("tftp"), Some(69));
    assert_eq!(service("tftp").map(|s| s.ports[0].proto), Some(Proto::Udp));
    for s in SERVICES {
        assert!(s.default_port() > 0, "{} has no port", s.slug);
    }
}

#[test]
fn fifteen_archetypes_with_known_services_and_distros() {
    assert_eq!(ARCHETYPES.len(), 15);
    for a in ARCHETYPES {
        assert!(!a.services.is_empty(), "{}", a.slug);
        for s in a.services {
            assert!(service(s).is_some(), "{}: unknown service {s}", a.slug);
        }
        for d in a.preferred_distros {
            assert!(
                distro_profile(d).is_some(),
                "{}: unknown distro {d}",
                a.slug
            );
        }
    }
    let dc = archetype("domain-controller");
    assert_eq!(
        dc.map(|a| a.services),
        Some(&["ldap", "smb", "rdp", "llmnr"][..])
    );
    assert_eq!(dc.map(|a| a.os), Some(OsFamily::WindowsServer));
    assert_eq!(archetype("printer").map(|a| a.os), Some(OsFamily::Embedded));
    assert_eq!(
        archetype("linux-server").map(|a| a.services),
        Some(&["ssh", "http"][..])
    );
}

#[test]
fn nine_distros() {
    let slugs: Vec<&str> = DISTROS.iter().map(|d| d.slug).collect();
    assert_eq!(
        slugs,
        [
            "debian", "ubuntu22", "ubuntu20", "rocky9", "centos7", "alpine", "fedora", "kali",
            "arch"
        ]
    );
    assert_eq!(distro_profile("rocky9").map(|d| d.persona), Some("rocky"));
    assert_eq!(
        distro_profile("alpine").map(|d| d.image),
        Some("alpine:3.19")
    );
}

#[test]
fn os_profiles_match_the_predecessor() {
    let p = |os| network_profile(os);
    assert_eq!(p(OsFamily::Linux).ttl, 64);
    assert_eq!(p(OsFamily::Linux).tcp_syn_retries, 6);
    assert_eq!(p(OsFamily::Linux).tcp_ecn, 2);
    assert_eq!(p(OsFamily::Windows).ttl, 128);
    assert_eq!(p(OsFamily::Windows).tcp_syn_retries, 2);
    assert_eq!(p(OsFamily::Windows).tcp_ecn, 0);
    assert_eq!(p(OsFamily::Windows).tcp_fin_timeout, 30);
    assert_eq!(p(OsFamily::Windows).icmp_ratelimit, 0);
    assert_eq!(p(OsFamily::WindowsServer).tcp_ecn, 1);
    assert_eq!(p(OsFamily::WindowsServer).ttl, 128);
    assert_eq!(p(OsFamily::Bsd).icmp_ratelimit, 250);
    assert_eq!(p(OsFamily::Embedded).ttl, 255);
    assert_eq!(p(OsFamily::Embedded).tcp_syn_retries, 3);
    assert!(!p(OsFamily::Embedded).tcp_timestamps);
    assert!(p(OsFamily::Embedded).ip_no_pmtu_disc);
    assert_eq!(p(OsFamily::Embedded).tcp_fin_timeout, 15);
    assert_eq!(p(OsFamily::Cisco).ttl, 255);
    assert_eq!(p(OsFamily::Cisco).tcp_syn_retries, 2);
    assert!(!p(OsFamily::Cisco).tcp_sack);
    let sysctls = p(OsFamily::Windows).sysctls();
    assert!(sysctls.contains(&("net.ipv4.ip_default_ttl", "128".to_owned())));
    assert!(sysctls.contains(&("net.ipv4.tcp_rmem", "4096 65535 8388608".to_owned())));
    assert_eq!(os_view().len(), 6);
}

#[test]
fn views_serialise() {
    let json = serde_json::to_value(services_view()).unwrap_or_default();
    assert_eq!(json[0]["slug"], "conpot");
    assert_eq!(json[0]["ports"][1]["proto"], "udp");
    assert_eq!(json[0]["implemented"], false);
    let arch = serde_json::to_value(archetypes_view()).unwrap_or_default();
    let ws = arch
        .as_array()
        .and_then(|a| a.iter().find(|r| r["slug"] == "windows-workstation"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ws["os"], "windows");
    assert_eq!(ws["not_implemented"], serde_json::json!(["smb", "rdp"]));
    let d = serde_json::to_value(distros_view()).unwrap_or_default();
    assert_eq!(d[3]["hostname_style"], "rhel");
}

#[test]
fn hostnames_follow_the_style() {
    let h = |d: &str, role: &str, tag| distro_profile(d).map(|d| d.hostname(role, tag));
    assert_eq!(h("debian", "web", 3).as_deref(), Some("web-03"));
    assert_eq!(h("rocky9", "db", 7).as_deref(), Some("db07"));
    assert_eq!(h("alpine", "iot", 0xbeef).as_deref(), Some("iot-beef"));
    assert_eq!(h("kali", "", 1).as_deref(), Some("host-000001"));
}

proptest::proptest! {
    /// Any role and tag give a valid RFC 1123 host name in every distro style,
    /// and every archetype/distro/OS combination yields a spec the decky accepts.
    #[test]
    fn generated_hostnames_are_valid(role in "\\PC{0,30}", tag in proptest::num::u64::ANY, a in 0usize..15, d in 0usize..9) {
        for distro in DISTROS {
            let h = distro.hostname(&role, tag);
            proptest::prop_assert!(!h.is_empty() && h.len() <= 63, "{h:?}");
            proptest::prop_assert!(h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{h:?}");
            proptest::prop_assert!(!h.starts_with('-') && !h.ends_with('-'), "{h:?}");
        }
        let arch = &ARCHETYPES[a];
        let distro = &DISTROS[d];
        let hostname = distro.hostname(&role, tag);
        let spec = crate::spec::DeckySpec::parse(&format!(
            "name = \"p\"\nhostname = \"{hostname}\"\nbind = [\"127.0.0.1\"]\nos = \"{}\"\ndistro = \"{}\"\n[services.redis]",
            arch.os.as_str(),
            distro.persona
        ));
        proptest::prop_assert!(spec.is_ok(), "{spec:?}");
    }
}
