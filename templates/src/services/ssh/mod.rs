//! SSH emulator: an OpenSSH server as scanners, brute-forcers and bots see it.
//!
//! The transport is russh, an async library that owns the socket, so this
//! service is a [`StreamService`] rather than a SANS-IO session (see
//! [`crate::server::stream`]); everything above the transport stays
//! SANS-IO and fuzzable: the identification check ([`ident`]), the shell
//! ([`crate::shell`]), scp ([`scp`]) and SFTP ([`sftp`]).
//!
//! Spec keys (`[services.ssh]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 22 |
//! | `ssh_version` | identification after `SSH-2.0-`; picks the KEXINIT profile ([`version`]) | the distribution release's build, e.g. `OpenSSH_9.2p1 Debian-2+deb12u3` |
//! | `users` | accepted `user:password` pairs (`"root:toor,admin:admin123"` or an array) | one seeded weak root password |
//! | `max_auth_tries` | OpenSSH `MaxAuthTries` | 6 |
//! | `login_grace_s` | OpenSSH `LoginGraceTime` | 120 |
//! | `auth_banner` | pre-authentication banner (`Banner`) | none, like Debian |
//! | `max_upload_mb` | bytes kept per uploaded file (the rest is counted) | 16 |
//! | `record`, `transcript_*` | session recording ([`crate::recording::RecordingConfig`]) | on |
//!
//! Events: `connect`/`disconnect` (runtime); `client_version` (`version`,
//! the client's identification); `protocol_error` (`error`; also for
//! refused identifications, with `client_version`); `auth` for every
//! password (`secret_kind` `plaintext`) and every offered public key
//! (`secret_kind` `ssh_publickey`, the secret being the `SHA256:` fingerprint,
//! plus `key_type` and `fingerprint`), with `method` and `outcome`;
//! `command` for every shell line, exec request and SFTP operation;
//! `download_attempt` (`wget`/`curl`/`ssh` in the shell); `file_captured`
//! (`sha256`, `size`, `received`, `truncated`, `path`, `stored_as`, `via`
//! `scp`/`sftp`); `forward_request` (`dst_host`, `dst_port`: `ssh -L/-D`
//! attempts, always refused); `session_recorded`/`session_skipped`.
//!
//! Realism: the banner, KEXINIT lists and order, host key types, `ssh -V`,
//! `/etc/os-release` and the kernel come from one table; malformed
//! identifications get OpenSSH's replies; failed passwords take PAM's ~2 s,
//! other failures OpenSSH's per-user 5–9 ms; after `max_auth_tries`
//! failures the client is disconnected with `Too many authentication
//! failures`; `LoginGraceTime` closes idle pre-auth connections silently.
//! KEXINIT gaps against real OpenSSH are listed in [`version`].

pub mod auth;
mod channel;
mod handler;
pub mod hostkeys;
pub mod ident;
pub mod scp;
pub mod sftp;
pub mod upload;
pub mod version;

use std::sync::Arc;
use std::time::Duration;

use russh::MethodKind;
use russh::server::Config;

use self::auth::Credentials;
use super::ServiceContext;
use crate::artifacts::ArtifactStore;
use crate::emit::BoxFuture;
use crate::recording::{Recorder, RecordingConfig};
use crate::server::stream::{StreamConn, StreamService};
use crate::session::{Action, ConnInfo, Service, Session};
use crate::shell::host::{Host, HostConfig};
use crate::spec::{ServiceConfig, SpecError};

/// Default port.
pub const DEFAULT_PORT: u16 = 22;

/// What every connection of one SSH service shares.
#[derive(Debug)]
pub struct Shared {
    /// Identification after `SSH-2.0-`.
    pub version: String,
    /// russh configuration (keys, algorithm lists).
    pub config: Arc<Config>,
    /// Accepted credentials.
    pub creds: Credentials,
    /// `MaxAuthTries`.
    pub max_auth_tries: u32,
    /// `LoginGraceTime`.
    pub login_grace: Duration,
    /// Pre-auth banner.
    pub auth_banner: Option<String>,
    /// The virtual host.
    pub host: Arc<Host>,
    /// Transcript recorder.
    pub recorder: Recorder,
    /// Where uploads go.
    pub artifacts: ArtifactStore,
    /// Bytes kept per upload.
    pub upload_cap: usize,
    port: u16,
}

/// The configured SSH service of a decky.
#[derive(Debug)]
pub struct SshService {
    shared: Arc<Shared>,
}

