//! Two deckies configured identically except for their names (no `seed`
//! key: it derives from the name) share no persona value that a scanner or
//! an attacker could use to link them: SSH host keys, the TLS certificate,
//! Redis ids, the virtual host's machine id and uptime. Per-connection
//! values (the MySQL salt) differ even between two connections to one decky.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::Command;

use common::{Decky, run_client};

const SERVICES: &str = "[services.ssh]\nusers = \"root:toor\"\n[services.https]\nserver_header = \"nginx/1.22.1\"\n[services.redis]\nversion = \"7.0.15\"\n[services.mysql]\nmysql_version = \"8.0.36\"\n";

fn start(name: &str, data: &tempfile::TempDir) -> Decky {
    Decky::start_spec(
        name,
        &format!(
            "hostname = \"web-01\"\nhost = \"test-sensor\"\ndata_dir = \"{}\"\n{SERVICES}",
            data.path().display()
        ),
        &[],
    )
}

/// `type → base64 key` as `ssh-keyscan` reports them.
fn host_keys(d: &Decky) -> BTreeMap<String, String> {
    let (status, out, err) = run_client(
        Command::new("ssh-keyscan").args(["-T", "10", &d.ip.to_string()]),
        None,
    );
    assert!(status.success(), "ssh-keyscan: {err}");
    out.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().skip(1);
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect()
}

/// `serial=…`, `SHA256 Fingerprint=…` and the subject of the served certificate.
fn certificate(d: &Decky) -> Vec<String> {
    let script = format!(
        "openssl s_client -connect {}:443 -servername web-01 </dev/null 2>/dev/null \
         | openssl x509 -noout -serial -fingerprint -sha256 -subject",
        d.ip
    );
    let (status, out, err) = run_client(Command::new("sh").args(["-c", &script]), None);
    assert!(status.success(), "openssl: {err}");
    let lines: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{out}");
    lines
}

fn redis_info(d: &Decky) -> BTreeMap<String, String> {
    let (status, out, err) = run_client(
        Command::new("redis-cli").args(["-h", &d.ip.to_string(), "INFO", "server"]),
        None,
    );
    assert!(status.success(), "redis-cli: {err}");
    out.lines()
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Runs `cmd` through `ssh host cmd`.
fn ssh_exec(d: &Decky, cmd: &str) -> String {
    let (status, out, err) = run_client(
        Command::new("sshpass").args([
            "-p",
            "toor",
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "PubkeyAuthentication=no",
            &format!("root@{}", d.ip),
            cmd,
        ]),
        None,
    );
    assert!(status.success(), "ssh {cmd}: {err}");
    out
}

/// The 20-byte scramble of a MySQL protocol v10 greeting.
fn mysql_salt(d: &Decky) -> Vec<u8> {
    let mut s = common::connect(d.addr(3306));
    let mut head = [0u8; 4];
    s.read_exact(&mut head).unwrap();
    let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).unwrap();
    assert_eq!(p[0], 10, "protocol v10");
    let version_end = 1 + p[1..].iter().position(|&b| b == 0).unwrap();
    assert_eq!(&p[1..version_end], b"8.0.36");
    // version NUL, connection id (4), salt part 1 (8), filler, capabilities
    // (2), charset, status (2), capabilities (2), salt length, reserved (10).
    let part1 = version_end + 1 + 4;
    let mut salt = p[part1..part1 + 8].to_vec();
    let part2 = part1 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
    salt.extend_from_slice(&p[part2..part2 + 12]);
    salt
}

#[test]
fn two_deckies_share_no_persona_value() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start("decky-a", &da);
    let b = start("decky-b", &db);

    // SSH host keys: the same key types, not one key in common.
    let (ka, kb) = (host_keys(&a), host_keys(&b));
    println!("decky-a host keys: {ka:#?}\ndecky-b host keys: {kb:#?}");
    assert!(ka.len() >= 3, "{ka:?}");
    assert_eq!(ka.keys().collect::<Vec<_>>(), kb.keys().collect::<Vec<_>>());
    for (t, key) in &ka {
        assert_ne!(key, &kb[t], "{t} host key shared");
    }

    // TLS: another certificate (serial and fingerprint) for the same hostname.
    let (ca, cb) = (certificate(&a), certificate(&b));
    println!("decky-a certificate: {ca:?}\ndecky-b certificate: {cb:?}");
    assert!(ca[0].starts_with("serial=") && ca[1].contains("Fingerprint="));
    assert_ne!(ca[0], cb[0], "serial shared");
    assert_ne!(ca[1], cb[1], "certificate shared");

    // Redis: the run id differs; the configured version does not.
    let (ra, rb) = (redis_info(&a), redis_info(&b));
    assert_eq!(ra["redis_version"], "7.0.15");
    assert_eq!(ra["redis_version"], rb["redis_version"]);
    assert_eq!(ra["run_id"].len(), 40);
    assert_ne!(ra["run_id"], rb["run_id"]);

    // The virtual host: same hostname, another machine id and boot time.
    let probe = "hostname; cat /etc/machine-id; uptime -s";
    let (ha, hb) = (ssh_exec(&a, probe), ssh_exec(&b, probe));
    println!("decky-a: {ha}\ndecky-b: {hb}");
    let (la, lb): (Vec<&str>, Vec<&str>) = (ha.lines().collect(), hb.lines().collect());
    assert_eq!(la.len(), 3, "{ha}");
    assert_eq!((la[0], lb[0]), ("web-01", "web-01"));
    assert_eq!(la[1].len(), 32, "machine-id: {}", la[1]);
    assert_ne!(la[1], lb[1], "machine-id shared");
    assert_ne!(la[2], lb[2], "boot time shared");
    // ... and the machine id is stable for one decky.
    assert_eq!(ssh_exec(&a, "cat /etc/machine-id").trim_end(), la[1]);

    // Salts are per connection, not per decky.
    let (s1, s2, s3) = (mysql_salt(&a), mysql_salt(&a), mysql_salt(&b));
    assert_eq!(s1.len(), 20);
    assert!(s1 != s2 && s1 != s3 && s2 != s3, "{s1:?} {s2:?} {s3:?}");
}
