//! The docker driver against a real engine (Podman's Docker API in CI): three deckies on a
//! macvlan network over a veth parent, reached by real clients through the host shim;
//! their replies carry the persona's TTL and MAC vendor; their events arrive through the
//! collector; a killed decky is restarted by the reconciler; teardown leaves nothing.
//!
//! Needs root (veth, shim) and an engine. `deploy/test.sh` provides both and sets
//! `DECNET_REQUIRE_ENGINE=1`, so in CI a missing engine fails the test instead of skipping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Proc, available, sh};

/// A custom (BYOS) service: a Perl echo server on port 7 that logs each connection as an
/// RFC 5424 line on stdout, as the predecessor's services did.
const ECHO_SERVICE: &str = r#"perl -e 'use IO::Socket::INET; $|=1; my $s = IO::Socket::INET->new(LocalPort => 7, Listen => 5, ReuseAddr => 1) or die $!; while (my $c = $s->accept) { printf "<134>1 - - echo - connect [relay\@55555 src_ip=\"%s\"] hello\n", $c->peerhost; my $l = <$c>; print $c $l if defined $l; close $c }'"#;

/// Removes the veth pair and anything the agent left, even when the test fails.
struct Cleanup {
    veth: String,
    state: std::path::PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut cmd = common::command("decnet-agent");
        cmd.args(["teardown", "--all", "--state-dir"])
            .arg(&self.state);
        let _ = cmd.output();
        let _ = sh("ip", &["link", "del", &self.veth]);
    }
}

fn write_agent_file(state: &Path, host: &str) {
    std::fs::create_dir_all(state).unwrap();
    std::fs::write(
        state.join("agent.toml"),
        format!("host = \"{host}\"\nmasters = [\"127.0.0.1:9\"]\n"),
    )
    .unwrap();
}

fn ttl_of(ip: &str) -> u32 {
    let (ok, out) = sh("ping", &["-c", "1", "-W", "3", ip]);
    assert!(ok, "ping {ip}: {out}");
    let ttl = out.split("ttl=").nth(1).unwrap();
    ttl.split_whitespace().next().unwrap().parse().unwrap()
}

