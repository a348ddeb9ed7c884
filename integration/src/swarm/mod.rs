//! Swarm end to end: a master, two enrolled agents and an attacker across network namespaces,
//! with a partition, an agent crash and a database restart, checked event by event.
//!
//! Run by `decnet-swarm-demo` (and `deploy/swarm-demo.sh`, and the `swarm_netns` test).

mod api;
mod attack;
mod netns;
pub mod otlp;
pub mod proc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use decnet_pgcluster::{Cluster, PgBinaries};
use serde::Serialize;
use serde_json::json;

use api::Api;
use attack::Traffic;
use netns::{Node, Swarm};
use proc::Proc;

const API: &str = "http://10.231.0.1:8080";
const ADMIN_PASSWORD: &str = "swarm-demo-admin-Passw0rd";
const SENSORS: [&str; 2] = ["sensor-01", "sensor-02"];

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where `decnet-master` and `decnet-agent` are.
    pub bin_dir: PathBuf,
    /// How long sensor 1 stays cut off.
    pub partition: Duration,
}

/// The one-line summary the demo prints.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Enrolled hosts seen online.
    pub hosts: usize,
    /// Deckies seen running.
    pub deckies: usize,
    /// Events the agents' outboxes took in (the deckies' own count).
    pub events_expected: u64,
    /// Distinct events in PostgreSQL.
    pub events_stored: u64,
    /// Rows beyond one per event id.
    pub duplicates: u64,
    /// Expected events not stored.
    pub missing: u64,
    /// Faults after which nothing was lost or doubled.
    pub faults_survived: Vec<&'static str>,
    /// Attackers derived.
    pub attackers: u64,
    /// Credentials derived.
    pub credentials: u64,
    /// Whether the SSH session transcript replayed through the API.
    pub transcript_replayed: bool,
    /// `span@service` names of one attacker connection's trace, when one spans decky, agent,
    /// mesh and master ingest.
    pub trace: Option<Vec<String>>,
}

/// The spans one attacker connection's trace must hold.
pub const TRACE_SPANS: [&str; 4] = [
    "decky.connection",
    "agent.outbox.append",
    "mesh.durable.deliver",
    "master.ingest.commit",
];
const OTLP: &str = "http://10.231.0.1:4318";

fn step(what: &str) {
    eprintln!("==> {what}");
}

fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

struct Database {
    cluster: Cluster,
    url: String,
}

impl Database {
    fn start(root: &Path) -> anyhow::Result<Database> {
        let mut cluster = Cluster::new(PgBinaries::locate()?, root)?;
        cluster.init_if_needed()?;
        cluster.start()?;
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(cluster.create_database("decnet"))?;
        let url = cluster.url("decnet");
        Ok(Database { cluster, url })
    }

    fn query(&self, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let out = Command::new("psql")
            .args([self.url.as_str(), "-Atq", "-F", "\t", "-c", sql])
            .output()
            .context("cannot run psql (install postgresql-client)")?;
        if !out.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect())
    }

    fn number(&self, sql: &str) -> anyhow::Result<u64> {
        let rows = self.query(sql)?;
        let cell = rows.first().and_then(|r| r.first()).context("no row")?;
        Ok(cell.parse()?)
    }
}

fn fleet_ini(prefix: &str, base: u8) -> String {
    format!(
        "[general]\nnet = 10.232.0.0/24\ngw = 10.232.0.1\n\n\
         [{prefix}-ssh]\nip = 10.232.0.{}\nservices = ssh\n\n\
         [{prefix}-ssh.ssh]\nusers = root:toor,admin:admin123\n\n\
         [{prefix}-web]\nip = 10.232.0.{}\nservices = http\n\n\
         [{prefix}-db]\nip = 10.232.0.{}\nservices = redis\n",
        base,
        base + 1,
        base + 2
    )
}

