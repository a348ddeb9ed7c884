//! MySQL emulator: the connection phase of protocol v10, up to a realistic
//! `ERROR 1045 (28000): Access denied`.
//!
//! Spec keys (`[services.mysql]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 3306 |
//! | `version` | `server_version` of the greeting (`8.0.36`, `5.7.44-log`, `5.5.5-10.11.6-MariaDB-0+deb12u1`) | seeded pick from [`COMMON_VERSIONS`] |
//! | `mysql_version` | alias of `version` (the and other services' `*_version` spelling); not both | |
//!
//! The claimed version decides the capability flags, the default collation
//! and the default authentication plugin (`caching_sha2_password` for 8.x,
//! `mysql_native_password` otherwise). Each connection gets a fresh 20-byte
//! scramble from the OS RNG (bytes 1–127 except `$`, like `generate_user_salt`);
//! connection ids start at a seeded base and grow with time like a busy server's.
//! The server advertises no TLS, so an SSLRequest gets "Bad handshake", as a
//! server built without TLS answers. A client offering another plugin than the
//! server's default gets an AuthSwitchRequest, as for any account of the
//! default plugin. Every login is refused: the accounts do not exist, which
//! real MySQL answers with 1045 right after the scramble, without the
//! caching_sha2 full-authentication exchange.
//!
//! Events: `connect` (`connection_id`), `auth` (credential fields with
//! `secret_kind` = the plugin and the scramble as secret, plus `salt_hex`,
//! `auth_plugin`, `client_name`, `client_version`, `database` when sent),
//! `protocol_error` (`error`), `disconnect`.

pub mod packet;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use decnet_event::Outcome;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, RngCore as _};

use self::packet::{ClientHello, Frame, Greeting, HandshakeResponse};
use super::ServiceContext;
use crate::session::event_types::{AUTH, PROTOCOL_ERROR};
use crate::session::{Action, ConnInfo, Draft, Service, Session};
use crate::spec::{ServiceConfig, SpecError};

/// Default port.
pub const DEFAULT_PORT: u16 = 3306;

/// Versions of real packages, used when the spec gives none.
pub const COMMON_VERSIONS: &[&str] = &[
    "8.0.36",
    "8.0.39-0ubuntu0.22.04.1",
    "8.0.40",
    "8.0.37-0ubuntu0.20.04.3",
    "5.7.44",
    "5.7.42-log",
    "5.5.5-10.11.6-MariaDB-0+deb12u1",
    "5.5.5-10.6.18-MariaDB-0ubuntu0.22.04.1",
];

/// MySQL's `connect_timeout` default: a client has 10 s to log in.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest packet accepted before authentication.
const MAX_HANDSHAKE_PACKET: usize = 64 * 1024;

const NATIVE: &str = "mysql_native_password";
const SHA2: &str = "caching_sha2_password";

/// How the claimed version shapes the greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flavor {
    /// `server_version`.
    pub version: String,
    /// Capability flags.
    pub capabilities: u32,
    /// Default collation id.
    pub charset: u8,
    /// Default authentication plugin.
    pub auth_plugin: &'static str,
    /// MariaDB extended capabilities (0 for MySQL).
    pub mariadb_caps: u32,
}

impl Flavor {
    /// The flavour of `version`, or `None` if it does not look like a real one.
    pub fn of(version: &str) -> Option<Self> {
        let ok_chars = version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_~.+".contains(&b));
        if version.is_empty() || version.len() > 60 || !ok_chars {
            return None;
        }
        let mut nums = version
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().ok());
        let (major, minor, patch) = (nums.next()??, nums.next()??, nums.next()??);
        // Without TLS: CLIENT_SSL (0x800) is never advertised.
        let low = 0xffff & !packet::CLIENT_SSL;
        if version.contains("MariaDB") {
            return Some(Flavor {
                version: version.to_owned(),
                capabilities: 0x81ff << 16 | (low & !packet::CLIENT_LONG_PASSWORD),
                charset: 45,
                auth_plugin: NATIVE,
                mariadb_caps: 0x1d,
            });
        }
        let (high, charset, plugin) = match (major, minor) {
            (5, 5) => (0x800f, 8, NATIVE),
            (5, 6) => (0x807f, 8, NATIVE),
            (5, 7) => (0xc1ff, 8, NATIVE),
            (8, 0) if patch < 23 => (0xc7ff, 255, SHA2),
            (8, 0) if patch < 27 => (0xcfff, 255, SHA2),
            (8 | 9, _) => (0xdfff, 255, SHA2),
            _ => return None,
        };
        Some(Flavor {
            version: version.to_owned(),
            capabilities: high << 16 | low,
            charset,
            auth_plugin: plugin,
            mariadb_caps: 0,
        })
    }
}

