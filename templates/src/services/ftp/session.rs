//! The FTP control connection: login, navigation and transfers, as a
//! SANS-IO state machine. Transfers are described to the data plane and
//! their results come back through `side_done`; commands that arrive while
//! a transfer runs wait their turn, as on a real server's single-threaded
//! control loop.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use decnet_event::Outcome;
use rand::Rng as _;

use super::FtpShared;
use super::data::{DataHow, DataRequest, DataResult, Source};
use super::flavor::{Flavor, Reply};
use super::fs::{Entry, ls_date, mdtm, resolve};
use crate::session::event_types::{AUTH, COMMAND, PROTOCOL_ERROR};
use crate::session::{Action, Draft, Session, SideOutput, SideTask};

/// Longest command line read (vsftpd's `VSFTP_MAX_COMMAND_LINE`).
pub const MAX_LINE: usize = 4096;

/// Input queued while a transfer runs.
const MAX_QUEUED: usize = 16 * 1024;

mod transfer;

use self::transfer::{parse_eprt, parse_port};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Login { user: Option<String> },
    Ready { user: String, anonymous: bool },
    Closed,
}

#[derive(Debug)]
enum Transfer {
    List {
        listing: Vec<u8>,
    },
    Retr {
        path: String,
        arg: String,
        source: Source,
        size: u64,
    },
    Stor {
        path: String,
    },
}

#[derive(Debug)]
enum Wait {
    Idle,
    Listen { extended: bool },
    Open(Transfer),
    Run(Transfer),
}

/// One FTP control connection.
pub struct FtpSession {
    shared: Arc<FtpShared>,
    local: SocketAddr,
    peer: SocketAddr,
    phase: Phase,
    cwd: String,
    binary: bool,
    data: Option<DataHow>,
    wait: Wait,
    side: Option<SideTask>,
    buf: Vec<u8>,
    failures: u32,
    rest: u64,
    uploads: Vec<Entry>,
    rnfr: bool,
}

impl std::fmt::Debug for FtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FtpSession")
            .field("phase", &self.phase)
            .field("cwd", &self.cwd)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

fn v4(ip: IpAddr) -> Option<std::net::Ipv4Addr> {
    match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    }
}

impl FtpSession {
    /// A session for a connection from `peer` to `local`.
    pub fn new(shared: Arc<FtpShared>, local: SocketAddr, peer: SocketAddr) -> Self {
        FtpSession {
            shared,
            local,
            peer,
            phase: Phase::Login { user: None },
            cwd: "/".to_owned(),
            binary: false,
            data: None,
            wait: Wait::Idle,
            side: None,
            buf: Vec::new(),
            failures: 0,
            rest: 0,
            uploads: Vec::new(),
            rnfr: false,
        }
    }

    fn flavor(&self) -> &Flavor {
        &self.shared.flavor
    }

    fn say(&self, r: Reply<'_>) -> Action {
        Action::Send(self.flavor().say(r).into_bytes())
    }

    fn raw(s: impl Into<String>) -> Action {
        Action::Send(s.into().into_bytes())
    }

    fn close(&mut self, out: &mut Vec<Action>) {
        self.phase = Phase::Closed;
        self.buf = Vec::new();
        out.push(Action::Close);
    }

    fn logged_in(&self) -> Option<(&str, bool)> {
        match &self.phase {
            Phase::Ready { user, anonymous } => Some((user.as_str(), *anonymous)),
            _ => None,
        }
    }

    fn start_side(&mut self, req: DataRequest) {
        self.side = Some(self.shared.plane.run(req));
    }

    /// Every entry visible in `dir`: the tree plus this session's uploads.
    fn list_dir(&self, dir: &str) -> Vec<Entry> {
        let mut v: Vec<Entry> = self.shared.fs.children(dir).into_iter().cloned().collect();
        for u in &self.uploads {
            if u.parent() == dir {
                v.retain(|e| e.path != u.path);
                v.push(u.clone());
            }
        }
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    }

    fn lookup(&self, path: &str) -> Option<Entry> {
        self.uploads
            .iter()
            .find(|e| e.path == path)
            .cloned()
            .or_else(|| self.shared.fs.get(path).cloned())
    }

