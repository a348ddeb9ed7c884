use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use proptest::prelude::*;

use super::*;

fn opts() -> SpecOptions {
    SpecOptions {
        data_root: PathBuf::from("/tmp/decnet-fleet-tests"),
        host: Some("sensor-1".into()),
    }
}

fn err(text: &str) -> String {
    match from_ini(text) {
        Ok(plan) => panic!("accepted: {plan:?}"),
        Err(e) => e.to_string(),
    }
}

const EXAMPLE: &str = "\
# a fleet
[general]
net = 127.77.0.0/16
gw = 127.77.0.1

[decky-01]
ip = 127.77.0.10
services = ssh, http
nmap_os = linux
distro = ubuntu22

[decky-01.ssh]
port = 2222
users = root:toor,admin:admin

[db]
archetype = database-server
amount = 2

[app]
services = redis, myapp

[app.redis]
port = 16379
version = \"7\"

[custom-myapp]
binary = registry.local/myapp:1.2
exec = /usr/bin/myapp --port 8888
ports = 8888, 8889
";

#[test]
fn parses_the_predecessor_format() {
    let plan = from_ini(EXAMPLE).unwrap();
    let names: Vec<&str> = plan.deckies.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["decky-01", "db-01", "db-02", "app"]);
    let d1 = &plan.deckies[0];
    assert_eq!(d1.ip, Ipv4Addr::new(127, 77, 0, 10));
    assert_eq!(d1.distro, "ubuntu22");
    assert_eq!(d1.service_names(), ["http", "ssh"]);
    let ssh = &d1.services[1];
    assert_eq!(ssh.port, 2222);
    assert_eq!(
        ssh.config["users"],
        ConfigValue::Str("root:toor,admin:admin".into())
    );
    // Automatic addresses start at .10 and skip the explicit one.
    assert_eq!(plan.deckies[1].ip, Ipv4Addr::new(127, 77, 0, 11));
    assert_eq!(plan.deckies[2].ip, Ipv4Addr::new(127, 77, 0, 12));
    assert_eq!(
        plan.deckies[1].service_names(),
        ["mysql", "postgres", "redis"]
    );
    assert_eq!(
        plan.deckies[1].archetype.as_deref(),
        Some("database-server")
    );
    // Preferred distros of the archetype, round-robin.
    assert_eq!(plan.deckies[1].distro, "debian");
    assert_eq!(plan.deckies[2].distro, "rocky9");
    let app = &plan.deckies[3];
    assert_eq!(app.service_names(), ["redis", "myapp"]);
    assert_eq!(app.services[0].port, 16379);
    assert_eq!(
        app.services[0].config["version"],
        ConfigValue::Str("7".into())
    );
    assert_eq!(app.custom[0].ports, [8888, 8889]);
    assert_eq!(
        app.custom[0].exec.as_deref(),
        Some("/usr/bin/myapp --port 8888")
    );
    assert_eq!(plan.network.gateway, Some(Ipv4Addr::new(127, 77, 0, 1)));
}

#[test]
fn plan_serialises_as_json() {
    let plan = from_ini(EXAMPLE).unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["network"]["subnet"], "127.77.0.0/16");
    assert_eq!(json["deckies"][0]["os"], "linux");
    assert_eq!(json["deckies"][0]["ip"], "127.77.0.10");
    assert_eq!(json["deckies"][0]["services"][1]["port"], 2222);
    assert_eq!(json["deckies"][1]["services"][1]["implemented"], false);
    assert!(json["deckies"][0].get("origin").is_none());
}

