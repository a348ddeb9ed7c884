//! Redis emulator: RESP2/RESP3 over a seeded fake keyspace.
//!
//! Spec keys (`[services.redis]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 6379 |
//! | `version` | claimed `redis_version` (`7.0.15`); error wording follows it | seeded pick from [`version::COMMON_VERSIONS`] |
//! | `os_string` | INFO `os` | the persona's `uname -srm` |
//! | `requirepass` | accepted passwords (string `"a,b"` or array); empty or absent = no AUTH required | none |
//!
//! Events: `connect`/`disconnect` (runtime), `auth` (credential fields,
//! `secret_kind` `plaintext`, plus `username` when given), `command` (`cmd`
//! upper-cased, `args` a JSON array of the first 8 arguments each cut to
//! 256 bytes, `argc`), `protocol_error` (`error`). AUTH passwords never appear
//! in `command` events.
//!
//! Known gaps: no replication, pub/sub, transactions or Lua (EVAL answers
//! nil); `COMMAND` and `COMMAND DOCS` answer empty; values larger than the
//! decky's `max_frame_bytes` close the connection where Redis would accept
//! them (Redis closes silently too, at its own 1 GiB query-buffer limit).

mod admin;
mod commands;
mod config;
mod data;
mod info;
pub mod resp;
pub mod store;
pub mod version;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::Rng as _;
use rand::seq::SliceRandom as _;

use self::config::RedisConfig;
use self::resp::{ParseLimits, Parsed, Proto, Reply};
use self::store::Store;
use self::version::RedisVersion;
use super::ServiceContext;
use crate::persona::Persona;
use crate::session::event_types::PROTOCOL_ERROR;
use crate::session::{Action, ConnInfo, Draft, Service, Session};
use crate::spec::{ServiceConfig, SpecError};

/// Default port.
pub const DEFAULT_PORT: u16 = 6379;

/// Values every connection of one Redis service shares.
#[derive(Debug)]
pub struct Shared {
    /// Claimed version.
    pub version: RedisVersion,
    /// INFO `os`.
    pub os: String,
    /// The decky persona.
    pub persona: Arc<Persona>,
    /// Accepted passwords; empty means no authentication.
    pub passwords: Vec<Vec<u8>>,
    /// Listening port.
    pub port: u16,
    /// Largest bulk buffered.
    pub max_bulk: usize,
    /// Seeded identity values.
    pub ids: SeededIds,
    /// The keyspace.
    pub store: Mutex<Store>,
    /// CONFIG parameters.
    pub config: Mutex<RedisConfig>,
    /// Live counters for INFO and CLIENT.
    pub stats: Stats,
    started: Instant,
}

/// Identity values derived from the seed once.
#[derive(Debug, Clone)]
pub struct SeededIds {
    /// INFO `run_id` (40 hex).
    pub run_id: String,
    /// INFO `master_replid` (40 hex).
    pub replid: String,
    /// INFO `redis_build_id` (16 hex).
    pub build_id: String,
    /// INFO `process_id`.
    pub process_id: u32,
    /// Server uptime when the decky started (the server started after boot).
    pub uptime_base: Duration,
    /// Background commands per second the "application" generates.
    pub ops_rate: f64,
    /// CPU seconds per uptime second.
    pub cpu_rate: f64,
    /// `total_system_memory`.
    pub system_memory: u64,
    /// Unix time of the last RDB save.
    pub last_save_age: u64,
}

/// Live counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Open connections.
    pub connected: AtomicUsize,
    /// Connections since start.
    pub connections: AtomicU64,
    /// Commands since start.
    pub commands: AtomicU64,
    /// Last client id handed out.
    pub client_id: AtomicU64,
}

impl Shared {
    /// Seconds the emulated server has been up.
    pub fn uptime(&self) -> Duration {
        self.ids.uptime_base + self.started.elapsed()
    }
}

/// The configured Redis service of a decky.
#[derive(Debug)]
pub struct RedisService {
    shared: Arc<Shared>,
}