/// The configured MySQL service of a decky.
#[derive(Debug)]
pub struct MysqlService {
    port: u16,
    flavor: Arc<Flavor>,
    id_base: u32,
    id_rate: f64,
    issued: AtomicU32,
    started: Instant,
}

impl MysqlService {
    /// Reads `[services.mysql]`.
    pub fn from_config(cfg: &mut ServiceConfig, ctx: &ServiceContext) -> Result<Self, SpecError> {
        let port = cfg.port(DEFAULT_PORT)?;
        let seed = ctx.persona.seed();
        let version = match (cfg.table.str("version")?, cfg.table.str("mysql_version")?) {
            (Some(_), Some(_)) => {
                return Err(SpecError::invalid(
                    cfg.table.key_path("mysql_version"),
                    "`mysql_version` is an alias of `version`; give one of them",
                ));
            }
            (Some(v), None) | (None, Some(v)) => v,
            (None, None) => COMMON_VERSIONS
                .choose(&mut seed.rng("mysql.version"))
                .copied()
                .unwrap_or("8.0.36")
                .to_owned(),
        };
        let flavor = Flavor::of(&version).ok_or_else(|| {
            SpecError::invalid(
                cfg.table.key_path("version"),
                format!("{version:?} is not a MySQL 5.5–9.x or MariaDB version string"),
            )
        })?;
        let mut rng = seed.rng("mysql.connection_id");
        // Ids grow with uptime like a server with background clients; they
        // stay below 2^24 for years, as on real servers between restarts.
        let id_rate: f64 = rng.gen_range(0.0005..0.02);
        let up = ctx.persona.uptime().as_secs_f64();
        let id_base = 8 + rng.gen_range(0..5000) + (up * id_rate) as u32;
        Ok(MysqlService {
            port,
            flavor: Arc::new(flavor),
            id_base,
            id_rate,
            issued: AtomicU32::new(0),
            started: Instant::now(),
        })
    }

    fn next_connection_id(&self) -> u32 {
        let issued = self.issued.fetch_add(1, Ordering::Relaxed);
        let drift = (self.started.elapsed().as_secs_f64() * self.id_rate) as u32;
        self.id_base.wrapping_add(drift).wrapping_add(issued) & 0x00ff_ffff
    }
}

impl Service for MysqlService {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn open(&self, conn: &ConnInfo) -> Box<dyn Session> {
        Box::new(MysqlSession::new(
            Arc::clone(&self.flavor),
            conn,
            self.next_connection_id(),
            fresh_salt(),
        ))
    }
}

