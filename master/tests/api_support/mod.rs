//! A real API server on a loopback port over a throwaway PostgreSQL, for the api_* tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // shared by several test binaries

use std::net::SocketAddr;
use std::time::Duration;

use decnet_master::api::{self, AppState, Enrollment};
use decnet_master::auth::password;
use decnet_master::config::{ApiConfig, DatabaseConfig};
use decnet_master::store::Store;
use decnet_master::store::users::{NewUser, Role};
use decnet_mesh::bus::{Broker, Bus};
use decnet_pgcluster::TestCluster;
use decnet_runtime::config::Secret;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "2f8c1e6a9b3d5f7e0a4c8b2d6f1e3a5c7b9d0e2f4a6c8e1b";
pub const PASSWORD: &str = "correct-horse-battery";

/// How the server is set up.
#[derive(Clone)]
pub struct Options {
    pub bus: bool,
    pub api: ApiConfig,
    pub enrollment: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bus: true,
            api: ApiConfig::default(),
            enrollment: true,
        }
    }
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Store,
    pub pg: tokio_postgres::Config,
    /// The master bus (when enabled); tests publish on it as the ingest would.
    pub broker: Option<Broker>,
    pub shutdown: CancellationToken,
    pub db: TestCluster,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Api {
    pub async fn start() -> Api {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Api {
        decnet_runtime::crypto::install_crypto_provider();
        let db = TestCluster::start().unwrap();
        let pg = db.create_database("decnet").await.unwrap();
        let store = Store::connect(pg.clone(), &DatabaseConfig::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let shutdown = CancellationToken::new();
        let broker = opts.bus.then(Broker::default);
        let bus = match &broker {
            Some(b) => Bus::local(b, "api"),
            None => Bus::disabled("api"),
        };
        let mut builder = AppState::builder(store.clone(), &Secret::new(SECRET.into()), &opts.api)
            .bus(bus)
            .shutdown(shutdown.clone());
        if opts.enrollment {
            builder = builder.enrollment(Enrollment {
                master_addrs: vec!["127.0.0.1:8443".into()],
                ca_fingerprint: decnet_pki::Fingerprint::of_der(b"test ca"),
            });
        }
        let state = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            decnet_master::http::serve(listener, api::router(state), stop)
                .await
                .unwrap();
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Api {
            base: format!("http://{addr}"),
            http,
            store,
            pg,
            broker,
            shutdown,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Creates a user with [`PASSWORD`].
    pub async fn user(&self, name: &str, role: Role, must_change: bool) {
        let hash = password::hash(PASSWORD).unwrap();
        self.store
            .users()
            .create(NewUser {
                username: name,
                password_hash: &hash,
                role,
                must_change_password: must_change,
            })
            .await
            .unwrap();
    }

    pub async fn login_as(&self, name: &str, pw: &str) -> reqwest::Response {
        self.http
            .post(self.url("/auth/login"))
            .json(&json!({"username": name, "password": pw}))
            .send()
            .await
            .unwrap()
    }

    /// Logs in with [`PASSWORD`] and returns the token.
    pub async fn token(&self, name: &str) -> String {
        let resp = self.login_as(name, PASSWORD).await;
        assert_eq!(resp.status(), 200, "login {name}");
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A raw client on the database, for seeding rows.
    pub async fn sql(&self) -> tokio_postgres::Client {
        let (client, conn) = self.pg.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    /// Announces committed events the way the ingest does (`system.log` on the master bus).
    pub async fn announce(&self) {
        if let Some(b) = &self.broker {
            let ingest = Bus::local(b, "ingest");
            ingest
                .publish(
                    &decnet_mesh::topic::system::log(),
                    "events.committed",
                    &1u32,
                )
                .await
                .unwrap();
        }
    }
}

/// Reads an SSE response until `pred` matches a frame or `timeout` passes; returns frames.
pub async fn read_sse(
    resp: &mut reqwest::Response,
    timeout: Duration,
    mut pred: impl FnMut(&SseFrame) -> bool,
) -> Vec<SseFrame> {
    let mut buf = String::new();
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let raw: String = buf.drain(..end + 2).collect();
            let frame = SseFrame::parse(&raw);
            let done = pred(&frame);
            frames.push(frame);
            if done {
                return frames;
            }
        }
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            _ => return frames,
        }
    }
}

/// One server-sent event frame.
#[derive(Debug, Clone, Default)]
pub struct SseFrame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    pub comment: Option<String>,
}

impl SseFrame {
    fn parse(raw: &str) -> Self {
        let mut f = SseFrame::default();
        for line in raw.lines() {
            if let Some(c) = line.strip_prefix(':') {
                f.comment = Some(c.trim().to_owned());
            } else if let Some((k, v)) = line.split_once(':') {
                let v = v.strip_prefix(' ').unwrap_or(v);
                match k {
                    "id" => f.id = Some(v.to_owned()),
                    "event" => f.event = Some(v.to_owned()),
                    "data" => f.data.push_str(v),
                    _ => {}
                }
            }
        }
        f
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// What [`Api::seed`] created.
pub struct Seeded {
    pub attacker_ip: std::net::IpAddr,
    pub sid: String,
    pub decky: String,
    pub host: String,
    pub spare_host: String,
    /// Holds the recording shard.
    pub dir: tempfile::TempDir,
}

/// An event from `ip` on `decky`.
pub fn event(ip: &str, decky: &str, event_type: &str) -> decnet_event::Event {
    decnet_event::Event::builder()
        .host("sensor-1")
        .decky(decky)
        .service("ssh")
        .event_type(event_type)
        .src(format!("{ip}:40000").parse().unwrap())
        .dst_port(22)
        .build()
        .unwrap()
}

impl Api {
    /// The ingest the master runs, publishing on this server's bus.
    pub fn ingest(&self) -> decnet_master::ingest::Ingest {
        let bus = match &self.broker {
            Some(b) => Bus::local(b, "ingest"),
            None => Bus::disabled("ingest"),
        };
        decnet_master::ingest::Ingest::new(self.store.clone(), bus)
    }

    /// Events (with a credential and a recorded session), a decky and two hosts.
    pub async fn seed(&self) -> Seeded {
        use decnet_master::store::deckies::{self, DeckyReport, DeckyService, DeckyState};
        use decnet_master::store::hosts;

        let dir = tempfile::tempdir().unwrap();
        let sid = "sess-0001".to_owned();
        let shard = dir.path().join("sessions-2026-04-24.jsonl");
        let mut lines = vec![format!(
            r#"{{"sid":"{sid}","hdr":{{"version":2,"width":120,"height":40,"timestamp":1777000000}}}}"#
        )];
        for i in 0..3 {
            lines.push(format!(
                r#"{{"sid":"{sid}","t":{i}.25,"ch":"o","d":"$ ls {i}\r\n"}}"#
            ));
        }
        std::fs::write(&shard, lines.join("\n") + "\n").unwrap();

        let ip = "203.0.113.7";
        let login = decnet_event::Event::builder()
            .host("sensor-1")
            .decky("web-01")
            .service("ssh")
            .event_type("auth")
            .src(format!("{ip}:40000").parse().unwrap())
            .dst_port(22)
            .session_id(&sid)
            .credential(
                "root",
                "plaintext",
                b"hunter2",
                decnet_event::Outcome::Failure,
            )
            .build()
            .unwrap();
        let recorded = decnet_event::Event::builder()
            .host("sensor-1")
            .decky("web-01")
            .service("ssh")
            .event_type("session_recorded")
            .src(format!("{ip}:40000").parse().unwrap())
            .dst_port(22)
            .session_id(&sid)
            .field("shard", shard.to_str().unwrap())
            .field("bytes", "120")
            .build()
            .unwrap();
        self.ingest()
            .commit(
                "sensor-1",
                vec![event(ip, "web-01", "connect"), login, recorded],
            )
            .await
            .unwrap();

        deckies::upsert_state(
            &self.store,
            &DeckyReport {
                name: "web-01".into(),
                host: "sensor-1".into(),
                ip: Some("10.0.0.10".parse().unwrap()),
                persona: Some("linux-server".into()),
                os: Some("linux".into()),
                state: DeckyState::Running,
                last_error: None,
                spec_hash: None,
                services: vec![DeckyService {
                    service: "ssh".into(),
                    port: Some(22),
                    state: "running".into(),
                }],
            },
        )
        .await
        .unwrap();
        let fp = "ab".repeat(32);
        hosts::create(&self.store, "sensor-1", &fp, Some("0.1.0"))
            .await
            .unwrap()
            .unwrap();
        hosts::create(&self.store, "sensor-2", &"cd".repeat(32), None)
            .await
            .unwrap()
            .unwrap();
        Seeded {
            attacker_ip: ip.parse().unwrap(),
            sid,
            decky: "web-01".into(),
            host: "sensor-1".into(),
            spare_host: "sensor-2".into(),
            dir,
        }
    }
}
