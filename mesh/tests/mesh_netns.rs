//! Multi-host: a master and two agents, each in its own network namespace, over veth links.
//! One agent's link is cut for 30 s while both keep appending events, then healed: every
//! event of both agents must reach the master's sink, duplicates only where an
//! acknowledgement was lost.
// Helpers outside `#[test]` functions unwrap too; clippy.toml's test exemption misses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mesh_common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use decnet_pki::{AgentIdentity, CertificateAuthority, HostName, NodeKey};
use mesh_common::roles::{Helper, ROLE, prepare_agent_dir, run_role_from_env, window};
use mesh_common::sink::runs;
use mesh_common::{DAY, init};

/// Entry point of the helper processes this file starts; not a test of its own.
#[test]
#[ignore = "helper process: started by the tests in this file with DECNET_MESH_ROLE set"]
fn helper_role() {
    assert!(
        run_role_from_env(),
        "run only as a helper process (DECNET_MESH_ROLE unset)"
    );
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Namespaces and veth devices of this test process; removed on drop, pass or fail.
struct Topology {
    namespaces: Vec<String>,
    links: Vec<String>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        for link in &self.links {
            let _ = ip(&["link", "del", link]);
        }
        for ns in &self.namespaces {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Removes namespaces left behind by test processes that no longer exist.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("dn-test-") else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Parses the master's sink log: per host, seq → (payload ok, times committed).
fn read_sink(path: &Path) -> HashMap<String, HashMap<u64, u32>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out: HashMap<String, HashMap<u64, u32>> = HashMap::new();
    for line in text.lines() {
        let mut parts = line.split(' ');
        let (Some(host), Some(seq), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let seq: u64 = seq.parse().unwrap();
        assert_eq!(
            payload,
            format!("ev-{seq}"),
            "payload of {host} {seq} damaged"
        );
        *out.entry(host.to_owned())
            .or_default()
            .entry(seq)
            .or_insert(0) += 1;
    }
    out
}

fn count(sink: &HashMap<String, HashMap<u64, u32>>, host: &str) -> usize {
    sink.get(host).map_or(0, HashMap::len)
}

fn wait_until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn issue(ca: &CertificateAuthority, name: &str) -> AgentIdentity {
    let host: HostName = name.parse().unwrap();
    let key = NodeKey::generate().unwrap();
    let issued = ca
        .issue_from_csr(&key.csr(&host).unwrap(), &host, DAY)
        .unwrap();
    AgentIdentity::new(key, &issued.pem, ca.cert_pem()).unwrap()
}

const CUT: Duration = Duration::from_secs(30);
const RATE: u64 = 200;
/// Appending runs for this long: before, during and after the cut.
const APPEND_FOR: u64 = 42;

#[test]
fn a_30s_partition_of_one_agent_loses_no_event_of_either() {
    init();
    sweep_stale();
    let pid = std::process::id();
    let ns = |role: &str| format!("dn-test-{pid}-{role}");
    let (ns_m, ns_a1, ns_a2) = (ns("m"), ns("a1"), ns("a2"));
    let mut topo = Topology {
        namespaces: Vec::new(),
        links: Vec::new(),
    };
    if let Err(e) = ip(&["netns", "add", &ns_m]) {
        if e.contains("Operation not permitted") || e.contains("Permission denied") {
            eprintln!("\n*** SKIPPED: cannot create network namespaces here ({e}) ***\n");
            return;
        }
        panic!("{e}");
    }
    topo.namespaces.push(ns_m.clone());
    // Two point-to-point links: master 10.99.N.1 <-> agent N 10.99.N.2.
    for (n, ns_a) in [(1, &ns_a1), (2, &ns_a2)] {
        ip(&["netns", "add", ns_a]).unwrap();
        topo.namespaces.push(ns_a.clone());
        let (dev_a, dev_m) = (format!("dn{pid}a{n}"), format!("dn{pid}m{n}"));
        topo.links.push(dev_a.clone());
        ip(&[
            "link", "add", &dev_a, "type", "veth", "peer", "name", &dev_m,
        ])
        .unwrap();
        ip(&["link", "set", &dev_a, "netns", ns_a]).unwrap();
        ip(&["link", "set", &dev_m, "netns", &ns_m]).unwrap();
        ip(&[
            "-n",
            ns_a,
            "addr",
            "add",
            &format!("10.99.{n}.2/30"),
            "dev",
            &dev_a,
        ])
        .unwrap();
        ip(&[
            "-n",
            &ns_m,
            "addr",
            "add",
            &format!("10.99.{n}.1/30"),
            "dev",
            &dev_m,
        ])
        .unwrap();
        for (space, dev) in [
            (ns_a.as_str(), dev_a.as_str()),
            (ns_m.as_str(), dev_m.as_str()),
        ] {
            ip(&["-n", space, "link", "set", dev, "up"]).unwrap();
            ip(&["-n", space, "link", "set", "lo", "up"]).unwrap();
        }
    }

    let root = tempfile::tempdir().unwrap();
    let master_dir = root.path().join("master");
    let ca = CertificateAuthority::load_or_create(&master_dir.join("ca"), "netns-test").unwrap();
    let mut pins = String::new();
    let mut agents = Vec::new();
    for (n, ns_a) in [(1, &ns_a1), (2, &ns_a2)] {
        let id = issue(&ca, &format!("sensor-{n}"));
        pins.push_str(&format!("{} {}\n", id.host(), id.fingerprint()));
        let dir = root.path().join(format!("agent-{n}"));
        prepare_agent_dir(&dir, &id);
        agents.push((n, ns_a.clone(), dir));
    }
    std::fs::write(master_dir.join("pins"), pins).unwrap();

    let exec = |space: &str| {
        vec![
            "ip".to_owned(),
            "netns".to_owned(),
            "exec".to_owned(),
            space.to_owned(),
        ]
    };
    let prefix_m = exec(&ns_m);
    let prefix_m: Vec<&str> = prefix_m.iter().map(String::as_str).collect();
    let master = Helper::spawn(
        "master",
        "helper_role",
        &prefix_m,
        &[
            (ROLE, "master".to_owned()),
            ("DECNET_MESH_DIR", master_dir.display().to_string()),
            ("DECNET_MESH_LISTEN", "0.0.0.0:8443".to_owned()),
        ],
    );
    master.expect("listening", Duration::from_secs(30));
    let total = RATE * APPEND_FOR;
    let mut helpers = Vec::new();
    for (n, ns_a, dir) in &agents {
        let prefix = exec(ns_a);
        let prefix: Vec<&str> = prefix.iter().map(String::as_str).collect();
        helpers.push(Helper::spawn(
            &format!("agent-{n}"),
            "helper_role",
            &prefix,
            &[
                (ROLE, "agent".to_owned()),
                ("DECNET_MESH_DIR", dir.display().to_string()),
                ("DECNET_MESH_MASTER", format!("10.99.{n}.1:8443")),
                ("DECNET_MESH_APPEND", total.to_string()),
                ("DECNET_MESH_RATE", RATE.to_string()),
            ],
        ));
    }
    for h in &helpers {
        h.expect("start", Duration::from_secs(30));
    }
    let sink_log = master_dir.join("sink.log");
    wait_until(Duration::from_secs(30), "both agents streaming", || {
        let s = read_sink(&sink_log);
        count(&s, "sensor-1") >= 500 && count(&s, "sensor-2") >= 500
    });

    // Cut agent 1's link on the master side for 30 s; both keep appending.
    let cut_dev = format!("dn{pid}m1");
    ip(&["-n", &ns_m, "link", "set", &cut_dev, "down"]).unwrap();
    let before = read_sink(&sink_log);
    std::thread::sleep(CUT / 2);
    let mid = read_sink(&sink_log);
    std::thread::sleep(CUT / 2);
    let during = read_sink(&sink_log);
    ip(&["-n", &ns_m, "link", "set", &cut_dev, "up"]).unwrap();
    let healed = Instant::now();
    eprintln!("[{}] healed", mesh_common::roles::clock());
    assert!(
        count(&during, "sensor-1") <= count(&mid, "sensor-1") + window() as usize,
        "agent 1 kept delivering through a cut link"
    );
    assert!(
        count(&during, "sensor-2") > count(&before, "sensor-2") + (RATE as usize) * 20,
        "agent 2 was held up by agent 1's partition"
    );

    let mut resumed_after = None;
    wait_until(
        Duration::from_secs(30),
        "agent 1 streaming again after the heal",
        || {
            let flowing = count(&read_sink(&sink_log), "sensor-1") > count(&during, "sensor-1");
            if flowing {
                resumed_after = Some(healed.elapsed());
            }
            flowing
        },
    );
    eprintln!(
        "[{}] agent 1 streaming again {resumed_after:?} after the heal",
        mesh_common::roles::clock()
    );

    // Both finish appending; everything arrives.
    let mut last = HashMap::new();
    for (h, (n, _, _)) in helpers.iter().zip(&agents) {
        let done: u64 = h.expect("done", Duration::from_secs(60)).parse().unwrap();
        assert!(done >= total);
        last.insert(format!("sensor-{n}"), done);
    }
    wait_until(
        Duration::from_secs(60),
        "every event of both agents committed",
        || {
            let s = read_sink(&sink_log);
            last.iter().all(|(host, l)| count(&s, host) as u64 >= *l)
        },
    );
    let sink = read_sink(&sink_log);
    for (host, l) in &last {
        let got = &sink[host];
        let missing: Vec<u64> = (1..=*l).filter(|s| !got.contains_key(s)).collect();
        assert!(
            missing.is_empty(),
            "{host} lost {} events, first {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        let mut dups: Vec<u64> = got
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(s, _)| *s)
            .collect();
        dups.sort_unstable();
        let dup_runs = runs(&dups);
        eprintln!(
            "{host}: {} events, {} duplicates {dup_runs:?}",
            got.len(),
            dups.len()
        );
        // Redelivery only of what was in flight, unacknowledged, when the link broke.
        assert!(dup_runs.len() <= 1, "{host}: {dup_runs:?}");
        for (a, b) in &dup_runs {
            assert!(
                b - a < window(),
                "{host}: redelivered {a}..={b} exceeds the in-flight window"
            );
        }
    }
    drop(helpers);
    drop(master);
    drop(topo);
}
