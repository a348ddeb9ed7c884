//! Telnet emulator: Debian's `inetutils-telnetd` in front of shadow's
//! `/bin/login`, then the shared virtual-host shell.
//!
//! Spec keys (`[services.telnet]`):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `port` | TCP port | 23 |
//! | `users` | accepted `user:password` pairs, as for ssh | one seeded weak root password |
//! | `login_retries` | `LOGIN_RETRIES` of `/etc/login.defs` | 5 |
//! | `login_timeout_s` | `LOGIN_TIMEOUT` of `/etc/login.defs` | 60 |
//! | `record`, `transcript_*` | session recording ([`crate::recording::RecordingConfig`]) | on |
//!
//! Events: `connect`/`disconnect` (runtime); `auth` (credential fields,
//! `secret_kind` `plaintext`, `method` `password`, `term` when known);
//! `command`/`download_attempt` from the shell; `session_recorded`/
//! `session_skipped`.
//!
//! Byte-for-byte behaviour (from captures of the real daemon): the option
//! negotiation ([`negotiate`]), the issue line `Linux <release> (<host>)
//! (pts/N)`, `<host> login: `, `Password: ` after ~40 ms, `Login incorrect`
//! after `pam_faildelay`'s 3 s ±25%, `Maximum number of tries exceeded (5)`,
//! `Login timed out after 60 seconds.`. Known gaps: keystrokes typed while
//! a login attempt is being refused are read as the next user name (the
//! real tty echoes and then flushes them); no `AUTHENTICATION`/`ENCRYPT`
//! subnegotiation (the Debian build advertises but never uses them either).

pub mod iac;
pub mod negotiate;

use std::sync::Arc;
use std::time::Duration;

use decnet_event::Outcome;
use rand::Rng as _;

use self::iac::{AYT, EC, EL, IP, Item, Parser, escape};
use self::negotiate::Negotiation;
use super::ServiceContext;
use super::ssh::auth::{Credentials, login_failure_delay, success_delay};
use crate::recording::{Recorder, RecordingConfig, SessionRecording, Start};
use crate::session::event_types::AUTH;
use crate::session::{Action, ConnInfo, Draft, Service, Session, SideOutput, SideTask};
use crate::shell::host::{Host, HostConfig};
use crate::shell::{Entry, Out, Pty, Shell, ShellOptions};
use crate::spec::{ServiceConfig, SpecError};

/// Default port.
pub const DEFAULT_PORT: u16 = 23;
/// Longest user name or password line kept.
const MAX_LOGIN_LINE: usize = 1024;

/// What every connection of one Telnet service shares.
#[derive(Debug)]
pub struct Shared {
    /// Accepted credentials.
    pub creds: Credentials,
    /// The virtual host.
    pub host: Arc<Host>,
    /// Transcript recorder.
    pub recorder: Recorder,
    /// `LOGIN_RETRIES`.
    pub retries: u32,
    /// `LOGIN_TIMEOUT`.
    pub login_timeout: Duration,
    port: u16,
}

/// The configured Telnet service of a decky.
#[derive(Debug)]
pub struct TelnetService {
    shared: Arc<Shared>,
}

impl TelnetService {
    /// Reads `[services.telnet]`.
    pub fn from_config(cfg: &mut ServiceConfig, ctx: &ServiceContext) -> Result<Self, SpecError> {
        let port = cfg.port(DEFAULT_PORT)?;
        let persona = &ctx.persona;
        let creds = Credentials::from_table(&mut cfg.table, persona.seed())?;
        let retries = cfg
            .table
            .uint("login_retries", 1, 100)?
            .map_or(5, |v| v as u32);
        let login_timeout =
            Duration::from_secs(cfg.table.uint("login_timeout_s", 1, 3600)?.unwrap_or(60));
        let recording = RecordingConfig::from_table(&mut cfg.table)?;
        // The same host keys as the ssh service (Ed25519/ECDSA are derived;
        // RSA only when its cache exists), so /etc/ssh agrees across services.
        let keys =
            super::ssh::hostkeys::load(persona.seed(), &persona.data_dir, &persona.hostname, false)
                .map(|k| k.public_files)
                .unwrap_or_default();
        let host = Arc::new(Host::new(
            Arc::clone(persona),
            &HostConfig {
                accounts: creds.users(),
                ssh_version: None,
                ssh_host_keys: keys,
            },
        ));
        Ok(TelnetService {
            shared: Arc::new(Shared {
                creds,
                host,
                recorder: Recorder::new(&persona.data_dir, &persona.name, "telnet", recording),
                retries,
                login_timeout,
                port,
            }),
        })
    }
}

impl Service for TelnetService {
    fn name(&self) -> &'static str {
        "telnet"
    }

    fn port(&self) -> u16 {
        self.shared.port
    }

    fn open(&self, conn: &ConnInfo) -> Box<dyn Session> {
        Box::new(TelnetSession::new(Arc::clone(&self.shared), conn))
    }
}

#[derive(Debug)]
enum Phase {
    Negotiating,
    User,
    Password { user: String },
    Checking,
    Shell,
    Closed,
}

