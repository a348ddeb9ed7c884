//! The virtual-host shell shared by the SSH and Telnet emulators.
//!
//! SANS-IO like the rest of the decky: a [`Shell`] takes keystrokes
//! ([`Shell::input`], interactive, through the [`terminal`] line editor) or
//! command lines ([`Shell::run`], `ssh host cmd` and scripts) and returns
//! [`Out`]s — bytes for stdout and stderr, events, pauses and the exit —
//! that the service writes to its transport. Nothing here touches a socket;
//! the fuzz targets drive it with byte slices.
//!
//! Everything the shell shows comes from one [`host::Host`] (kernel,
//! distribution, CPU, memory, users, processes, file tree), so commands
//! cannot contradict each other or the SSH banner. Writes go to a
//! per-session overlay ([`vfs::Vfs`]) and vanish with the session.
//!
//! Events: `command` for every command line (`cmd`, `cwd`, `user`, `uid`),
//! `download_attempt` for `wget`/`curl` (`url`, `tool`); nothing is ever
//! fetched. Known gaps: no here-documents, functions, job control, `read`
//! or interactive programs (`vi`, `top` print a one-shot screen or nothing);
//! unknown executables present in the tree run silently.

mod arith;
pub mod commands;
pub mod distro;
mod exec;
mod expand;
pub mod fsgen;
pub mod hardware;
pub mod host;
pub mod parse;
pub mod population;
pub mod terminal;
pub mod vfs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;

use self::distro::Flavour;
use self::host::{Host, User};
use self::terminal::{KeyEvent, LineEditor};
use self::vfs::{Cred, Vfs};
use crate::session::Draft;

/// Longest command line run in exec mode; bash has no limit, the transport
/// frame limits apply before this.
pub const MAX_COMMAND: usize = 64 * 1024;

/// Event type of a `wget`/`curl` invocation.
pub const DOWNLOAD_ATTEMPT: &str = "download_attempt";

/// What the shell wants done, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Bytes for the terminal or stdout.
    Stdout(Vec<u8>),
    /// Bytes for stderr (merged into stdout on a pty).
    Stderr(Vec<u8>),
    /// An event.
    Emit(Draft),
    /// Wait (a command is "working").
    Pause(Duration),
    /// The shell exited with this status.
    Exit(i32),
}

/// How the session reached the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// An interactive SSH session (pty + shell request).
    SshLogin,
    /// An interactive Telnet session after `/bin/login`.
    TelnetLogin,
    /// `ssh host cmd`: `bash -c cmd`, no prompt.
    Exec,
}

/// A terminal's type and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pty {
    /// `TERM`.
    pub term: String,
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
}

/// Parameters of one shell session.
#[derive(Debug, Clone)]
pub struct ShellOptions {
    /// Login name (must exist in the host's passwd; unknown names become root's view of `nobody`).
    pub user: String,
    /// Entry path.
    pub entry: Entry,
    /// The terminal, when the session has one.
    pub pty: Option<Pty>,
    /// Attacker address (`SSH_CLIENT`, `w`, `Last login`).
    pub peer: SocketAddr,
    /// Decky address.
    pub local: SocketAddr,
    /// Extra environment the client sent (`LANG`, ...).
    pub env: Vec<(String, String)>,
    /// The terminal line (`pts/N`) when the transport already announced one.
    pub tty: Option<String>,
}

#[derive(Debug, Clone)]
struct Var {
    value: String,
    exported: bool,
}