fn mac_of(ip: &str) -> String {
    let (_, out) = sh("ip", &["neigh", "show", ip]);
    out.split("lladdr ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no neighbour entry for {ip}: {out}"))
        .to_owned()
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn three_container_deckies_on_macvlan_answer_with_their_persona_and_leave_nothing() {
    if !available() {
        return;
    }
    let Some(base) = common::base_image() else {
        return;
    };
    let tag = std::process::id() % 10_000;
    let octet = 20 + std::process::id() % 200;
    let host = format!("dt{tag}");
    let veth = format!("dv{tag}a");
    let peer = format!("dv{tag}b");
    let dir = common::tempdir();
    let state = dir.path().join("state");
    write_agent_file(&state, &host);
    let _cleanup = Cleanup {
        veth: veth.clone(),
        state: state.clone(),
    };
    let (ok, out) = sh(
        "ip",
        &["link", "add", &veth, "type", "veth", "peer", "name", &peer],
    );
    assert!(ok, "{out}");
    for link in [&veth, &peer] {
        assert!(sh("ip", &["link", "set", link, "up"]).0);
    }
    let subnet = format!("10.213.{octet}");
    let (win, lin, db) = (
        format!("win-{tag}"),
        format!("lin-{tag}"),
        format!("db-{tag}"),
    );
    let fleet = dir.path().join("fleet.ini");
    std::fs::write(
        &fleet,
        format!(
            "[general]\nnet = {subnet}.0/24\ninterface = {veth}\n\n\
             [{win}]\nip = {subnet}.10\nservices = http\nnmap_os = windows\n\n\
             [{lin}]\nip = {subnet}.11\nservices = ssh,redis,echo\n\n\
             [{db}]\nip = {subnet}.12\nservices = mysql\n\n\
             [custom-echo]\nbinary = {base}\nports = 7\nexec = {ECHO_SERVICE}\n"
        ),
    )
    .unwrap();

    let mut deploy = common::command("decnet-agent");
    deploy
        .args(["deploy", "--driver", "docker", "--foreground", "--config"])
        .arg(&fleet)
        .arg("--state-dir")
        .arg(&state);
    let started = Instant::now();
    let mut agent = Proc::spawn("decnet-agent deploy --driver docker", deploy).unwrap();
    for name in [&win, &lin, &db] {
        agent
            .wait_line(&format!("{name} "), Duration::from_secs(120))
            .unwrap();
    }
    eprintln!("3 container deckies up in {:?}", started.elapsed());
    assert!(
        agent
            .stdout()
            .contains(&format!("{lin} {subnet}.11 redis,ssh,echo")),
        "{:?}",
        agent.stdout()
    );

    // Real clients through the host shim.
    let (win_ip, lin_ip, db_ip) = (
        format!("{subnet}.10"),
        format!("{subnet}.11"),
        format!("{subnet}.12"),
    );
    let (ok, code) = sh(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-m",
            "5",
            &format!("http://{win_ip}/"),
        ],
    );
    assert!(ok && code == "200", "curl: {code}");
    let (_, pong) = sh("redis-cli", &["-h", &lin_ip, "ping"]);
    assert_eq!(pong.trim(), "PONG");
    let (_, mysql) = sh(
        "mysql",
        &[
            "--connect-timeout=5",
            "-h",
            &db_ip,
            "-u",
            "root",
            "-pwinter2026",
            "-e",
            "select 1",
        ],
    );
    assert!(mysql.contains("ERROR 1045"), "mysql: {mysql}");
    let (_, ssh) = sh(
        "sshpass",
        &[
            "-p",
            "hunter2",
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "NumberOfPasswordPrompts=1",
            &format!("admin@{lin_ip}"),
            "id",
        ],
    );
    eprintln!("ssh: {}", ssh.trim());

    // The custom service shares the decky's address (its network namespace).
    let echoed = {
        use std::io::{BufRead as _, Write as _};
        let mut stream = std::net::TcpStream::connect((lin_ip.as_str(), 7)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(b"knock knock\n").unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stream)
            .read_line(&mut line)
            .unwrap();
        line
    };
    assert_eq!(echoed, "knock knock\n");

    // The persona on the wire: TTL and a globally administered MAC of the family's vendors.
    assert_eq!(ttl_of(&win_ip), 128, "windows persona TTL");
    assert_eq!(ttl_of(&lin_ip), 64, "linux persona TTL");
    for ip in [&win_ip, &lin_ip, &db_ip] {
        let mac = mac_of(ip);
        let first = u8::from_str_radix(&mac[..2], 16).unwrap();
        assert_eq!(first & 0x02, 0, "{ip} has a locally administered MAC {mac}");
    }
    let win_mac = mac_of(&win_ip);
    assert!(
        ["00:14:22", "3c:d9:2b", "54:e1:ad", "3c:97:0e"].contains(&&win_mac[..8]),
        "windows workstation MAC {win_mac} is not a Dell/HP/Lenovo/Intel OUI"
    );

    // Events arrive through the collector (container stdout → RFC 5424 lines here).
    for (what, needle) in [
        ("http request", format!(" {win} http - request ")),
        ("redis command", format!(" {lin} redis - command ")),
        ("mysql auth", format!(" {db} mysql - auth ")),
        ("ssh auth", format!(" {lin} ssh - auth ")),
        // A BYOS line without a hostname is attributed to its decky by the container label.
        ("custom service connect", format!(" {lin} echo - connect ")),
    ] {
        agent
            .wait_for(what, Duration::from_secs(20), |l| l.contains(&needle))
            .unwrap();
    }

    // Non-root, one capability.
    let (_, user) = sh(
        "podman",
        &[
            "inspect",
            "--format",
            "{{.Config.User}}",
            &format!("decnet-{db}"),
        ],
    );
    assert_eq!(user.trim(), "10001:10001");

    // A killed decky comes back at once: the reconciler reacts to the engine's `die`
    // event (its timer alone would take up to 10 s).
    assert!(sh("podman", &["kill", &format!("decnet-{db}")]).0);
    wait_until(
        "the reconciler restarts the killed decky",
        Duration::from_secs(6),
        || {
            let (_, out) = sh(
                "mysql",
                &[
                    "--connect-timeout=2",
                    "-h",
                    &db_ip,
                    "-u",
                    "root",
                    "-px",
                    "-e",
                    "select 1",
                ],
            );
            out.contains("ERROR 1045")
        },
    );

    // A stranded container with this host's labels (a crash mid-deploy, say) is reaped.
    let image: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("docker").join("image.json")).unwrap(),
    )
    .unwrap();
    let ghost = format!("decnet-ghost-{tag}");
    let (ok, out) = sh(
        "podman",
        &[
            "create",
            "--name",
            &ghost,
            "--label",
            &format!("decnet.host={host}"),
            "--label",
            "decnet.decky=ghost",
            image["id"].as_str().unwrap(),
            "--version",
        ],
    );
    assert!(ok, "podman create: {out}");
    wait_until(
        "the reaper removes the stranded container",
        Duration::from_secs(30),
        || !sh("podman", &["container", "exists", &ghost]).0,
    );

    agent.terminate(Duration::from_secs(10)).unwrap();
    let mut teardown = common::command("decnet-agent");
    teardown
        .args(["teardown", "--all", "--state-dir"])
        .arg(&state);
    let out = common::run(teardown);
    assert!(out.ok, "{}", out.stderr);
    for name in [&win, &lin, &db] {
        assert!(
            out.stdout.contains(&format!("removed {name}")),
            "{}",
            out.stdout
        );
    }

    // Nothing left: containers, networks, shim, routes.
    let label = format!("label=decnet.host={host}");
    let (_, containers) = sh("podman", &["ps", "-a", "-q", "--filter", &label]);
    assert!(
        containers.trim().is_empty(),
        "containers left: {containers}"
    );
    let (_, networks) = sh("podman", &["network", "ls", "-q", "--filter", &label]);
    assert!(networks.trim().is_empty(), "networks left: {networks}");
    let (_, links) = sh("ip", &["-o", "link", "show"]);
    assert!(
        !links
            .lines()
            .any(|l| l.contains("dshim") && l.contains(&format!("@{veth}"))),
        "a shim on {veth} is left: {links}"
    );
    let (_, routes) = sh("ip", &["route", "show"]);
    assert!(!routes.contains(&subnet), "routes left: {routes}");
}