    fn listing(&self, arg: &str, names_only: bool) -> Vec<u8> {
        // Options like -la are ls flags, not paths.
        let target = arg
            .split_whitespace()
            .find(|a| !a.starts_with('-'))
            .map_or_else(|| self.cwd.clone(), |a| resolve(&self.cwd, a));
        let now = (self.shared.clock)();
        let entries = if self.shared.fs.is_dir(&target) {
            self.list_dir(&target)
        } else {
            self.lookup(&target).into_iter().collect()
        };
        let mut out = String::new();
        for e in entries {
            if names_only {
                out.push_str(e.name());
                out.push_str("\r\n");
            } else {
                out.push_str(&self.flavor().list_line(
                    e.mode(),
                    e.owner,
                    e.size,
                    &ls_date(e.mtime, now),
                    e.name(),
                ));
            }
        }
        out.into_bytes()
    }

    fn command(&mut self, line: &str, out: &mut Vec<Action>) {
        let (cmd, arg) = match line.split_once(' ') {
            Some((c, a)) => (c.to_ascii_uppercase(), a.trim_end().to_owned()),
            None => (line.trim_end().to_ascii_uppercase(), String::new()),
        };
        let mut ev = Draft::new(COMMAND).field("cmd", cmd.as_str());
        // Passwords go only into the auth event.
        if cmd != "PASS" && !arg.is_empty() {
            ev = ev.field("args", arg.as_str());
        }
        out.push(Action::Emit(ev));
        if self.logged_in().is_none() && !self.flavor().allowed_before_login(&cmd) {
            out.push(self.say(Reply::LoginFirst));
            return;
        }
        match cmd.as_str() {
            "USER" => self.user(&arg, out),
            "PASS" => self.pass(&arg, out),
            "QUIT" => {
                out.push(Self::raw("221 Goodbye.\r\n"));
                self.close(out);
            }
            "FEAT" => out.push(Self::raw(self.flavor().feat())),
            "HELP" => out.push(Self::raw(self.flavor().help())),
            "SYST" => out.push(Self::raw("215 UNIX Type: L8\r\n")),
            "NOOP" => out.push(self.say(Reply::Noop)),
            "OPTS" => {
                if arg.eq_ignore_ascii_case("UTF8 ON") {
                    out.push(self.say(Reply::OptsUtf8));
                } else {
                    out.push(Self::raw("501 Option not understood.\r\n"));
                }
            }
            "AUTH" | "PBSZ" | "PROT" => {
                let logged_in = self.logged_in().is_some();
                out.push(self.say(Reply::Auth {
                    cmd: &cmd,
                    logged_in,
                }));
            }
            "PWD" | "XPWD" => {
                let dir = self.cwd.clone();
                out.push(self.say(Reply::Pwd { dir: &dir }));
            }
            "CWD" | "XCWD" | "CDUP" | "XCUP" => {
                let cdup = cmd.ends_with("UP");
                let target = resolve(&self.cwd, if cdup { ".." } else { &arg });
                if self.shared.fs.is_dir(&target) {
                    self.cwd = target;
                    out.push(self.say(Reply::CwdOk { cdup }));
                } else {
                    out.push(self.say(Reply::CwdFail { arg: &arg }));
                }
            }
            "TYPE" => {
                let a = arg.to_ascii_uppercase();
                match a.split_whitespace().next() {
                    Some("I") | Some("L") => {
                        self.binary = true;
                        out.push(self.say(Reply::Type { binary: true }));
                    }
                    Some("A") => {
                        self.binary = false;
                        out.push(self.say(Reply::Type { binary: false }));
                    }
                    _ => out.push(self.say(Reply::TypeBad)),
                }
            }
            "MODE" => out.push(Self::raw(if arg.eq_ignore_ascii_case("S") {
                "200 Mode set to S.\r\n"
            } else {
                "504 Bad MODE command.\r\n"
            })),
            "STRU" => out.push(Self::raw(if arg.eq_ignore_ascii_case("F") {
                "200 Structure set to F.\r\n"
            } else {
                "504 Bad STRU command.\r\n"
            })),
            "PASV" | "EPSV" => {
                let extended = cmd == "EPSV";
                if extended && arg.eq_ignore_ascii_case("ALL") {
                    out.push(Self::raw("200 EPSV ALL ok.\r\n"));
                    return;
                }
                if !extended && v4(self.local.ip()).is_none() {
                    out.push(Self::raw("500 Unknown command.\r\n"));
                    return;
                }
                self.data = None;
                let req = DataRequest::Listen {
                    ip: self.local.ip(),
                    peer: self.peer.ip(),
                };
                self.start_side(req);
                self.wait = Wait::Listen { extended };
            }
            "PORT" | "EPRT" => {
                let extended = cmd == "EPRT";
                let addr = if extended {
                    parse_eprt(&arg)
                } else {
                    parse_port(&arg)
                };
                let peer = v4(self.peer.ip()).map_or(self.peer.ip(), IpAddr::V4);
                match addr {
                    // Only the client itself, on an unprivileged port: no FTP bounce.
                    Some(a)
                        if v4(a.ip()).map_or(a.ip(), IpAddr::V4) == peer && a.port() >= 1024 =>
                    {
                        self.data = Some(DataHow::Active(a));
                        out.push(self.say(Reply::PortOk { extended }));
                    }
                    _ => {
                        self.data = None;
                        out.push(self.say(Reply::PortBad { extended }));
                    }
                }
            }
            "LIST" | "NLST" | "MLSD" => {
                let listing = self.listing(&arg, cmd == "NLST");
                self.begin(Transfer::List { listing }, out);
            }
            "RETR" => self.retr(&arg, out),
            "STOR" | "STOU" | "APPE" => self.stor(&arg, out),
            "SIZE" | "MDTM" => {
                let path = resolve(&self.cwd, &arg);
                match self.lookup(&path).filter(|e| !e.dir) {
                    Some(e) if cmd == "SIZE" => out.push(Self::raw(format!("213 {}\r\n", e.size))),
                    Some(e) => out.push(Self::raw(format!("213 {}\r\n", mdtm(e.mtime)))),
                    None if matches!(self.flavor(), Flavor::Vsftpd { .. }) => {
                        out.push(Self::raw(if cmd == "SIZE" {
                            "550 Could not get file size.\r\n"
                        } else {
                            "550 Could not get file modification time.\r\n"
                        }))
                    }
                    None => out.push(self.say(Reply::NoSuchFile { arg: &arg })),
                }
            }
            "REST" => {
                self.rest = arg.trim().parse().unwrap_or(0);
                out.push(self.say(Reply::Rest { offset: self.rest }));
            }
            "ABOR" => out.push(self.say(Reply::Abor)),
            "ALLO" => out.push(Self::raw("202 ALLO command ignored.\r\n")),
            "MKD" | "XMKD" => {
                let path = resolve(&self.cwd, &arg);
                if self.logged_in().is_some_and(|(_, anon)| !anon) {
                    out.push(self.say(Reply::Mkd { path: &path }));
                } else {
                    out.push(self.say(Reply::PermissionDenied { arg: &arg }));
                }
            }
            "DELE" | "RMD" | "XRMD" | "RNTO" | "SITE" => {
                out.push(self.say(Reply::PermissionDenied { arg: &arg }));
            }
            "RNFR" => {
                self.rnfr = true;
                out.push(self.say(Reply::PermissionDenied { arg: &arg }));
            }
            "STAT" => out.push(Self::raw(self.stat())),
            // ProFTPD's mod_lang; vsftpd has no LANG.
            "LANG" if matches!(self.flavor(), Flavor::Proftpd { .. }) => {
                if arg.is_empty()
                    || arg.eq_ignore_ascii_case("en-US")
                    || arg.eq_ignore_ascii_case("en")
                {
                    out.push(Self::raw("200 Using default language en-US\r\n"));
                } else {
                    out.push(Self::raw(format!("504 Language {arg} not supported\r\n")));
                }
            }
            _ => out.push(self.say(Reply::Unknown { cmd: &cmd })),
        }
    }

