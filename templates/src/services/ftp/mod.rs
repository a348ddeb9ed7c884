//! FTP emulator: vsftpd or ProFTPD, anonymous login into a seeded bait tree,
//! PASV/EPSV and PORT/EPRT data connections, uploads kept as artifacts.
//!
//! Spec keys (`[services.ftp]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 21 |
//! | `product` | `vsftpd` or `proftpd` | `vsftpd` |
//! | `version` | claimed version (`3.0.3`, `1.3.8`) | `3.0.3` / `1.3.8` |
//! | `anonymous` | allow `anonymous`/`ftp` logins (any password) | true |
//! | `users` | accepted `user:password` pairs (`"a:b,c:d"` or an array) | none |
//! | `max_upload_bytes` | per-upload artifact cap | 50 MiB |
//!
//! Banners: vsftpd `220 (vsFTPd 3.0.3)`; ProFTPD
//! `220 ProFTPD 1.3.8 Server (Debian) [::ffff:IP]` (ProFTPD's default
//! `ServerIdent`, which shows the version; the local address is printed
//! IPv4-mapped as on Debian's dual-stack listener). Replies copy the claimed
//! daemon's wording command by command ([`flavor`]). Failed logins wait a
//! second and the third one closes the connection (`max_login_fails` /
//! `MaxLoginAttempts`). Anonymous users can download the bait files and
//! upload anywhere; every other write is "Permission denied". `AUTH TLS` is
//! answered as by a daemon without TLS configured.
//!
//! Data connections are the only sockets an emulator opens itself: they are
//! described by the SANS-IO session and carried out by [`data::TokioPlane`]
//! as side tasks (see that module). A passive listener only admits the
//! control connection's peer; PORT only to the peer itself on a port ≥ 1024
//! ("500 Illegal PORT command." otherwise), so the decky cannot be used for
//! FTP bounce scans.
//!
//! Events: `command` (`cmd`, `args`; never the password), `auth` (credential
//! fields, `secret_kind` `plaintext`, outcome `success` for anonymous and
//! configured users, plus `anonymous`), `file_download` (`path`, `size`,
//! `bytes_sent`), `file_captured` (`path`, `sha256`, `size`, `received`,
//! `truncated`, `stored_as`: the file name under `data_dir/artifacts/`),
//! `protocol_error` (`error`).
//!
//! Known gaps: active connections come from an ephemeral port, not port 20;
//! no TLS (FTPS); no `MLST`/`MLSD` facts (MLSD sends a LIST-format listing);
//! uploads are visible in listings only to the connection that made them.

pub mod data;
pub mod flavor;
pub mod fs;
pub mod session;

use std::sync::Arc;

use self::data::{DataPlane, TokioPlane};
use self::flavor::Flavor;
use self::fs::FakeFs;
use self::session::FtpSession;
use super::ServiceContext;
use crate::artifacts::{ArtifactStore, DEFAULT_MAX_BYTES};
use crate::session::{ConnInfo, Service, Session};
use crate::spec::{ServiceConfig, SpecError};

/// Default port.
pub const DEFAULT_PORT: u16 = 21;

/// A file was downloaded.
pub const FILE_DOWNLOAD: &str = "file_download";

/// An upload was stored as an artifact.
pub const FILE_CAPTURED: &str = "file_captured";

/// What every connection of one FTP service shares.
#[derive(Debug)]
pub struct FtpShared {
    /// The daemon claimed.
    pub flavor: Flavor,
    /// The bait tree.
    pub fs: FakeFs,
    /// Anonymous logins allowed.
    pub anonymous: bool,
    /// Accepted credentials.
    pub users: Vec<(String, String)>,
    /// Where data connections are made.
    pub plane: Arc<dyn DataPlane>,
    /// Unix seconds now.
    pub clock: fn() -> i64,
}

impl FtpShared {
    /// Whether `user` logs in anonymously.
    pub fn is_anonymous(&self, user: &str) -> bool {
        self.anonymous
            && (user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp"))
    }

    /// Whether `user`/`pass` is a configured account.
    pub fn accepts(&self, user: &str, pass: &str) -> bool {
        self.users.iter().any(|(u, p)| u == user && p == pass)
    }
}

fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The configured FTP service of a decky.
#[derive(Debug)]
pub struct FtpService {
    port: u16,
    shared: Arc<FtpShared>,
}

impl FtpService {
    /// Reads `[services.ftp]`.
    pub fn from_config(cfg: &mut ServiceConfig, ctx: &ServiceContext) -> Result<Self, SpecError> {
        let port = cfg.port(DEFAULT_PORT)?;
        let t = &mut cfg.table;
        let product = t.str("product")?.unwrap_or_else(|| "vsftpd".to_owned());
        let version = t.str("version")?;
        let flavor = Flavor::new(&product, version.as_deref()).ok_or_else(|| {
            if product == "vsftpd" || product == "proftpd" {
                SpecError::invalid(
                    t.key_path("version"),
                    format!(
                        "{:?} is not a version number",
                        version.clone().unwrap_or_default()
                    ),
                )
            } else {
                SpecError::invalid(
                    t.key_path("product"),
                    format!("{product:?} is not one of vsftpd, proftpd"),
                )
            }
        })?;
        let anonymous = t.bool("anonymous")?.unwrap_or(true);
        let mut users = Vec::new();
        for (i, pair) in t
            .str_list("users")?
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let (u, p) = pair.split_once(':').ok_or_else(|| {
                SpecError::invalid(
                    format!("{}[{i}]", t.key_path("users")),
                    format!("{pair:?} is not user:password"),
                )
            })?;
            users.push((u.to_owned(), p.to_owned()));
        }
        let max = t
            .uint("max_upload_bytes", 1, 1 << 40)?
            .unwrap_or(DEFAULT_MAX_BYTES);
        let store = ArtifactStore::new(&ctx.persona.data_dir, max);
        let fs = FakeFs::generate(ctx.persona.seed(), &ctx.persona.hostname, system_clock());
        Ok(FtpService {
            port,
            shared: Arc::new(FtpShared {
                flavor,
                fs,
                anonymous,
                users,
                plane: Arc::new(TokioPlane::new(store)),
                clock: system_clock,
            }),
        })
    }

    /// A service around explicit shared state (tests, fuzzing).
    pub fn with_shared(port: u16, shared: Arc<FtpShared>) -> Self {
        FtpService { port, shared }
    }
}

impl Service for FtpService {
    fn name(&self) -> &'static str {
        "ftp"
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn open(&self, conn: &ConnInfo) -> Box<dyn Session> {
        Box::new(FtpSession::new(
            Arc::clone(&self.shared),
            conn.local,
            conn.peer,
        ))
    }
}

#[cfg(test)]
mod tests;