/// An enrolled agent running the docker driver: the master deploys a container decky
/// through the API, an attacker's redis commands reach the master's database through the
/// collector, the outbox and the mesh, the fleet view shows the decky running, and the
/// master's teardown removes its container.
#[test]
fn master_deploys_container_deckies_and_their_events_reach_the_database() {
    if !available() {
        return;
    }
    let tag = (std::process::id() + 1) % 10_000;
    let octet = 20 + (std::process::id() + 1) % 200;
    let host = format!("dsw{tag}");
    let veth = format!("dw{tag}a");
    let peer = format!("dw{tag}b");
    let tmp = common::tempdir();
    let master = common::Master::up(tmp.path(), "[embedded]\ndemo = false\n");
    let issued = master.hosts(&["enroll-token", "--name", &host]);
    assert!(issued.ok, "{}", issued.stderr);
    let state = tmp.path().join("agent");
    let mut enroll = common::command("decnet-agent");
    enroll
        .args(["enroll", "--token", issued.stdout.trim(), "--state-dir"])
        .arg(&state);
    let enrolled = common::run(enroll);
    assert!(enrolled.ok, "{}", enrolled.stderr);
    let _cleanup = Cleanup {
        veth: veth.clone(),
        state: state.clone(),
    };
    assert!(
        sh(
            "ip",
            &["link", "add", &veth, "type", "veth", "peer", "name", &peer]
        )
        .0
    );
    for link in [&veth, &peer] {
        assert!(sh("ip", &["link", "set", link, "up"]).0);
    }

    let mut run = common::command("decnet-agent");
    run.args(["run", "--driver", "docker", "--state-dir"])
        .arg(&state);
    let mut agent = Proc::spawn("decnet-agent run --driver docker", run).unwrap();
    agent
        .wait_line(
            &format!("DECNET agent {host} running"),
            Duration::from_secs(120),
        )
        .unwrap();
    master.wait_status(&host, "online", Duration::from_secs(20));

    let token = master.api_token("docker-swarm-Passw0rd");
    let decky = format!("cw-{tag}");
    let ip = format!("10.215.{octet}.10");
    let fleet = format!(
        "[general]\nnet = 10.215.{octet}.0/24\ninterface = {veth}\n\n[{decky}]\nip = {ip}\nservices = redis\nnmap_os = windows_server\n"
    );
    let auth = format!("authorization: Bearer {token}");
    let deployed = common::curl(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "-H",
        "content-type: text/plain",
        "--data-binary",
        &fleet,
        &format!("{}/api/v1/deckies/deploy?host={host}", master.api),
    ]);
    assert!(deployed.contains("\"id\""), "{deployed}");
    wait_until(
        "the container decky answers",
        Duration::from_secs(60),
        || sh("redis-cli", &["-h", &ip, "PING"]).1.contains("PONG"),
    );
    assert_eq!(ttl_of(&ip), 128, "windows_server persona TTL");
    let (_, set) = sh("redis-cli", &["-h", &ip, "SET", "loot", "creds"]);
    assert!(set.contains("OK"), "{set}");

    // Collector → outbox → mesh → PostgreSQL.
    let search = format!("decky:{decky} service:redis event:command");
    wait_until(
        "the redis command is stored by the master",
        Duration::from_secs(30),
        || {
            let body = common::curl(&[
                "-G",
                "-H",
                &auth,
                "--data-urlencode",
                &format!("search={search}"),
                &format!("{}/api/v1/events", master.api),
            ]);
            let page: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            page["events"].as_array().is_some_and(|events| {
                events
                    .iter()
                    .any(|e| e["host"] == host.as_str() && e.to_string().contains("SET"))
            })
        },
    );
    // The fleet view: the container decky, running, with its persona.
    wait_until(
        "the fleet view shows the decky running",
        Duration::from_secs(30),
        || {
            let body = common::curl(&[
                "-H",
                &auth,
                &format!("{}/api/v1/deckies?host={host}", master.api),
            ]);
            let rows: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            rows.as_array().is_some_and(|rows| {
                rows.iter().any(|r| {
                    r["name"] == decky.as_str()
                        && r["state"] == "running"
                        && r["os"] == "windows_server"
                        && r["ip"] == ip.as_str()
                })
            })
        },
    );

    // The desired state survives the agent: stopped, the decky's container removed behind
    // its back, restarted, the agent brings the decky back.
    let status = agent.terminate(Duration::from_secs(15)).unwrap();
    assert!(
        status.success(),
        "agent exit {status:?}\n{}",
        agent.stderr_text()
    );
    assert!(sh("podman", &["rm", "-f", &format!("decnet-{decky}")]).0);
    let mut again = common::command("decnet-agent");
    again
        .args(["run", "--driver", "docker", "--state-dir"])
        .arg(&state);
    let mut agent = Proc::spawn("decnet-agent run --driver docker (again)", again).unwrap();
    agent
        .wait_line(
            &format!("DECNET agent {host} running"),
            Duration::from_secs(60),
        )
        .unwrap();
    wait_until(
        "the restarted agent recreates the decky",
        Duration::from_secs(30),
        || sh("redis-cli", &["-h", &ip, "PING"]).1.contains("PONG"),
    );
    master.wait_status(&host, "online", Duration::from_secs(20));

    // The decky also publishes on the agent's bus through the mounted socket: the agent's
    // end of that connection lives in the decky's network namespace.
    let pid = sh(
        "podman",
        &[
            "inspect",
            "--format",
            "{{.State.Pid}}",
            &format!("decnet-{decky}"),
        ],
    )
    .1
    .trim()
    .to_owned();
    let socket = state.join("run").join("bus.sock");
    wait_until(
        "the decky connects to the agent's bus",
        Duration::from_secs(15),
        || {
            let (_, ss) = sh("nsenter", &["-t", &pid, "-n", "ss", "-xp"]);
            ss.lines()
                .any(|l| l.contains(socket.to_str().unwrap()) && l.contains("decnet-agent"))
        },
    );

    // Teardown from the master removes the container.
    let torn = common::curl(&[
        "-X",
        "DELETE",
        "-H",
        &auth,
        &format!("{}/api/v1/deckies/{decky}", master.api),
    ]);
    assert!(torn.contains("\"id\""), "{torn}");
    wait_until(
        "the master's teardown removes the container",
        Duration::from_secs(30),
        || {
            !sh(
                "podman",
                &["container", "exists", &format!("decnet-{decky}")],
            )
            .0
        },
    );
    let status = agent.terminate(Duration::from_secs(15)).unwrap();
    assert!(
        status.success(),
        "agent exit {status:?}\n{}",
        agent.stderr_text()
    );
}