    fn stat(&self) -> String {
        let user = self.logged_in().map_or("", |(u, _)| u).to_owned();
        let peer = v4(self.peer.ip()).map_or(self.peer.ip(), IpAddr::V4);
        match self.flavor() {
            Flavor::Vsftpd { version } => format!(
                "211-FTP server status:\r\n     Connected to {peer}\r\n     Logged in as {}\r\n     TYPE: {}\r\n     No session bandwidth limit\r\n     Session timeout in seconds is 300\r\n     Control connection is plain text\r\n     Data connections will be plain text\r\n     At session startup, client count was 1\r\n     vsFTPd {version} - secure, fast, stable\r\n211 End of status\r\n",
                if user == "anonymous" { "ftp" } else { &user },
                if self.binary { "BINARY" } else { "ASCII" }
            ),
            Flavor::Proftpd { version } => format!(
                "211-Status of 'Debian'\r\n Connected from {peer} ({peer})\r\n Logged in as {user}\r\n TYPE: {}, STRUcture: File, Mode: Stream\r\n No data connection\r\n211 End of status\r\n",
                if self.binary { "BINARY" } else { "ASCII" }
            )
            .replace("'Debian'", &format!("'Debian' (ProFTPD {version})")),
        }
    }

    fn user(&mut self, arg: &str, out: &mut Vec<Action>) {
        if let Some((_, anonymous)) = self.logged_in() {
            out.push(self.say(Reply::AlreadyUser { anonymous }));
            return;
        }
        let anonymous = self.shared.is_anonymous(arg);
        out.push(self.say(Reply::NeedPassword {
            user: arg,
            anonymous,
        }));
        self.phase = Phase::Login {
            user: Some(arg.to_owned()),
        };
    }