struct Agent {
    node: Node,
    name: &'static str,
    state: PathBuf,
    fleet: PathBuf,
    proc: Option<Proc>,
    /// `events appended` reported by each run that ended cleanly, latest last.
    appended: Option<u64>,
}

impl Agent {
    fn start(&mut self, bin_dir: &Path) -> anyhow::Result<()> {
        let mut cmd = self.node.command(bin_dir.join("decnet-agent"));
        cmd.args(["run", "--state-dir"])
            .arg(&self.state)
            .arg("--fleet")
            .arg(&self.fleet)
            .env("RUST_LOG", "info")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP)
            .env("OTEL_SERVICE_NAME", format!("decnet-agent-{}", self.name));
        let mut proc = Proc::spawn(self.name, cmd)?;
        proc.wait_line(
            &format!("DECNET agent {} running", self.name),
            Duration::from_secs(60),
        )?;
        self.proc = Some(proc);
        Ok(())
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut proc) = self.proc.take() else {
            return Ok(());
        };
        let status = proc.terminate(Duration::from_secs(30))?;
        if !status.success() {
            bail!("{} exited with {status}", self.name);
        }
        let line = proc
            .stdout()
            .into_iter()
            .find(|l| l.contains("stopped: events appended"))
            .with_context(|| format!("{} printed no event count", self.name))?;
        let n = line
            .split("events appended ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.trim().parse().ok())
            .with_context(|| format!("unreadable count: {line}"))?;
        self.appended = Some(n);
        Ok(())
    }
}