/// The login timer's expiry, handed back through the runtime's side task.
struct LoginTimeout;

/// One Telnet connection.
pub struct TelnetSession {
    shared: Arc<Shared>,
    conn: ConnInfo,
    parser: Parser,
    neg: Negotiation,
    phase: Phase,
    line: Vec<u8>,
    held: Vec<u8>,
    failures: u32,
    pts: u32,
    timer: Option<Duration>,
    shell: Option<Shell>,
    rec: Option<SessionRecording>,
}

impl std::fmt::Debug for TelnetSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnetSession")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl TelnetSession {
    /// A session for `conn`.
    pub fn new(shared: Arc<Shared>, conn: &ConnInfo) -> Self {
        TelnetSession {
            shared,
            conn: conn.clone(),
            parser: Parser::default(),
            neg: Negotiation::default(),
            phase: Phase::Negotiating,
            line: Vec::new(),
            held: Vec::new(),
            failures: 0,
            pts: rand::rngs::OsRng.gen_range(0..3),
            timer: None,
            shell: None,
            rec: None,
        }
    }

    fn prompt(&self) -> Vec<u8> {
        format!("{} login: ", self.shared.host.hostname).into_bytes()
    }

    fn banner(&mut self, out: &mut Vec<Action>) {
        let h = &self.shared.host;
        out.push(Action::Send(
            format!(
                "\r\nLinux {} ({}) (pts/{})\r\n\r\n",
                h.kernel, h.hostname, self.pts
            )
            .into_bytes(),
        ));
        out.push(Action::Send(self.prompt()));
        self.phase = Phase::User;
        self.timer = Some(self.shared.login_timeout);
        let held = std::mem::take(&mut self.held);
        if !held.is_empty() {
            self.data(&held, out);
        }
    }

    fn shell_out(&mut self, outs: Vec<Out>, actions: &mut Vec<Action>) {
        for o in outs {
            match o {
                Out::Stdout(b) | Out::Stderr(b) => {
                    if let Some(r) = self.rec.as_mut() {
                        r.output(&b);
                    }
                    actions.push(Action::Send(escape(&b)));
                }
                Out::Emit(d) => actions.push(Action::Emit(d)),
                Out::Pause(d) => actions.push(Action::Pause(d)),
                Out::Exit(_) => {
                    self.phase = Phase::Closed;
                    if let Some(r) = self.rec.take() {
                        actions.push(Action::Emit(r.finish()));
                    }
                    actions.push(Action::Close);
                }
            }
        }
    }

    fn login(&mut self, user: String, password: Vec<u8>, out: &mut Vec<Action>) {
        let ok = self.shared.creds.accepts(&user, &password);
        let mut d = Draft::new(AUTH)
            .credential(
                &user,
                "plaintext",
                &password,
                if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
            )
            .field("method", "password");
        if let Some(t) = &self.neg.term {
            d = d.field("term", t.clone());
        }
        out.push(Action::Emit(d));
        if ok {
            out.push(Action::Pause(success_delay()));
            let (cols, rows) = self
                .neg
                .size
                .filter(|(w, h)| *w > 0 && *h > 0)
                .unwrap_or((80, 24));
            let term = self
                .neg
                .term
                .clone()
                .map_or_else(|| "xterm".to_owned(), |t| t.to_lowercase());
            match self
                .shared
                .recorder
                .start(&self.conn.session_id, cols, rows, &term)
            {
                Start::Recording(r) => self.rec = Some(r),
                Start::Skipped(d) => out.push(Action::Emit(d)),
                Start::Disabled => {}
            }
            let mut sh = Shell::new(
                Arc::clone(&self.shared.host),
                ShellOptions {
                    user,
                    entry: Entry::TelnetLogin,
                    pty: Some(Pty { term, cols, rows }),
                    peer: self.conn.peer,
                    local: self.conn.local,
                    env: self.neg.env.clone(),
                    tty: Some(format!("pts/{}", self.pts)),
                },
            );
            let start = sh.start();
            self.shell = Some(sh);
            self.phase = Phase::Shell;
            self.timer = None;
            self.shell_out(start, out);
            return;
        }
        out.push(Action::Pause(login_failure_delay()));
        self.failures += 1;
        if self.failures >= self.shared.retries {
            out.push(Action::Send(
                format!(
                    "\r\nLogin incorrect\r\nMaximum number of tries exceeded ({})\r\n",
                    self.failures
                )
                .into_bytes(),
            ));
            out.push(Action::Close);
            self.phase = Phase::Closed;
            return;
        }
        let mut msg = b"\r\nLogin incorrect\r\n".to_vec();
        msg.extend(self.prompt());
        out.push(Action::Send(msg));
        self.phase = Phase::User;
    }

    /// Data bytes for the pty (after IAC processing).
    fn data(&mut self, bytes: &[u8], out: &mut Vec<Action>) {
        if matches!(self.phase, Phase::Shell) {
            if let Some(r) = self.rec.as_mut() {
                r.input(bytes);
            }
            if let Some(sh) = self.shell.as_mut() {
                let outs = sh.input(bytes);
                self.shell_out(outs, out);
            }
            return;
        }
        for (i, &b) in bytes.iter().enumerate() {
            match self.phase {
                Phase::Negotiating => {
                    self.held.extend_from_slice(&bytes[i..]);
                    self.held.truncate(MAX_LOGIN_LINE);
                    return;
                }
                Phase::User | Phase::Password { .. } => {
                    let echo = matches!(self.phase, Phase::User);
                    match b {
                        b'\r' | b'\n' => {
                            let line = std::mem::take(&mut self.line);
                            out.push(Action::Send(b"\r\n".to_vec()));
                            match std::mem::replace(&mut self.phase, Phase::Checking) {
                                Phase::User if line.is_empty() => {
                                    out.push(Action::Send(self.prompt()));
                                    self.phase = Phase::User;
                                }
                                Phase::User => {
                                    // PAM starting up before it asks.
                                    out.push(Action::Pause(Duration::from_millis(40)));
                                    out.push(Action::Send(b"Password: ".to_vec()));
                                    self.phase = Phase::Password {
                                        user: String::from_utf8_lossy(&line).into_owned(),
                                    };
                                }
                                Phase::Password { user } => self.login(user, line, out),
                                other => self.phase = other,
                            }
                        }
                        0x7f | 0x08 => {
                            if self.line.pop().is_some() && echo {
                                out.push(Action::Send(b"\x08 \x08".to_vec()));
                            }
                        }
                        0x15 => {
                            let n = self.line.len();
                            self.line.clear();
                            if echo {
                                out.push(Action::Send(b"\x08 \x08".repeat(n)));
                            }
                        }
                        0x03 | 0x04 if self.line.is_empty() => {
                            // ^C/^D at the prompt ends login, as the tty's signal would.
                            self.phase = Phase::Closed;
                            out.push(Action::Close);
                            return;
                        }
                        _ => {
                            if self.line.len() < MAX_LOGIN_LINE {
                                self.line.push(b);
                                if echo {
                                    out.push(Action::Send(escape(&[b])));
                                }
                            }
                        }
                    }
                }
                Phase::Checking | Phase::Closed => return,
                Phase::Shell => {
                    let rest = bytes[i..].to_vec();
                    self.data(&rest, out);
                    return;
                }
            }
        }
    }
}