    fn pass(&mut self, arg: &str, out: &mut Vec<Action>) {
        if self.logged_in().is_some() {
            out.push(Self::raw(match self.flavor() {
                Flavor::Vsftpd { .. } => "230 Already logged in.\r\n",
                Flavor::Proftpd { .. } => "503 You are already logged in\r\n",
            }));
            return;
        }
        let Phase::Login { user: Some(user) } = self.phase.clone() else {
            out.push(self.say(Reply::UserFirst));
            return;
        };
        let anonymous = self.shared.is_anonymous(&user);
        let ok = anonymous || self.shared.accepts(&user, arg);
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        out.push(Action::Emit(
            Draft::new(AUTH)
                .credential(&user, "plaintext", arg.as_bytes(), outcome)
                .field("anonymous", anonymous.to_string()),
        ));
        if ok {
            out.push(self.say(Reply::LoggedIn {
                user: &user,
                anonymous,
            }));
            self.phase = Phase::Ready { user, anonymous };
            return;
        }
        self.failures += 1;
        // vsftpd's delay_failed_login=1; ProFTPD's mod_delay varies a little.
        let pause = match self.flavor() {
            Flavor::Vsftpd { .. } => Duration::from_secs(1),
            Flavor::Proftpd { .. } => {
                Duration::from_millis(rand::thread_rng().gen_range(600..1400))
            }
        };
        out.push(Action::Pause(pause));
        out.push(self.say(Reply::LoginIncorrect));
        self.phase = Phase::Login { user: None };
        // max_login_fails=3 / MaxLoginAttempts 3.
        if self.failures >= 3 {
            self.close(out);
        }
    }

    /// Runs complete command lines until a transfer must be waited for.
    fn drain(&mut self, out: &mut Vec<Action>) {
        while matches!(self.wait, Wait::Idle) && self.phase != Phase::Closed {
            let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > MAX_LINE {
                    out.push(Action::Emit(
                        Draft::new(PROTOCOL_ERROR).field("error", "command line too long"),
                    ));
                    out.push(self.say(Reply::LineTooLong));
                    self.close(out);
                }
                return;
            };
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.len() > MAX_LINE {
                out.push(Action::Emit(
                    Draft::new(PROTOCOL_ERROR).field("error", "command line too long"),
                ));
                out.push(self.say(Reply::LineTooLong));
                self.close(out);
                return;
            }
            if text.trim().is_empty() {
                continue;
            }
            let text = text.to_owned();
            self.command(&text, out);
        }
    }
}

impl Session for FtpSession {
    fn start(&mut self) -> Vec<Action> {
        vec![Action::Send(
            self.flavor().banner(self.local.ip()).into_bytes(),
        )]
    }

    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        if self.phase == Phase::Closed {
            return Vec::new();
        }
        self.buf.extend_from_slice(input);
        let mut out = Vec::new();
        if !matches!(self.wait, Wait::Idle) {
            if self.buf.len() > MAX_QUEUED {
                out.push(Action::Emit(
                    Draft::new(PROTOCOL_ERROR).field("error", "too much input during a transfer"),
                ));
                self.close(&mut out);
            }
            return out;
        }
        self.drain(&mut out);
        out
    }

    fn pending_bytes(&self) -> usize {
        if matches!(self.wait, Wait::Idle) {
            self.buf.len()
        } else {
            0
        }
    }

    fn idle_timeout(&self) -> Option<Duration> {
        // vsftpd idle_session_timeout=300; a running transfer has its own timeouts.
        Some(Duration::from_secs(300))
    }

    fn take_side_task(&mut self) -> Option<SideTask> {
        self.side.take()
    }

    fn side_done(&mut self, output: SideOutput) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Closed {
            return out;
        }
        match output.downcast::<DataResult>() {
            Ok(r) => self.data_result(*r, &mut out),
            Err(_) => self.wait = Wait::Idle,
        }
        self.drain(&mut out);
        out
    }
}