impl RedisService {
    /// Reads `[services.redis]`.
    pub fn from_config(cfg: &mut ServiceConfig, ctx: &ServiceContext) -> Result<Self, SpecError> {
        let port = cfg.port(DEFAULT_PORT)?;
        let seed = ctx.persona.seed();
        let version = match cfg.table.str("version")? {
            Some(v) => RedisVersion::parse(&v).ok_or_else(|| {
                SpecError::invalid(
                    cfg.table.key_path("version"),
                    format!("{v:?} is not a Redis version like 7.0.15 (3.x to 8.x)"),
                )
            })?,
            None => version::COMMON_VERSIONS
                .choose(&mut seed.rng("redis.version"))
                .and_then(|v| RedisVersion::parse(v))
                .unwrap_or(RedisVersion {
                    major: 7,
                    minor: 0,
                    patch: 15,
                }),
        };
        let os = match cfg.table.str("os_string")? {
            Some(s) if s.is_empty() || s.contains(['\r', '\n']) => {
                return Err(SpecError::invalid(
                    cfg.table.key_path("os_string"),
                    "must be one non-empty line",
                ));
            }
            Some(s) => s,
            None => ctx.persona.uname_srm(),
        };
        let passwords = cfg
            .table
            .str_list("requirepass")?
            .unwrap_or_default()
            .into_iter()
            .map(String::into_bytes)
            .collect::<Vec<_>>();
        let mut rng = seed.rng("redis.instance");
        let machine_up = ctx.persona.uptime();
        let ids = SeededIds {
            run_id: seed.hex("redis.run_id", 40),
            replid: seed.hex("redis.replid", 40),
            build_id: seed.hex("redis.build_id", 16),
            process_id: rng.gen_range(380..2400),
            uptime_base: machine_up.mul_f64(rng.gen_range(0.35..0.999)),
            ops_rate: rng.gen_range(0.2..25.0),
            cpu_rate: rng.gen_range(0.0004..0.004),
            system_memory: *[2u64, 4, 8, 16, 32].choose(&mut rng).unwrap_or(&4)
                * 1024
                * 1024
                * 1024
                - rng.gen_range(180..420) * 1024 * 1024,
            last_save_age: rng.gen_range(5..3600),
        };
        let store = Store::seeded(&mut seed.rng("redis.keyspace"), Instant::now());
        let first_pass = passwords
            .first()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let config = RedisConfig::new(version, port, first_pass.unwrap_or_default());
        let stats = Stats {
            client_id: AtomicU64::new(rng.gen_range(3..40_000)),
            connections: AtomicU64::new(0),
            ..Stats::default()
        };
        Ok(RedisService {
            shared: Arc::new(Shared {
                version,
                os,
                persona: Arc::clone(&ctx.persona),
                passwords,
                port,
                max_bulk: ctx.limits.max_frame_bytes,
                ids,
                store: Mutex::new(store),
                config: Mutex::new(config),
                stats,
                started: Instant::now(),
            }),
        })
    }

    /// The shared state (for tests and INFO).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Service for RedisService {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn port(&self) -> u16 {
        self.shared.port
    }

    fn open(&self, conn: &ConnInfo) -> Box<dyn Session> {
        Box::new(RedisSession::new(Arc::clone(&self.shared), conn))
    }
}

/// Per-connection state visible to commands.
#[derive(Debug)]
pub struct ConnState {
    /// AUTH succeeded (or no password is configured).
    pub authenticated: bool,
    /// Reply protocol.
    pub proto: Proto,
    /// Selected database.
    pub db: usize,
    /// CLIENT SETNAME value.
    pub name: Option<Vec<u8>>,
    /// CLIENT ID.
    pub id: u64,
    /// The connection.
    pub conn: ConnInfo,
    /// When the connection was opened.
    pub opened: Instant,
    /// Last command name, for CLIENT LIST.
    pub last_cmd: String,
}

/// One Redis connection's state machine.
#[derive(Debug)]
pub struct RedisSession {
    shared: Arc<Shared>,
    state: ConnState,
    buf: Vec<u8>,
    closed: bool,
}

impl RedisSession {
    /// A session for `conn`.
    pub fn new(shared: Arc<Shared>, conn: &ConnInfo) -> Self {
        shared.stats.connected.fetch_add(1, Ordering::Relaxed);
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        let id = shared.stats.client_id.fetch_add(1, Ordering::Relaxed) + 1;
        let authenticated = shared.passwords.is_empty();
        RedisSession {
            state: ConnState {
                authenticated,
                proto: Proto::Resp2,
                db: 0,
                name: None,
                id,
                conn: conn.clone(),
                opened: Instant::now(),
                last_cmd: "NULL".to_owned(),
            },
            shared,
            buf: Vec::new(),
            closed: false,
        }
    }
}

impl Drop for RedisSession {
    fn drop(&mut self) {
        self.shared.stats.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Session for RedisSession {
    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.closed {
            return actions;
        }
        self.buf.extend_from_slice(input);
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let limits = ParseLimits {
                max_bulk: self.shared.max_bulk,
                unauthenticated: !self.state.authenticated
                    && self.shared.version.limits_unauthenticated(),
            };
            match resp::parse_request(&self.buf[start..], limits) {
                Parsed::Incomplete => {
                    if self.buf.len() - start > self.shared.max_bulk + resp::INLINE_MAX {
                        // Redis closes silently at its query-buffer limit.
                        actions.push(Action::Emit(
                            Draft::new(PROTOCOL_ERROR).field("error", "query buffer limit reached"),
                        ));
                        self.closed = true;
                    }
                    break;
                }
                Parsed::Empty(used) => start += used,
                Parsed::Command(args, used) => {
                    start += used;
                    let result = commands::execute(&self.shared, &mut self.state, args);
                    actions.extend(result.drafts.into_iter().map(Action::Emit));
                    if let Some(reply) = result.reply {
                        reply.encode(self.state.proto, &mut out);
                    }
                    if result.close {
                        self.closed = true;
                        break;
                    }
                }
                Parsed::Error(text) => {
                    let mut msg = b"ERR Protocol error: ".to_vec();
                    msg.extend_from_slice(&text);
                    actions.push(Action::Emit(
                        Draft::new(PROTOCOL_ERROR).field("error", String::from_utf8_lossy(&text)),
                    ));
                    Reply::err(msg).encode(self.state.proto, &mut out);
                    self.closed = true;
                    break;
                }
            }
        }
        self.buf.drain(..start);
        if self.closed {
            self.buf = Vec::new();
        }
        if !out.is_empty() {
            actions.push(Action::Send(out));
        }
        if self.closed {
            actions.push(Action::Close);
        }
        actions
    }

    fn pending_bytes(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests;
