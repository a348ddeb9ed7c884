//! SMTP emulator: Postfix or Exim, AUTH capture, and every message kept as
//! a size-capped `.eml` artifact.
//!
//! Spec keys (`[services.smtp]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 25 |
//! | `mta` | `postfix` or `exim` (the predecessor's `sendmail` is refused: its dialect is not emulated) | `postfix` |
//! | `version` | Exim version in the banner (Postfix never shows one) | `4.96` |
//! | `hostname` | `myhostname` / `primary_hostname` in the banner and replies | the decky's hostname |
//! | `banner` | the whole 220 text after `220 ` | the MTA's Debian banner |
//! | `max_message_bytes` | `message_size_limit`: advertised as SIZE, larger messages get 552 | Postfix 10240000, Exim 52428800 |
//! | `starttls` | offer STARTTLS with the decky's certificate (CN = the hostname, or `tls_cn`; `tls_cert`/`tls_key` to use given files) | true |
//!
//! Every MAIL and RCPT is accepted (the decky is an open relay, which is
//! what draws spam runs); AUTH PLAIN and LOGIN are advertised and always fail
//! after Dovecot's 2 s `auth_failure_delay`, Postfix's 535 keeping Dovecot's
//! quirk of repeating the last SASL challenge as the reason. DATA and BDAT
//! (CHUNKING is advertised, as Postfix 3.4+ does) are accepted; the message
//! is stored with a `Received:` header in the MTA's format, capped at 10 MiB
//! and at a 64 MiB budget shared by all connections of the decky (the rest
//! is counted, not kept). Postfix's error limits are kept: after 10 errors a
//! second's pause per error, at 20 `421 ... Error: too many errors`; Exim
//! hangs up after 3 unknown commands. HTTP and proxy commands get Postfix's
//! "I can break rules, too" and a disconnect.
//!
//! STARTTLS: offered by default, as Debian's Postfix does with its snakeoil
//! certificate. After `220 Ready to start TLS` the session drives a
//! [`crate::tls::layer::TlsLayer`] itself; pipelined plaintext after the
//! command is discarded (RFC 3207) and reported.
//!
//! Events: `command` (`cmd`, `args`; AUTH shows only the mechanism),
//! `auth` (credential fields, `plaintext`, outcome `failure`,
//! `auth_mechanism`, `authzid`), `message_stored` (`queue_id`, `mail_from`,
//! `rcpt_to`, `rcpt_count`, `subject`, `sha256`, `size`, `message_bytes`,
//! `truncated`, `stored_as`: the file under `data_dir/artifacts/`),
//! `tls_handshake`, `protocol_error`.

pub mod flavor;
pub mod session;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use self::flavor::Mta;
use self::session::SmtpSession;
use super::ServiceContext;
use crate::artifacts::{ArtifactStore, Stored};
use crate::session::{ConnInfo, Service, Session, SideTask};
use crate::spec::{ServiceConfig, SpecError};

/// Default port.
pub const DEFAULT_PORT: u16 = 25;

/// A message was stored as an `.eml` artifact.
pub const MESSAGE_STORED: &str = "message_stored";

/// Largest part of one message kept.
pub const STORE_CAP: usize = 10 * 1024 * 1024;

/// Message bytes all connections of one decky may hold at once.
pub const BUDGET: usize = 64 * 1024 * 1024;

/// What a store task returns.
pub type StoreResult = Result<Stored, String>;

/// Stores one message (`.eml` bytes) as a side task resolving to a [`StoreResult`].
pub type MailStore = Arc<dyn Fn(Vec<u8>) -> SideTask + Send + Sync>;

/// Bytes of message data held in memory, across connections.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes `n` bytes if they fit.
    pub fn reserve(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|t| *t <= self.max)
            })
            .is_ok()
    }

    /// Gives `n` bytes back.
    pub fn release(&self, n: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            });
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// What every connection of one SMTP service shares.
pub struct SmtpShared {
    /// The MTA claimed.
    pub mta: Mta,
    /// The host name it calls itself.
    pub host: String,
    /// Custom 220 text, if any.
    pub banner: Option<String>,
    /// `message_size_limit`.
    pub size_limit: u64,
    /// Bytes of one message kept.
    pub store_cap: usize,
    /// STARTTLS configuration, when offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where messages go.
    pub store: MailStore,
    /// Shared memory budget.
    pub budget: Budget,
    /// Pause before a failed AUTH's 535.
    pub auth_delay: Duration,
    /// Unix seconds now.
    pub clock: fn() -> i64,
}