impl SshService {
    /// Reads `[services.ssh]`.
    pub fn from_config(cfg: &mut ServiceConfig, ctx: &ServiceContext) -> Result<Self, SpecError> {
        let port = cfg.port(DEFAULT_PORT)?;
        let persona = &ctx.persona;
        let release = crate::shell::distro::release(&persona.distro, persona.kernel_release());
        let version = match cfg.table.str("ssh_version")? {
            None => release.ssh_version.to_owned(),
            Some(v) => {
                let ok =
                    !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| (0x20..0x7f).contains(&b));
                if !ok {
                    return Err(SpecError::invalid(
                        cfg.table.key_path("ssh_version"),
                        format!(
                            "{v:?} is not an SSH software version like OpenSSH_9.2p1 Debian-2+deb12u3"
                        ),
                    ));
                }
                if version::HONEYPOT_BANNERS.contains(&v.as_str()) {
                    return Err(SpecError::invalid(
                        cfg.table.key_path("ssh_version"),
                        format!("{v:?} is a known honeypot default"),
                    ));
                }
                if !version::KNOWN_BANNERS.contains(&v.as_str()) {
                    tracing::warn!(version = %v, "ssh_version is not in the curated list of common builds");
                }
                v
            }
        };
        let creds = Credentials::from_table(&mut cfg.table, persona.seed())?;
        let max_auth_tries = cfg
            .table
            .uint("max_auth_tries", 1, 100)?
            .map_or(6, |v| v as u32);
        let login_grace =
            Duration::from_secs(cfg.table.uint("login_grace_s", 1, 3600)?.unwrap_or(120));
        let auth_banner = cfg.table.str("auth_banner")?;
        let upload_cap = cfg
            .table
            .uint("max_upload_mb", 1, 1024)?
            .map_or(16, |v| v as usize)
            * 1024
            * 1024;
        let recording = RecordingConfig::from_table(&mut cfg.table)?;
        let profile = version::profile(&version);
        let with_rsa = profile
            .host_keys
            .iter()
            .any(|k| k.starts_with("rsa") || *k == "ssh-rsa");
        let keys = hostkeys::load(
            persona.seed(),
            &persona.data_dir,
            &persona.hostname,
            with_rsa,
        )
        .map_err(|e| SpecError::invalid(cfg.table.key_path("ssh_version"), e.to_string()))?;
        let host = Arc::new(Host::new(
            Arc::clone(persona),
            &HostConfig {
                accounts: creds.users(),
                ssh_version: Some(version.clone()),
                ssh_host_keys: keys.public_files.clone(),
            },
        ));
        let config = Config {
            server_id: russh::SshId::Standard(format!("SSH-2.0-{version}").into()),
            methods: russh::MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..]),
            // Delays are applied by the handler, per method, like OpenSSH and PAM.
            auth_rejection_time: Duration::ZERO,
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: keys.keys,
            preferred: profile.preferred(),
            // A backstop only: the handler disconnects at max_auth_tries itself.
            max_auth_attempts: max_auth_tries as usize + 2,
            inactivity_timeout: Some(ctx.limits.idle_timeout),
            keepalive_interval: None,
            nodelay: true,
            ..Config::default()
        };
        Ok(SshService {
            shared: Arc::new(Shared {
                version,
                config: Arc::new(config),
                creds,
                max_auth_tries,
                login_grace,
                auth_banner,
                host,
                recorder: Recorder::new(&persona.data_dir, &persona.name, "ssh", recording),
                artifacts: ArtifactStore::new(&persona.data_dir, upload_cap as u64),
                upload_cap,
                port,
            }),
        })
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// Never used: the runtime serves SSH through [`Service::stream`].
struct Unused;

impl Session for Unused {
    fn feed(&mut self, _input: &[u8]) -> Vec<Action> {
        vec![Action::Close]
    }
}

impl Service for SshService {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn port(&self) -> u16 {
        self.shared.port
    }

    fn open(&self, _conn: &ConnInfo) -> Box<dyn Session> {
        Box::new(Unused)
    }

    fn stream(&self) -> Option<&dyn StreamService> {
        Some(self)
    }
}

impl StreamService for SshService {
    fn serve(&self, conn: StreamConn) -> BoxFuture<'static, &'static str> {
        Box::pin(handler::serve(Arc::clone(&self.shared), conn))
    }
}

#[cfg(test)]
mod tests;