/// A scramble as `generate_user_salt` makes it: 7-bit, never NUL or `$`.
pub fn fresh_salt() -> [u8; 20] {
    let mut salt = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    for b in &mut salt {
        *b &= 0x7f;
        if *b == 0 || *b == b'$' {
            *b += 1;
        }
    }
    salt
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Greeting sent, waiting for the login request.
    Login,
    /// AuthSwitchRequest sent, waiting for the new scramble.
    Switched(Box<HandshakeResponse>, &'static str),
    /// Answered; nothing more is read.
    Done,
}

/// One MySQL connection's state machine.
#[derive(Debug)]
pub struct MysqlSession {
    flavor: Arc<Flavor>,
    peer_ip: String,
    connection_id: u32,
    salt: [u8; 20],
    phase: Phase,
    expected_seq: u8,
    buf: Vec<u8>,
}

impl MysqlSession {
    /// A session with an explicit id and salt (the service draws them).
    pub fn new(flavor: Arc<Flavor>, conn: &ConnInfo, connection_id: u32, salt: [u8; 20]) -> Self {
        let ip = conn.peer.ip();
        let peer_ip = match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(ip.to_string(), |v4| v4.to_string()),
            _ => ip.to_string(),
        };
        MysqlSession {
            flavor,
            peer_ip,
            connection_id,
            salt,
            phase: Phase::Login,
            expected_seq: 1,
            buf: Vec::new(),
        }
    }

    fn fail(&mut self, seq: u8, code: u16, state: &str, msg: &str, error: &str) -> Vec<Action> {
        self.phase = Phase::Done;
        self.buf = Vec::new();
        vec![
            Action::Emit(Draft::new(PROTOCOL_ERROR).field("error", error)),
            Action::Send(packet::err_packet(seq, code, state, msg)),
            Action::Close,
        ]
    }

    fn bad_handshake(&mut self, seq: u8, why: &str) -> Vec<Action> {
        self.fail(seq, 1043, "08S01", "Bad handshake", why)
    }

    fn deny(
        &mut self,
        login: &HandshakeResponse,
        plugin: &str,
        scramble: &[u8],
        seq: u8,
    ) -> Vec<Action> {
        self.phase = Phase::Done;
        self.buf = Vec::new();
        let user = String::from_utf8_lossy(&login.user).into_owned();
        let mut draft = Draft::new(AUTH)
            .credential(&user, plugin, scramble, Outcome::Failure)
            .field("auth_plugin", plugin)
            .field("salt_hex", hex::encode(self.salt));
        if let Some(db) = &login.database {
            draft = draft.field("database", String::from_utf8_lossy(db));
        }
        for (attr, field) in [
            ("_client_name", "client_name"),
            ("_client_version", "client_version"),
        ] {
            if let Some((_, v)) = login.attributes.iter().find(|(k, _)| k == attr) {
                draft = draft.field(field, v.as_str());
            }
        }
        let using = if scramble.is_empty() { "NO" } else { "YES" };
        // `user` is shown as sent (MySQL prints it with %-.48s).
        let shown: String = user.chars().take(48).collect();
        let msg = format!(
            "Access denied for user '{shown}'@'{}' (using password: {using})",
            self.peer_ip
        );
        vec![
            Action::Emit(draft),
            Action::Send(packet::err_packet(seq, 1045, "28000", &msg)),
            Action::Close,
        ]
    }

    fn on_packet(&mut self, seq: u8, payload: &[u8]) -> Vec<Action> {
        if seq != self.expected_seq {
            return self.bad_handshake(seq.wrapping_add(1), "packets out of order");
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Login => match packet::parse_client_hello(payload) {
                Err(e) => self.bad_handshake(seq.wrapping_add(1), e.0),
                Ok(ClientHello::SslRequest { .. }) => self.bad_handshake(
                    seq.wrapping_add(1),
                    "SSL requested from a server without SSL",
                ),
                Ok(ClientHello::Login(login)) => {
                    let server = self.flavor.auth_plugin;
                    let offered = login
                        .auth_plugin
                        .clone()
                        .unwrap_or_else(|| server.to_owned());
                    let switchable = login.capabilities & packet::CLIENT_PLUGIN_AUTH != 0;
                    if offered != server && switchable {
                        self.phase = Phase::Switched(Box::new(login), server);
                        self.expected_seq = seq.wrapping_add(2);
                        return vec![Action::Send(packet::auth_switch(
                            seq.wrapping_add(1),
                            server,
                            &self.salt,
                        ))];
                    }
                    // Clients without plugin support can only speak the 4.1 native scramble.
                    let plugin = if switchable { server } else { NATIVE };
                    let scramble = login.auth_response.clone();
                    self.deny(&login, plugin, &scramble, seq.wrapping_add(1))
                }
            },
            Phase::Switched(login, plugin) => {
                self.deny(&login, plugin, payload, seq.wrapping_add(1))
            }
            Phase::Done => Vec::new(),
        }
    }
}

impl Session for MysqlSession {
    fn connect_fields(&self) -> Vec<(&'static str, String)> {
        vec![("connection_id", self.connection_id.to_string())]
    }

    fn start(&mut self) -> Vec<Action> {
        let greeting = Greeting {
            version: &self.flavor.version,
            connection_id: self.connection_id,
            salt: &self.salt,
            capabilities: self.flavor.capabilities,
            charset: self.flavor.charset,
            status: packet::STATUS_AUTOCOMMIT,
            auth_plugin: self.flavor.auth_plugin,
            mariadb_caps: self.flavor.mariadb_caps,
        };
        vec![Action::Send(greeting.encode())]
    }

    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        self.buf.extend_from_slice(input);
        let mut actions = Vec::new();
        while self.phase != Phase::Done {
            match packet::next_packet(&self.buf, MAX_HANDSHAKE_PACKET) {
                Frame::Incomplete => break,
                Frame::TooLarge(_) => {
                    let seq = self.buf.get(3).copied().unwrap_or(0).wrapping_add(1);
                    actions.extend(self.fail(
                        seq,
                        1153,
                        "08S01",
                        "Got packet bigger than 'max_allowed_packet' bytes",
                        "packet too large",
                    ));
                }
                Frame::Packet { seq, payload, used } => {
                    let payload = payload.to_vec();
                    self.buf.drain(..used);
                    actions.extend(self.on_packet(seq, &payload));
                }
            }
        }
        actions
    }

    fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    fn idle_timeout(&self) -> Option<Duration> {
        Some(CONNECT_TIMEOUT)
    }
}

#[cfg(test)]
mod tests;