/// One shell session.
#[derive(Debug)]
pub struct Shell {
    host: Arc<Host>,
    vfs: Vfs,
    user: User,
    cred: Cred,
    cwd: String,
    oldpwd: Option<String>,
    vars: BTreeMap<String, Var>,
    status: i32,
    history: Vec<String>,
    pid: u32,
    next_pid: u32,
    opts: ShellOptions,
    tty: String,
    editor: LineEditor,
    continuation: String,
    exited: Option<i32>,
    queue: Vec<Out>,
    steps: u32,
    depth: u32,
    started: SystemTime,
    bg_jobs: u32,
    pending_stdin: Option<Vec<u8>>,
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Shell {
    /// A shell for `opts.user` on `host`.
    pub fn new(host: Arc<Host>, opts: ShellOptions) -> Shell {
        let user = host.user(&opts.user).cloned().unwrap_or_else(|| User {
            name: opts.user.clone(),
            uid: 65534,
            gid: 65534,
            gecos: String::new(),
            home: "/".into(),
            shell: "/bin/bash".into(),
        });
        let gids: Vec<u32> = host.groups_of(&user).iter().map(|g| g.gid).collect();
        let cred = Cred {
            uid: user.uid,
            gids: if gids.is_empty() {
                vec![user.gid]
            } else {
                gids
            },
        };
        // Session pids are fresh per connection, like a busy server's.
        let mut rng = rand::rngs::OsRng;
        let pid = host.next_pid + rng.gen_range(0..40_000);
        let tty = opts
            .tty
            .clone()
            .unwrap_or_else(|| format!("pts/{}", rng.gen_range(0..3)));
        let mut vfs = Vfs::new(Arc::clone(&host.tree));
        let cwd = if vfs.stat("/", &user.home, true).is_ok() {
            user.home.clone()
        } else {
            "/".into()
        };
        let history = match vfs.stat("/", &format!("{}/.bash_history", user.home), true) {
            Ok((_, n)) if opts.entry != Entry::Exec => String::from_utf8_lossy(&vfs.read_static(n))
                .lines()
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        // The session's own history file is not written back.
        vfs.touch(
            "/",
            "/var/log/wtmp",
            &Cred {
                uid: 0,
                gids: vec![0],
            },
            now(),
        )
        .ok();
        let mut sh = Shell {
            host,
            vfs,
            cred,
            cwd,
            oldpwd: None,
            vars: BTreeMap::new(),
            status: 0,
            history,
            pid,
            next_pid: pid + 3,
            tty,
            editor: LineEditor::default(),
            continuation: String::new(),
            exited: None,
            queue: Vec::new(),
            steps: 0,
            depth: 0,
            started: SystemTime::now(),
            bg_jobs: 0,
            pending_stdin: None,
            user,
            opts,
        };
        sh.init_env();
        sh
    }

    fn init_env(&mut self) {
        let u = self.user.clone();
        let path = if u.uid == 0 {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        } else {
            "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
        };
        let peer = self.opts.peer;
        let local = self.opts.local;
        let mut set = |k: &str, v: String| {
            self.vars.insert(
                k.to_owned(),
                Var {
                    value: v,
                    exported: true,
                },
            );
        };
        set("HOME", u.home.clone());
        set("USER", u.name.clone());
        set("LOGNAME", u.name.clone());
        set("SHELL", u.shell.clone());
        set("PATH", path.to_owned());
        set("PWD", self.cwd.clone());
        set("SHLVL", "1".to_owned());
        set("LANG", "C.UTF-8".to_owned());
        set("MAIL", format!("/var/mail/{}", u.name));
        match self.opts.entry {
            Entry::SshLogin | Entry::Exec => {
                set(
                    "SSH_CLIENT",
                    format!("{} {} {}", peer.ip(), peer.port(), local.port()),
                );
                set(
                    "SSH_CONNECTION",
                    format!(
                        "{} {} {} {}",
                        peer.ip(),
                        peer.port(),
                        local.ip(),
                        local.port()
                    ),
                );
            }
            Entry::TelnetLogin => {}
        }
        if let Some(p) = self.opts.pty.clone() {
            set("TERM", p.term);
            if self.opts.entry == Entry::SshLogin {
                set("SSH_TTY", format!("/dev/{}", self.tty));
            }
        }
        for (k, v) in self.opts.env.clone() {
            if k == "LANG" || k.starts_with("LC_") {
                set(&k, v);
            }
        }
    }

    /// The host the shell runs on.
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// The session's file system (uploads are added here).
    pub fn vfs_mut(&mut self) -> &mut Vfs {
        &mut self.vfs
    }

    /// The session's file system.
    pub fn vfs(&self) -> &Vfs {
        &self.vfs
    }

    /// The logged-in user's credentials.
    pub fn cred(&self) -> &Cred {
        &self.cred
    }

    /// The logged-in user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// Replaces the session's file tree (a connection's overlay, kept across its channels).
    pub fn set_vfs(&mut self, vfs: Vfs) {
        self.vfs = vfs;
    }

    /// Takes the file tree back, leaving a pristine one.
    pub fn take_vfs(&mut self) -> Vfs {
        std::mem::replace(&mut self.vfs, Vfs::new(Arc::clone(&self.host.tree)))
    }

    /// Standard input for the next command line (`ssh host 'cat > f' < file`).
    pub fn set_stdin(&mut self, bytes: Vec<u8>) {
        self.pending_stdin = (!bytes.is_empty()).then_some(bytes);
    }

    /// `$?`.
    pub fn last_status(&self) -> i32 {
        self.status
    }

    /// The current directory.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// The terminal line (`pts/N`).
    pub fn tty(&self) -> &str {
        &self.tty
    }

    /// Exit status once the shell has exited.
    pub fn exited(&self) -> Option<i32> {
        self.exited
    }

    /// The terminal was resized.
    pub fn resize(&mut self, cols: u32, rows: u32) {
        if let Some(p) = self.opts.pty.as_mut() {
            p.cols = cols;
            p.rows = rows;
        }
    }

    fn interactive(&self) -> bool {
        self.opts.entry != Entry::Exec
    }

    /// `-bash: ` for the login shell, `bash: ` for `bash -c`.
    pub(crate) fn err_prefix(&self) -> &'static str {
        if self.interactive() {
            "-bash: "
        } else {
            "bash: "
        }
    }

    fn display_cwd(&self) -> String {
        let home = &self.user.home;
        if self.cwd == *home {
            "~".into()
        } else if home != "/" && self.cwd.starts_with(&format!("{home}/")) {
            format!("~{}", &self.cwd[home.len()..])
        } else {
            self.cwd.clone()
        }
    }

    /// PS1 as the distribution's default dotfiles render it.
    pub fn prompt(&self) -> String {
        let sigil = if self.user.uid == 0 { '#' } else { '$' };
        let (u, h, w) = (&self.user.name, &self.host.hostname, self.display_cwd());
        let term = self.opts.pty.as_ref().map_or("dumb", |p| p.term.as_str());
        match self.host.release.flavour {
            Flavour::Ubuntu if term.starts_with("xterm") => format!(
                "\x1b]0;{u}@{h}: {w}\x07\x1b[01;32m{u}@{h}\x1b[00m:\x1b[01;34m{w}\x1b[00m{sigil} "
            ),
            Flavour::Redhat => {
                let base = if w == "~" {
                    "~".to_owned()
                } else {
                    w.rsplit('/').next().unwrap_or("/").to_owned()
                };
                let base = if base.is_empty() {
                    "/".to_owned()
                } else {
                    base
                };
                format!("[{u}@{h} {base}]{sigil} ")
            }
            Flavour::Alpine => format!("{h}:{w}{sigil} "),
            _ => format!("{u}@{h}:{w}{sigil} "),
        }
    }

    fn paste_on(&self) -> bool {
        self.opts
            .pty
            .as_ref()
            .is_some_and(|p| p.term != "dumb" && self.host.release.flavour != Flavour::Alpine)
    }

    fn push_prompt(&mut self, ps2: bool) {
        let mut s = String::new();
        if self.paste_on() {
            s.push_str("\x1b[?2004h");
        }
        if ps2 {
            s.push_str("> ");
        } else {
            s.push_str(&self.prompt());
        }
        self.queue.push(Out::Stdout(s.into_bytes()));
    }

    fn paste_off(&mut self) {
        if self.paste_on() {
            self.queue.push(Out::Stdout(b"\x1b[?2004l\r".to_vec()));
        }
    }

    /// Login banner (motd, last login) and the first prompt.
    pub fn start(&mut self) -> Vec<Out> {
        if self.interactive() {
            let banner = commands::procfs::login_banner(self);
            self.queue.push(Out::Stdout(banner.into_bytes()));
            self.push_prompt(false);
        }
        self.take()
    }

    /// Keystrokes from an interactive terminal.
    pub fn input(&mut self, bytes: &[u8]) -> Vec<Out> {
        if self.exited.is_some() {
            return Vec::new();
        }
        let mut edit = self.editor.feed(bytes, &self.history);
        loop {
            if !edit.echo.is_empty() {
                self.queue.push(Out::Stdout(std::mem::take(&mut edit.echo)));
            }
            for ev in std::mem::take(&mut edit.events) {
                self.key_event(ev);
            }
            if self.exited.is_some() || !self.editor.has_pending() {
                break;
            }
            edit = self.editor.resume(&self.history);
        }
        self.take()
    }

    fn key_event(&mut self, ev: KeyEvent) {
        match ev {
            KeyEvent::Line(line) => {
                self.paste_off();
                let full = if self.continuation.is_empty() {
                    line
                } else {
                    format!("{}{line}", std::mem::take(&mut self.continuation))
                };
                match parse::parse(&full) {
                    Err(parse::ParseError::Incomplete) => {
                        self.continuation = format!("{full}\n");
                        self.push_prompt(true);
                        return;
                    }
                    _ => {
                        let trimmed = full.trim();
                        if !trimmed.is_empty() && !full.starts_with(' ') {
                            self.history.push(full.clone());
                        }
                        self.exec_line(&full);
                    }
                }
                if self.exited.is_none() {
                    self.push_prompt(false);
                }
            }
            KeyEvent::Interrupt => {
                self.continuation.clear();
                if self.paste_on() {
                    self.queue.push(Out::Stdout(
                        b"\x1b[?2004l\r\x1b[?2004h\x1b[?2004l\r".to_vec(),
                    ));
                }
                self.queue.push(Out::Stdout(b"\r\n".to_vec()));
                self.status = 130;
                self.push_prompt(false);
            }
            KeyEvent::Eof => {
                self.paste_off();
                self.queue.push(Out::Stdout(b"logout\r\n".to_vec()));
                self.exit(self.status);
            }
            KeyEvent::Clear => {
                let line = self.editor.current();
                self.queue
                    .push(Out::Stdout(b"\x1b[H\x1b[2J\x1b[3J".to_vec()));
                self.push_prompt(!self.continuation.is_empty());
                self.queue.push(Out::Stdout(line.into_bytes()));
            }
        }
    }

    /// Runs one command line non-interactively (`ssh host cmd`, a script line).
    pub fn run(&mut self, line: &str) -> Vec<Out> {
        if self.exited.is_none() {
            let line: String = line.chars().take(MAX_COMMAND).collect();
            self.exec_line(&line);
        }
        self.take()
    }

    /// Marks the shell exited.
    pub(crate) fn exit(&mut self, code: i32) {
        if self.exited.is_none() {
            self.exited = Some(code & 0xff);
            self.queue.push(Out::Exit(code & 0xff));
        }
    }

    /// Emits an event now (in order with output).
    pub(crate) fn emit(&mut self, d: Draft) {
        self.queue.push(Out::Emit(d));
    }

    /// Hands the queued output over, translating newlines on a pty.
    fn take(&mut self) -> Vec<Out> {
        let mut out = std::mem::take(&mut self.queue);
        if self.opts.pty.is_some() {
            for o in &mut out {
                if let Out::Stdout(b) | Out::Stderr(b) = o {
                    *b = onlcr(b);
                }
            }
        }
        out
    }

    fn exec_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let d = Draft::new(crate::session::event_types::COMMAND)
            .field("cmd", line)
            .field("cwd", self.cwd.clone())
            .field("user", self.user.name.clone())
            .field("uid", self.user.uid.to_string());
        self.emit(d);
        self.steps = 0;
        match parse::parse(line) {
            Ok(script) => {
                let st = self.run_script(&script, &mut exec::Pipe::terminal());
                self.status = st;
            }
            Err(e) => {
                let msg = match (&e, self.interactive()) {
                    (parse::ParseError::Incomplete, false) => {
                        let quote = if line.matches('"').count() % 2 == 1 {
                            Some('"')
                        } else if line.matches('\'').count() % 2 == 1 {
                            Some('\'')
                        } else {
                            None
                        };
                        match quote {
                            Some(q) => format!(
                                "bash: -c: line 1: unexpected EOF while looking for matching `{q}'\n"
                            ),
                            None => "bash: -c: line 2: syntax error: unexpected end of file\n"
                                .to_owned(),
                        }
                    }
                    (_, false) => format!("bash: -c: line 1: {e}\nbash: -c: line 1: `{line}'\n"),
                    (_, true) => format!("-bash: {e}\n"),
                };
                self.queue.push(Out::Stderr(msg.into_bytes()));
                self.status = 2;
            }
        }
    }

    /// Seconds the session has run.
    pub(crate) fn session_secs(&self) -> u64 {
        self.started.elapsed().map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// `\n` → `\r\n`, the tty's output processing.
fn onlcr(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + b.len() / 16);
    let mut prev = 0u8;
    for &c in b {
        if c == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests;