#[test]
fn errors_name_line_section_and_key() {
    assert_eq!(
        err("[decky-01]\nservices = ssh, gopher\n"),
        "line 2, [decky-01] services: unknown service \"gopher\"; see `decnet-agent catalog services` (custom services need a [custom-gopher] section)"
    );
    assert_eq!(
        err("[decky-01]\nservices = ssh\n\n[decky-01.ssh]\nport = 99999\n"),
        "line 5, [decky-01.ssh] port: \"99999\" is not a port in 1..=65535"
    );
    assert_eq!(
        err("[decky-01]\nservices = ssh\ncolour = blue\n"),
        "line 3, [decky-01] colour: unknown key (known: ip, services, archetype, nmap_os, distro, hostname, amount, mutate_interval)"
    );
    assert_eq!(
        err("[decky-01]\nservices = ssh\nnmap_os = plan9\n"),
        "line 3, [decky-01] nmap_os: \"plan9\" is not one of linux, windows, windows_server, bsd, embedded, cisco"
    );
    assert_eq!(
        err("[decky-01]\narchetype = toaster\n"),
        "line 2, [decky-01] archetype: unknown archetype \"toaster\"; see `decnet-agent catalog archetypes`"
    );
    assert_eq!(
        err("[decky-01]\nip = 10.0.0.5\nservices = ssh\n"),
        "line 2, [decky-01] ip: 10.0.0.5 is not a host address of 127.77.0.0/16"
    );
    assert_eq!(
        err("[a]\nip = 127.77.0.9\nservices = ssh\n[b]\nip = 127.77.0.9\nservices = ssh\n"),
        "line 5, [b] ip: 127.77.0.9 is already used by the gateway or another decky"
    );
    assert_eq!(
        err("[decky-01]\nhostname = web\n"),
        "line 1, [decky-01] services: a decky needs services= or archetype="
    );
    assert_eq!(
        err("[decky-01]\nservices = ssh\n[decky-01.redis]\nport = 1\n"),
        "line 3, [decky-01.redis]: [decky-01] does not run service \"redis\" (its services: ssh)"
    );
    assert_eq!(
        err("[x.ssh]\nport = 2\n"),
        "line 1, [x.ssh]: no [x] section before this service section"
    );
    assert_eq!(
        err("services = ssh\n"),
        "line 1: key \"services\" comes before any [section] header"
    );
    assert_eq!(
        err("[a]\nservices = ssh\n[a]\n"),
        "line 3: duplicate section [a] (first at line 1)"
    );
    assert_eq!(
        err("[a\n"),
        "line 1: section header is missing its closing `]`"
    );
    assert_eq!(
        err("[general]\nnet = 127.77.0.0/33\n[a]\nservices=ssh\n"),
        "line 2, [general] net: prefix \"33\" is not a number in 0..=30"
    );
    assert_eq!(
        err("[custom-x]\nexec = y\nports = 1\n"),
        "line 1, [custom-x] binary: is required (the container image to run)"
    );
    assert_eq!(
        err("[web]\nservices = ssh\namount = 2\n[web-01]\nservices = ssh\n"),
        "line 4, [web-01]: decky name \"web-01\" is already defined (line 1)"
    );
    assert_eq!(
        err("# nothing\n"),
        "line 1: the file defines no decky section"
    );
}

#[test]
fn spec_errors_point_back_at_the_ini_line() {
    let plan =
        from_ini("[d]\nservices = ssh\n\n[d.ssh]\nport = 2222\nlogin_grace_s = abc\n").unwrap();
    // The spec is valid (services read their own keys when the decky starts);
    // errors found then are located through the plan's origin map.
    assert!(plan.specs(&opts()).is_ok());
    let located = plan.deckies[0].locate(
        "services.ssh.login_grace_s",
        "expected an integer, got string",
    );
    assert_eq!(
        located.to_string(),
        "line 6, [d.ssh] login_grace_s: expected an integer, got string"
    );
    let hostname_bad = from_ini("[d]\nservices = ssh\nhostname = -bad-\n").unwrap();
    assert_eq!(
        hostname_bad
            .specs(&opts())
            .map(|_| ())
            .unwrap_err()
            .to_string(),
        "line 3, [d] hostname: \"-bad-\" is not a valid host name (RFC 1123 labels, at most 253 characters)"
    );
}

#[test]
fn planned_services_are_refused_at_deploy() {
    let plan = from_ini("[dc]\narchetype = domain-controller\n").unwrap();
    assert_eq!(plan.deckies[0].os, OsFamily::WindowsServer);
    assert!(plan.deckies[0].hostname.starts_with("DC"));
    let e = plan.check_deployable().unwrap_err().to_string();
    assert!(
        e.starts_with("line 2, [dc] archetype: decky dc: service \"ldap\" is not implemented yet (implemented: ftp, http, https, mysql, redis, smtp, ssh, telnet)"),
        "{e}"
    );
    assert!(plan.specs(&opts()).is_err());
}