/// Without a parent interface the decky network is a bridge the host reaches directly.
#[test]
fn without_an_interface_deckies_sit_on_a_bridge_the_host_reaches() {
    if !available() {
        return;
    }
    let tag = (std::process::id() + 2) % 10_000;
    let octet = 20 + (std::process::id() + 2) % 200;
    let host = format!("db{tag}");
    let dir = common::tempdir();
    let state = dir.path().join("state");
    write_agent_file(&state, &host);
    let _cleanup = Cleanup {
        veth: format!("none{tag}"),
        state: state.clone(),
    };
    let decky = format!("br-{tag}");
    let ip = format!("10.216.{octet}.10");
    let fleet = dir.path().join("fleet.ini");
    std::fs::write(
        &fleet,
        format!(
            "[general]\nnet = 10.216.{octet}.0/24\n\n[{decky}]\nip = {ip}\nservices = redis\nnmap_os = windows\n"
        ),
    )
    .unwrap();
    let mut deploy = common::command("decnet-agent");
    deploy
        .args(["deploy", "--driver", "docker", "--config"])
        .arg(&fleet)
        .arg("--state-dir")
        .arg(&state);
    let out = common::run(deploy);
    assert!(out.ok, "deploy failed:\n{}", out.stderr);
    assert_eq!(out.stdout.trim(), format!("{decky} {ip} redis"));
    let (_, driver) = sh(
        "podman",
        &[
            "network",
            "inspect",
            "--format",
            "{{.Driver}}",
            &format!("decnet-10.216.{octet}.0-24"),
        ],
    );
    assert_eq!(driver.trim(), "bridge");
    assert!(sh("redis-cli", &["-h", &ip, "PING"]).1.contains("PONG"));
    assert_eq!(ttl_of(&ip), 128);
    let mut teardown = common::command("decnet-agent");
    teardown
        .args(["teardown", "--decky", &decky, "--state-dir"])
        .arg(&state);
    let out = common::run(teardown);
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("removed {decky}")),
        "{}",
        out.stdout
    );
    let label = format!("label=decnet.host={host}");
    let (_, left) = sh("podman", &["ps", "-a", "-q", "--filter", &label]);
    assert!(left.trim().is_empty(), "containers left: {left}");
    let (_, networks) = sh("podman", &["network", "ls", "-q", "--filter", &label]);
    assert!(networks.trim().is_empty(), "networks left: {networks}");
}