impl Session for TelnetSession {
    fn start(&mut self) -> Vec<Action> {
        vec![Action::Send(negotiate::FIRST.to_vec())]
    }

    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        for item in self.parser.feed(input) {
            if matches!(self.phase, Phase::Closed) {
                break;
            }
            match item {
                Item::Data(d) => self.data(&d, &mut out),
                Item::Negotiate(verb, opt) => {
                    let reply = self.neg.negotiate(verb, opt);
                    if !reply.is_empty() {
                        out.push(Action::Send(reply));
                    }
                    if opt == negotiate::BINARY && verb == iac::WILL {
                        self.parser.binary = true;
                    }
                }
                Item::Sub(opt, payload) => {
                    let reply = self.neg.subnegotiation(opt, &payload);
                    if !reply.is_empty() {
                        out.push(Action::Send(reply));
                    }
                    if opt == negotiate::NAWS
                        && let (Some((w, h)), Some(sh)) = (self.neg.size, self.shell.as_mut())
                        && w > 0
                        && h > 0
                    {
                        sh.resize(w, h);
                        if let Some(r) = self.rec.as_mut() {
                            r.resize(w, h);
                        }
                    }
                }
                Item::Command(IP) => self.data(&[3], &mut out),
                Item::Command(EC) => self.data(&[0x7f], &mut out),
                Item::Command(EL) => self.data(&[0x15], &mut out),
                Item::Command(AYT) => out.push(Action::Send(b"\r\n[Yes]\r\n".to_vec())),
                Item::Command(_) => {}
            }
            if matches!(self.phase, Phase::Negotiating) && self.neg.done() {
                self.banner(&mut out);
            }
        }
        out
    }

    fn pending_bytes(&self) -> usize {
        self.parser.pending()
    }

    fn take_side_task(&mut self) -> Option<SideTask> {
        let after = self.timer.take()?;
        Some(Box::pin(async move {
            tokio::time::sleep(after).await;
            Box::new(LoginTimeout) as SideOutput
        }))
    }

    fn side_done(&mut self, output: SideOutput) -> Vec<Action> {
        let expired = output.downcast::<LoginTimeout>().is_ok();
        if expired && matches!(self.phase, Phase::User | Phase::Password { .. }) {
            self.phase = Phase::Closed;
            let secs = self.shared.login_timeout.as_secs();
            return vec![
                Action::Send(format!("\r\nLogin timed out after {secs} seconds.\r\n").into_bytes()),
                Action::Close,
            ];
        }
        Vec::new()
    }

    fn closed(&mut self, _reason: &'static str) -> Vec<Draft> {
        self.rec
            .take()
            .map(SessionRecording::finish)
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests;