#[test]
fn specs_carry_the_plan() {
    let plan = from_ini(
        EXAMPLE
            .replace(", myapp", "")
            .replace("archetype = database-server", "services = mysql, redis")
            .as_str(),
    )
    .unwrap();
    let specs = plan.specs(&opts()).unwrap();
    assert_eq!(specs.len(), 4);
    let s = &specs[0];
    assert_eq!(s.name, "decky-01");
    assert_eq!(s.bind, [IpAddr::V4(Ipv4Addr::new(127, 77, 0, 10))]);
    assert_eq!(s.distro, "ubuntu");
    assert_eq!(s.host.as_deref(), Some("sensor-1"));
    assert_eq!(
        s.data_dir,
        PathBuf::from("/tmp/decnet-fleet-tests/decky-01")
    );
    let mut ssh = s.services["ssh"].clone();
    assert_eq!(ssh.port(22).unwrap(), 2222);
    let mut redis = specs[3].services["redis"].clone();
    assert_eq!(redis.port(6379).unwrap(), 16379);
    assert_eq!(redis.table.str("version").unwrap().as_deref(), Some("7"));
    let rel = SpecOptions {
        data_root: PathBuf::from("rel"),
        host: None,
    };
    assert!(
        plan.specs(&rel)
            .unwrap_err()
            .to_string()
            .contains("absolute")
    );
}