/// Runs the whole demo.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    for tool in [
        "ip",
        "nmap",
        "hydra",
        "sshpass",
        "ssh",
        "curl",
        "redis-cli",
        "psql",
    ] {
        attack::require(tool)?;
    }
    let work = tempfile::Builder::new()
        .prefix("decnet-swarm-")
        .tempdir_in("/tmp")?;
    std::fs::set_permissions(
        work.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )?;
    let w = work.path();

    step("network namespaces: master, sensor-01, sensor-02, attacker");
    let swarm = Swarm::build()?;

    step("PostgreSQL (UNIX socket only)");
    let mut db = Database::start(&w.join("pg"))?;

    step("OTLP trace receiver in the master namespace");
    let spans = w.join("spans.jsonl");
    let mut receiver_cmd = swarm.master.command(std::env::current_exe()?);
    receiver_cmd
        .args(["--otlp-receiver", "10.231.0.1:4318", "--otlp-out"])
        .arg(&spans);
    let mut receiver = Proc::spawn("OTLP receiver", receiver_cmd)?;
    receiver.wait_line("OTLP receiver listening", Duration::from_secs(30))?;

    step("decnet-master serve in the master namespace");
    let config = w.join("master.toml");
    std::fs::write(
        &config,
        format!(
            "[mesh]\nlisten = \"10.231.0.1:8443\"\npki_dir = \"{}\"\n",
            w.join("pki").display()
        ),
    )?;
    let mut master_cmd = swarm.master.command(opts.bin_dir.join("decnet-master"));
    master_cmd
        .args([
            "serve",
            "--database-url",
            &db.url,
            "--listen",
            "10.231.0.1:8080",
            "--config",
        ])
        .arg(&config)
        .env("DECNET_JWT_SECRET", random_hex(32))
        .env("RUST_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP)
        .env("OTEL_SERVICE_NAME", "decnet-master");
    let mut master = Proc::spawn("decnet-master", master_cmd)?;
    let password = master
        .wait_line("admin password: ", Duration::from_secs(60))?
        .trim_start_matches("admin password: ")
        .to_owned();
    master.wait_line("DECNET master listening", Duration::from_secs(30))?;
    let mut api = Api::new(swarm.master.clone(), API);
    api.bootstrap_admin(&password, ADMIN_PASSWORD)?;

    step("enroll both sensors with tokens from the API");
    let nodes = [swarm.sensor1.clone(), swarm.sensor2.clone()];
    let mut agents = Vec::new();
    for (i, name) in SENSORS.iter().enumerate() {
        let token = api.expect(
            "POST",
            "/hosts/enroll-token",
            Some(&json!({"name": name})),
            201,
        )?;
        let token = token["token"].as_str().context("no token")?.to_owned();
        let state = w.join(format!("agent-{}", i + 1));
        let out = nodes[i]
            .command(opts.bin_dir.join("decnet-agent"))
            .args(["enroll", "--token", &token, "--state-dir"])
            .arg(&state)
            .output()?;
        if !out.status.success() {
            bail!("{name} enroll: {}", String::from_utf8_lossy(&out.stderr));
        }
        let fleet = w.join(format!("fleet-{}.ini", i + 1));
        std::fs::write(
            &fleet,
            fleet_ini(&format!("s{}", i + 1), if i == 0 { 11 } else { 21 }),
        )?;
        let mut agent = Agent {
            node: nodes[i].clone(),
            name,
            state,
            fleet,
            proc: None,
            appended: None,
        };
        agent.start(&opts.bin_dir)?;
        agents.push(agent);
    }

    step("fleet view: 2 hosts, 6 deckies");
    let (hosts, deckies) = wait_until(
        "both hosts up with 6 running deckies",
        Duration::from_secs(60),
        || {
            let hosts = api.get("/hosts")?;
            let up = hosts.as_array().map_or(0, |h| {
                h.iter().filter(|h| h["link"]["state"] == "up").count()
            });
            let list = api.get("/deckies")?;
            let running = list
                .as_array()
                .map_or(0, |d| d.iter().filter(|d| d["state"] == "running").count());
            Ok((up == 2 && running == 6).then_some((up, running)))
        },
    )?;

    step("worker stop/start from the master on both sensors (decky.*.state across hosts)");
    for name in SENSORS {
        for (action, outcome, state) in [
            ("stop", "stopped", "stopped"),
            ("start", "started", "running"),
        ] {
            let r = api.expect(
                "POST",
                &format!("/hosts/{name}/workers/deckies"),
                Some(&json!({"action": action})),
                200,
            )?;
            if r["outcome"] != outcome {
                bail!("{name} {action}: {r}");
            }
            wait_until(
                &format!("{name} deckies {state}"),
                Duration::from_secs(30),
                || {
                    let list = api.get(&format!("/deckies?host={name}"))?;
                    let n = list.as_array().map_or(0, |d| {
                        d.iter()
                            .filter(|d| d["host"] == name && d["state"] == state)
                            .count()
                    });
                    Ok((n == 3).then_some(()))
                },
            )?;
        }
        let seen = master
            .stderr()
            .iter()
            .any(|l| l.contains("decky state notice") && l.contains(&format!("host={name}")));
        if !seen {
            bail!("the master's decky.*.state subscriber saw nothing from {name}");
        }
    }

    step("attack: nmap -sV, hydra, an interactive ssh session, curl, redis-cli on both sensors");
    let words = w.join("words.txt");
    std::fs::write(&words, "123456\npassword\nadmin\nletmein\ntoor\n")?;
    for base in [11u8, 21] {
        attack::round(&swarm.attacker, base, &words)?;
    }

    let mut survived = Vec::new();
    step("fault: sensor-01's mesh link cut while the attacker keeps working");
    let traffic = Traffic::start(
        &swarm.attacker,
        vec![("10.232.0.13".into(), "10.232.0.12".into())],
    );
    swarm.set_mgmt(&swarm.sensor1, false)?;
    std::thread::sleep(opts.partition);
    swarm.set_mgmt(&swarm.sensor1, true)?;
    traffic.stop();
    survived.push("partition");

    step("fault: sensor-02's agent killed with SIGKILL mid-stream, then restarted");
    let traffic = Traffic::start(
        &swarm.attacker,
        vec![("10.232.0.23".into(), "10.232.0.22".into())],
    );
    std::thread::sleep(Duration::from_secs(2));
    if let Some(mut proc) = agents[1].proc.take() {
        proc.kill9()?;
    }
    std::thread::sleep(Duration::from_secs(1));
    agents[1].start(&opts.bin_dir)?;
    std::thread::sleep(Duration::from_secs(2));
    traffic.stop();
    survived.push("agent_kill");

    step("fault: PostgreSQL restarted while events flow");
    let traffic = Traffic::start(
        &swarm.attacker,
        vec![
            ("10.232.0.13".into(), "10.232.0.12".into()),
            ("10.232.0.23".into(), "10.232.0.22".into()),
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    db.cluster.stop()?;
    std::thread::sleep(Duration::from_secs(3));
    db.cluster.start()?;
    std::thread::sleep(Duration::from_secs(2));
    traffic.stop();
    survived.push("postgres_restart");

    step("settle: wait for the stream to drain, then stop the agents");
    let mut last = (u64::MAX, Instant::now());
    wait_until(
        "event count stable for 5 s",
        Duration::from_secs(120),
        || {
            let n = db.number("SELECT count(*) FROM events")?;
            if n != last.0 {
                last = (n, Instant::now());
            }
            Ok((last.1.elapsed() >= Duration::from_secs(5)).then_some(()))
        },
    )?;
    for agent in &mut agents {
        agent.stop()?;
    }

    step("compare: every event the deckies produced is stored exactly once");
    let mut expected = 0;
    let mut stored = 0;
    let mut duplicates = 0;
    let per_host: BTreeMap<String, (u64, u64)> = db
        .query("SELECT host, count(*), count(DISTINCT id) FROM events GROUP BY host")?
        .into_iter()
        .filter_map(|r| {
            Some((
                r.first()?.clone(),
                (r.get(1)?.parse().ok()?, r.get(2)?.parse().ok()?),
            ))
        })
        .collect();
    let mut missing = 0;
    for agent in &agents {
        let appended = agent.appended.context("no count")?;
        let (rows, distinct) = per_host.get(agent.name).copied().unwrap_or((0, 0));
        expected += appended;
        stored += distinct;
        duplicates += rows - distinct;
        missing += appended.saturating_sub(distinct);
        eprintln!(
            "    {}: appended {appended}, stored {distinct} ({rows} rows)",
            agent.name
        );
    }
    if missing > 0 || duplicates > 0 {
        survived.clear();
    }
    let attackers = db.number("SELECT count(*) FROM attackers")?;
    let credentials = db.number("SELECT count(*) FROM credentials")?;

    step("replay the ssh session transcript through the API");
    let transcript_replayed = replayed(&api, &db)?;

    let _ = master.terminate(Duration::from_secs(30));
    step("traces: one attacker connection from decky to master ingest");
    let trace = otlp::complete_trace(&spans, &TRACE_SPANS)?;
    let _ = receiver.terminate(Duration::from_secs(5));
    db.cluster.stop()?;
    Ok(Report {
        hosts,
        deckies,
        events_expected: expected,
        events_stored: stored,
        duplicates,
        missing,
        faults_survived: survived,
        attackers,
        credentials,
        transcript_replayed,
        trace,
    })
}

/// Fetches every recorded ssh session's transcript through the API; true when one of them
/// holds the commands typed in the interactive session.
fn replayed(api: &Api, db: &Database) -> anyhow::Result<bool> {
    let sids = db
        .query("SELECT sid FROM sessions WHERE service = 'ssh' AND transcript_shard IS NOT NULL")?;
    for sid in sids.iter().filter_map(|r| r.first()) {
        let (status, cast) = api.raw("GET", &format!("/sessions/{sid}/cast"))?;
        if status == 200 && cast.contains("uname") {
            return Ok(true);
        }
        eprintln!(
            "    session {sid}: {status} {}",
            cast.chars().take(300).collect::<String>()
        );
    }
    eprintln!(
        "    no replayable ssh session among {} recorded",
        sids.len()
    );
    Ok(false)
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