impl std::fmt::Debug for SmtpShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpShared")
            .field("mta", &self.mta)
            .field("host", &self.host)
            .field("size_limit", &self.size_limit)
            .field("starttls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// An RFC 5322 date in UTC (`Sun, 29 Nov 2026 13:44:57 +0000`).
pub fn rfc5322_date(unix: i64) -> String {
    let http = super::http::product::http_date(unix);
    format!("{} +0000", http.trim_end_matches(" GMT"))
}

fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The real store: `.eml` files in the artifact store, written off the async workers.
pub fn artifact_mail_store(store: ArtifactStore) -> MailStore {
    Arc::new(move |eml: Vec<u8>| {
        let store = store.clone();
        Box::pin(async move {
            let r: StoreResult =
                match tokio::task::spawn_blocking(move || store.store(&eml, Some("eml"))).await {
                    Ok(Ok(s)) => Ok(s),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
            Box::new(r) as crate::session::SideOutput
        })
    })
}

/// The configured SMTP service of a decky.
#[derive(Debug)]
pub struct SmtpService {
    port: u16,
    shared: Arc<SmtpShared>,
}

impl SmtpService {
    /// Reads `[services.smtp]`.
    pub fn from_config(cfg: &mut ServiceConfig, ctx: &ServiceContext) -> Result<Self, SpecError> {
        let port = cfg.port(DEFAULT_PORT)?;
        let t = &mut cfg.table;
        let name = t.str("mta")?.unwrap_or_else(|| "postfix".to_owned());
        let version = t.str("version")?;
        let mta = Mta::new(&name, version.as_deref()).ok_or_else(|| {
            if name == "exim" {
                SpecError::invalid(
                    t.key_path("version"),
                    format!(
                        "{:?} is not an Exim version",
                        version.clone().unwrap_or_default()
                    ),
                )
            } else {
                SpecError::invalid(
                    t.key_path("mta"),
                    format!("{name:?} is not one of postfix, exim"),
                )
            }
        })?;
        if version.is_some() && mta == Mta::Postfix {
            return Err(SpecError::invalid(
                t.key_path("version"),
                "Postfix never shows its version; remove the key",
            ));
        }
        let host = t
            .str("hostname")?
            .unwrap_or_else(|| ctx.persona.hostname.clone());
        if host.is_empty()
            || host.len() > 253
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        {
            return Err(SpecError::invalid(
                t.key_path("hostname"),
                format!("{host:?} is not a host name"),
            ));
        }
        let banner = t.str("banner")?;
        if banner
            .as_ref()
            .is_some_and(|b| b.bytes().any(|c| c.is_ascii_control()))
        {
            return Err(SpecError::invalid(
                t.key_path("banner"),
                "must be one printable line",
            ));
        }
        let size_limit = t
            .uint("max_message_bytes", 1024, 1 << 32)?
            .unwrap_or(mta.default_size_limit());
        let tls = if t.bool("starttls")?.unwrap_or(true) {
            Some(crate::tls::identity_from_config(t, &ctx.persona, &host, &[])?.config)
        } else {
            None
        };
        let store = ArtifactStore::new(&ctx.persona.data_dir, STORE_CAP as u64);
        Ok(SmtpService {
            port,
            shared: Arc::new(SmtpShared {
                mta,
                host,
                banner,
                size_limit,
                store_cap: STORE_CAP.min(usize::try_from(size_limit).unwrap_or(STORE_CAP)),
                tls,
                store: artifact_mail_store(store),
                budget: Budget::new(BUDGET),
                auth_delay: Duration::from_secs(2),
                clock: system_clock,
            }),
        })
    }

    /// A service around explicit shared state (tests, fuzzing).
    pub fn with_shared(port: u16, shared: Arc<SmtpShared>) -> Self {
        SmtpService { port, shared }
    }
}

impl Service for SmtpService {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn open(&self, conn: &ConnInfo) -> Box<dyn Session> {
        Box::new(SmtpSession::new(Arc::clone(&self.shared), conn.peer))
    }
}

#[cfg(test)]
mod tests;