#[test]
fn flags_build_a_fleet() {
    let plan = from_flags(&FleetFlags {
        deckies: 3,
        services: Some("ssh,redis".into()),
        ..Default::default()
    })
    .unwrap();
    let ips: Vec<String> = plan.deckies.iter().map(|d| d.ip.to_string()).collect();
    assert_eq!(ips, ["127.77.0.10", "127.77.0.11", "127.77.0.12"]);
    assert_eq!(plan.deckies[2].name, "decky-03");
    let distros: Vec<&str> = plan.deckies.iter().map(|d| d.distro.as_str()).collect();
    assert_eq!(distros, ["debian", "ubuntu22", "ubuntu20"]);
    let e = |f: FleetFlags| from_flags(&f).unwrap_err().to_string();
    assert_eq!(
        e(FleetFlags {
            deckies: 1,
            ..Default::default()
        }),
        "--services: one of --services, --randomize-services or --archetype is required"
    );
    assert_eq!(
        e(FleetFlags {
            deckies: 1,
            services: Some("ssh,nope".into()),
            ..Default::default()
        }),
        "--services: unknown service \"nope\"; see `decnet-agent catalog services`"
    );
    assert_eq!(
        e(FleetFlags {
            deckies: 1,
            archetype: Some("printer".into()),
            distro: Some("mint".into()),
            ..Default::default()
        }),
        "--distro: unknown distro \"mint\"; see `decnet-agent catalog distros`"
    );
    assert_eq!(
        e(FleetFlags {
            deckies: 5,
            services: Some("ssh".into()),
            subnet: Some("10.1.2.0/30".into()),
            ..Default::default()
        }),
        "--subnet: 10.1.2.0/30 has no free address left for decky-03"
    );
    let arch = from_flags(&FleetFlags {
        deckies: 2,
        archetype: Some("windows-workstation".into()),
        subnet: Some("10.0.0.0/24".into()),
        ip_start: Some("10.0.0.200".into()),
        interface: Some("eth0".into()),
        ipvlan: true,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(arch.deckies[0].os, OsFamily::Windows);
    assert!(arch.deckies[0].hostname.starts_with("DESKTOP-"));
    assert_eq!(arch.deckies[1].ip, Ipv4Addr::new(10, 0, 0, 201));
    assert!(arch.network.ipvlan);
}

#[test]
fn demo_fleet_is_three_runnable_deckies() {
    let plan = demo_fleet(Ipv4Addr::new(127, 77, 1, 10), 10_000).unwrap();
    let summary: Vec<(String, String, Vec<String>)> = plan
        .deckies
        .iter()
        .map(|d| (d.name.clone(), d.ip.to_string(), d.service_names()))
        .collect();
    assert_eq!(
        summary[0],
        (
            "web-01".into(),
            "127.77.1.10".into(),
            vec!["http".into(), "ssh".into()]
        )
    );
    assert_eq!(summary[1].2, ["mysql", "redis"]);
    assert_eq!(plan.deckies[2].os, OsFamily::Windows);
    assert_eq!(plan.deckies[0].services[1].port, 10_022);
    assert!(plan.check_deployable().is_ok());
    assert_eq!(plan.specs(&opts()).unwrap().len(), 3);
    assert_eq!(
        demo_fleet(Ipv4Addr::new(127, 77, 0, 1), 0).unwrap().deckies[0].services[0].port,
        80
    );
}

#[test]
fn continuation_lines_and_comments() {
    let sections = ini::parse("; c\n[a]\nkey: one\n  two\n# c\nk2=v=w\r\n").unwrap();
    assert_eq!(sections[0].entries[0].value, "one\ntwo");
    assert_eq!(sections[0].entries[1].value, "v=w");
    assert_eq!(sections[0].entries[1].line, 6);
}

#[test]
fn typed_values() {
    use super::build::typed_value;
    assert_eq!(typed_value("port", "22"), ConfigValue::Int(22));
    assert_eq!(typed_value("max_upload_mb", "5"), ConfigValue::Int(5));
    assert_eq!(
        typed_value("requirepass", "123456"),
        ConfigValue::Str("123456".into())
    );
    assert_eq!(typed_value("port", "\"22\""), ConfigValue::Str("22".into()));
    assert_eq!(typed_value("anonymous", "no"), ConfigValue::Bool(false));
    assert_eq!(typed_value("users", "no"), ConfigValue::Str("no".into()));
    assert_eq!(typed_value("starttls", "False"), ConfigValue::Bool(false));
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the input, the parser returns (never panics) and errors point at a real line.
    #[test]
    fn ini_parser_total(text in "(\\PC|\n|\\[|\\]|=|:|#| ){0,400}") {
        let lines = text.split('\n').count();
        match from_ini(&text) {
            Ok(plan) => prop_assert!(!plan.deckies.is_empty()),
            Err(FleetError::At { line, .. }) => prop_assert!((1..=lines).contains(&line)),
            Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
        }
    }

    /// Rendered sections parse back to the same keys, values and lines.
    #[test]
    fn ini_round_trip(sections in proptest::collection::btree_map(ident(), proptest::collection::btree_map(ident(), "[a-zA-Z0-9 ,./:=-]{0,20}", 0..5), 1..5)) {
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut line = 0;
        for (name, entries) in &sections {
            text.push_str(&format!("[{name}]\n"));
            line += 1;
            for (k, v) in entries {
                text.push_str(&format!("{k} = {v}\n"));
                line += 1;
                expected.push((name.clone(), k.clone(), v.trim().to_owned(), line));
            }
            text.push_str("# comment\n\n");
            line += 2;
        }
        let parsed = ini::parse(&text).unwrap();
        let got: Vec<(String, String, String, usize)> = parsed
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| (s.name.clone(), e.key.clone(), e.value.clone(), e.line)))
            .collect();
        prop_assert_eq!(got, expected);
    }

    /// Any flag fleet has unique names and addresses in the subnet, and valid specs.
    #[test]
    fn flag_fleets_are_valid(n in 1u32..120, seed in any::<u64>(), random_distros in any::<bool>(), start in 1u8..200) {
        let plan = from_flags(&FleetFlags {
            deckies: n,
            randomize_services: true,
            randomize_distros: random_distros,
            ip_start: Some(format!("127.77.3.{start}")),
            seed,
            ..Default::default()
        }).unwrap();
        prop_assert_eq!(plan.deckies.len(), n as usize);
        let names: std::collections::BTreeSet<&str> = plan.deckies.iter().map(|d| d.name.as_str()).collect();
        let ips: std::collections::BTreeSet<Ipv4Addr> = plan.deckies.iter().map(|d| d.ip).collect();
        prop_assert_eq!(names.len(), n as usize);
        prop_assert_eq!(ips.len(), n as usize);
        for d in &plan.deckies {
            prop_assert!(plan.network.subnet.contains_host(d.ip));
            prop_assert!((1..=3).contains(&d.services.len()));
            prop_assert!(d.services.iter().all(|s| s.implemented));
        }
        let specs = plan.specs(&opts()).unwrap();
        for (spec, d) in specs.iter().zip(&plan.deckies) {
            prop_assert_eq!(&spec.bind, &vec![IpAddr::V4(d.ip)]);
            prop_assert_eq!(spec.services.keys().cloned().collect::<Vec<_>>(), d.service_names());
        }
    }

    /// `amount=` expands into that many deckies with distinct addresses.
    #[test]
    fn amount_expands(amount in 1u64..60, archetype in proptest::sample::select(crate::catalog::ARCHETYPES.iter().map(|a| a.slug).collect::<Vec<_>>())) {
        let plan = from_ini(&format!("[grp]\narchetype = {archetype}\namount = {amount}\n")).unwrap();
        prop_assert_eq!(plan.deckies.len(), amount as usize);
        let ips: std::collections::BTreeSet<Ipv4Addr> = plan.deckies.iter().map(|d| d.ip).collect();
        prop_assert_eq!(ips.len(), amount as usize);
        for d in &plan.deckies {
            prop_assert!(d.to_spec(&opts()).is_ok(), "{:?}", d.to_spec(&opts()));
        }
    }
}
