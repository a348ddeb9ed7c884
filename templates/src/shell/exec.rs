//! Running parsed scripts: lists, and-or, pipelines, redirections, compound
//! commands and command lookup through `PATH` in the virtual tree.

use std::time::Duration;

use super::commands;
use super::parse::{AndOr, Command, Connector, Pipeline, Redir, RedirOp, Script};
use super::vfs::{Access, Data, FsError, Kind};
use super::{Out, Shell};

/// Commands (simple or loop iterations) run per command line before the
/// shell stops: `while true` must not pin a decky's CPU.
const MAX_STEPS: u32 = 20_000;
/// Bytes a pipe or capture keeps (the rest is dropped, like a full pipe
/// whose reader went away).
const MAX_CAPTURE: usize = 8 * 1024 * 1024;

/// Where a context's stdout goes.
#[derive(Debug)]
pub(crate) struct Pipe {
    capture: Option<Vec<u8>>,
}

impl Pipe {
    /// To the terminal.
    pub(crate) fn terminal() -> Pipe {
        Pipe { capture: None }
    }

    /// Into a buffer.
    pub(crate) fn capture() -> Pipe {
        Pipe {
            capture: Some(Vec::new()),
        }
    }

    /// The captured bytes.
    pub(crate) fn captured(self) -> Vec<u8> {
        self.capture.unwrap_or_default()
    }
}

/// One command's standard streams.
#[derive(Debug, Default)]
pub struct Ctx {
    /// Standard input.
    pub stdin: Vec<u8>,
    /// Standard output so far.
    pub out: Vec<u8>,
    /// Standard error so far.
    pub err: Vec<u8>,
    /// Whether stdout reaches the terminal directly.
    pub out_tty: bool,
    /// Whether stderr reaches the terminal directly.
    pub err_tty: bool,
}

impl Ctx {
    /// Appends to stdout.
    pub fn print(&mut self, s: impl AsRef<[u8]>) {
        if self.out.len() < MAX_CAPTURE {
            self.out.extend_from_slice(s.as_ref());
        }
    }

    /// Appends to stderr.
    pub fn eprint(&mut self, s: impl AsRef<[u8]>) {
        if self.err.len() < MAX_CAPTURE {
            self.err.extend_from_slice(s.as_ref());
        }
    }
}

#[derive(Debug, Clone)]
enum Dest {
    Inherit,
    Null,
    File(String),
    Err,
}

impl Shell {
    /// Flushes terminal-bound output, then waits `d` (a command "working").
    pub fn pause(&mut self, ctx: &mut Ctx, d: Duration) {
        if ctx.out_tty && !ctx.out.is_empty() {
            self.queue.push(Out::Stdout(std::mem::take(&mut ctx.out)));
        }
        if ctx.err_tty && !ctx.err.is_empty() {
            self.queue.push(Out::Stderr(std::mem::take(&mut ctx.err)));
        }
        self.queue.push(Out::Pause(d));
    }

    pub(crate) fn run_script(&mut self, script: &Script, pipe: &mut Pipe) -> i32 {
        let mut st = self.status;
        for item in &script.items {
            if self.exited.is_some() || self.steps > MAX_STEPS {
                break;
            }
            if item.background && self.interactive() {
                self.bg_jobs += 1;
                let msg = format!("[{}] {}\n", self.bg_jobs, self.next_pid);
                self.queue.push(Out::Stderr(msg.into_bytes()));
            }
            st = self.run_and_or(item, pipe);
            self.status = st;
        }
        st
    }

    fn run_and_or(&mut self, ao: &AndOr, pipe: &mut Pipe) -> i32 {
        let mut st = self.run_pipeline(&ao.first, pipe);
        for (c, p) in &ao.rest {
            if self.exited.is_some() {
                break;
            }
            self.status = st;
            let go = match c {
                Connector::And => st == 0,
                Connector::Or => st != 0,
            };
            if go {
                st = self.run_pipeline(p, pipe);
            }
        }
        st
    }

    fn run_pipeline(&mut self, p: &Pipeline, pipe: &mut Pipe) -> i32 {
        let n = p.cmds.len();
        // Every element of a multi-command pipeline runs in a subshell.
        let saved = (n > 1).then(|| (self.cwd.clone(), self.vars.clone(), self.exited));
        let mut stdin = self.pending_stdin.take().unwrap_or_default();
        let mut st = 0;
        for (i, cmd) in p.cmds.iter().enumerate() {
            let last = i + 1 == n;
            let mut inner = if last && pipe.capture.is_none() {
                Pipe::terminal()
            } else {
                Pipe::capture()
            };
            st = self.run_command(cmd, std::mem::take(&mut stdin), &mut inner);
            match (last, inner.capture) {
                (true, Some(c)) => {
                    if let Some(cap) = pipe.capture.as_mut()
                        && cap.len() < MAX_CAPTURE
                    {
                        cap.extend_from_slice(&c);
                    }
                }
                (false, Some(c)) => stdin = c,
                _ => {}
            }
            if self.exited.is_some() && saved.is_none() {
                break;
            }
        }
        if let Some((cwd, vars, exited)) = saved {
            self.cwd = cwd;
            self.vars = vars;
            if exited.is_none() && self.exited.is_some() {
                self.exited = None;
                self.queue.retain(|o| !matches!(o, Out::Exit(_)));
            }
        }
        if p.negate { i32::from(st == 0) } else { st }
    }

    fn run_command(&mut self, cmd: &Command, stdin: Vec<u8>, pipe: &mut Pipe) -> i32 {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return 1;
        }
        match cmd {
            Command::Simple {
                assigns,
                words,
                redirs,
            } => {
                let argv = match self.expand_words(words) {
                    Ok(a) => a,
                    Err(e) => {
                        let msg = format!("{}{e}\n", self.err_prefix());
                        self.queue.push(Out::Stderr(msg.into_bytes()));
                        return 1;
                    }
                };
                let mut values = Vec::new();
                for (k, w) in assigns {
                    match self.expand_one(w) {
                        Ok(v) => values.push((k.clone(), v)),
                        Err(e) => {
                            let msg = format!("{}{e}\n", self.err_prefix());
                            self.queue.push(Out::Stderr(msg.into_bytes()));
                            return 1;
                        }
                    }
                }
                if argv.is_empty() {
                    for (k, v) in values {
                        self.set_var(&k, &v);
                    }
                    if !redirs.is_empty() {
                        return self.with_redirs(redirs, stdin, pipe, |_, _| 0);
                    }
                    return 0;
                }
                self.with_redirs(redirs, stdin, pipe, |sh, ctx| sh.dispatch(&argv, ctx))
            }
            Command::Subshell(body, redirs) => {
                let saved = (self.cwd.clone(), self.vars.clone());
                let st = self.with_redirs(redirs, stdin, pipe, |sh, ctx| sh.nested(body, ctx));
                self.cwd = saved.0;
                self.vars = saved.1;
                if self.exited.is_some() {
                    self.exited = None;
                    self.queue.retain(|o| !matches!(o, Out::Exit(_)));
                }
                st
            }
            Command::Group(body, redirs) => {
                self.with_redirs(redirs, stdin, pipe, |sh, ctx| sh.nested(body, ctx))
            }
            Command::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    if self.run_script(cond, pipe) == 0 {
                        return self.run_script(body, pipe);
                    }
                }
                match otherwise {
                    Some(b) => self.run_script(b, pipe),
                    None => 0,
                }
            }
            Command::For { var, words, body } => {
                let items = match words {
                    Some(w) => match self.expand_words(w) {
                        Ok(a) => a,
                        Err(_) => return 1,
                    },
                    None => Vec::new(),
                };
                let mut st = 0;
                for it in items {
                    if self.exited.is_some() || self.steps > MAX_STEPS {
                        break;
                    }
                    self.steps += 1;
                    self.set_var(var, &it);
                    st = self.run_script(body, pipe);
                }
                st
            }
            Command::While { cond, body, until } => {
                let mut st = 0;
                while self.exited.is_none() && self.steps <= MAX_STEPS {
                    self.steps += 1;
                    let c = self.run_script(cond, pipe) == 0;
                    if c == *until {
                        break;
                    }
                    st = self.run_script(body, pipe);
                }
                st
            }
        }
    }

    /// Runs a script inside a command context (its output lands in `ctx`).
    fn nested(&mut self, body: &Script, ctx: &mut Ctx) -> i32 {
        let mut pipe = Pipe::capture();
        let before = self.queue.len();
        let st = self.run_script(body, &mut pipe);
        ctx.print(pipe.captured());
        // Stderr of the nested commands already reached the terminal queue.
        let _ = before;
        st
    }

    fn with_redirs(
        &mut self,
        redirs: &[Redir],
        stdin: Vec<u8>,
        pipe: &mut Pipe,
        run: impl FnOnce(&mut Shell, &mut Ctx) -> i32,
    ) -> i32 {
        let mut ctx = Ctx {
            stdin,
            out_tty: pipe.capture.is_none(),
            err_tty: true,
            ..Ctx::default()
        };
        let (mut fd1, mut fd2) = (Dest::Inherit, Dest::Err);
        for r in redirs {
            let target = if matches!(r.op, RedirOp::Dup(_)) {
                String::new()
            } else {
                match self.expand_one(&r.target) {
                    Ok(t) => t,
                    Err(e) => {
                        let msg = format!("{}{e}\n", self.err_prefix());
                        self.queue.push(Out::Stderr(msg.into_bytes()));
                        return 1;
                    }
                }
            };
            let file = |_append: bool| {
                if target == "/dev/null" {
                    Dest::Null
                } else {
                    Dest::File(target.clone())
                }
            };
            match (&r.op, r.fd) {
                (RedirOp::In, _) => match self.read_file(&target) {
                    Ok(b) => ctx.stdin = b,
                    Err(e) => {
                        let msg = format!("{}{target}: {e}\n", self.err_prefix());
                        self.queue.push(Out::Stderr(msg.into_bytes()));
                        return 1;
                    }
                },
                (RedirOp::Out | RedirOp::Append, fd) => {
                    let append = r.op == RedirOp::Append;
                    // bash opens (creating or truncating) before running the command.
                    if let Dest::File(p) = file(append) {
                        let res = if append {
                            self.vfs.write(
                                &self.cwd.clone(),
                                &p,
                                b"",
                                true,
                                &self.cred.clone(),
                                super::now(),
                            )
                        } else {
                            self.vfs.write(
                                &self.cwd.clone(),
                                &p,
                                b"",
                                false,
                                &self.cred.clone(),
                                super::now(),
                            )
                        };
                        if let Err(e) = res
                            && e != FsError::Io
                        {
                            let msg = format!("{}{p}: {e}\n", self.err_prefix());
                            self.queue.push(Out::Stderr(msg.into_bytes()));
                            return 1;
                        }
                    }
                    match fd {
                        1 => fd1 = file(append),
                        2 => fd2 = file(append),
                        _ => {}
                    }
                }
                (RedirOp::Both, _) => {
                    fd1 = file(false);
                    fd2 = file(true);
                    if let Dest::File(p) = &fd1
                        && let Err(e) = self.vfs.write(
                            &self.cwd.clone(),
                            p,
                            b"",
                            false,
                            &self.cred.clone(),
                            super::now(),
                        )
                        && e != FsError::Io
                    {
                        let msg = format!("{}{p}: {e}\n", self.err_prefix());
                        self.queue.push(Out::Stderr(msg.into_bytes()));
                        return 1;
                    }
                }
                (RedirOp::Dup(to), fd) => {
                    let src = match to {
                        1 => fd1.clone(),
                        2 => fd2.clone(),
                        _ => Dest::Null,
                    };
                    match fd {
                        1 => {
                            fd1 = if matches!(src, Dest::Err) {
                                Dest::Err
                            } else {
                                src
                            }
                        }
                        2 => {
                            fd2 = if matches!(src, Dest::Inherit) {
                                Dest::Inherit
                            } else {
                                src
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        ctx.out_tty &= matches!(fd1, Dest::Inherit);
        ctx.err_tty = matches!(fd2, Dest::Err) || (matches!(fd2, Dest::Inherit) && ctx.out_tty);
        let st = run(self, &mut ctx);
        let (out, err) = (std::mem::take(&mut ctx.out), std::mem::take(&mut ctx.err));
        self.route(out, &fd1, pipe, false);
        self.route(err, &fd2, pipe, true);
        st
    }

    fn route(&mut self, bytes: Vec<u8>, dest: &Dest, pipe: &mut Pipe, is_err: bool) {
        if bytes.is_empty() {
            return;
        }
        match dest {
            Dest::Null => {}
            Dest::Err => self.queue.push(Out::Stderr(bytes)),
            Dest::Inherit => match pipe.capture.as_mut() {
                Some(c) if c.len() < MAX_CAPTURE => c.extend_from_slice(&bytes),
                Some(_) => {}
                None if is_err => self.queue.push(Out::Stderr(bytes)),
                None => self.queue.push(Out::Stdout(bytes)),
            },
            Dest::File(p) => {
                let (cwd, cred) = (self.cwd.clone(), self.cred.clone());
                if let Err(e) = self.vfs.write(&cwd, p, &bytes, true, &cred, super::now()) {
                    let msg = format!("{}write error: {e}\n", self.err_prefix());
                    self.queue.push(Out::Stderr(msg.into_bytes()));
                }
            }
        }
    }

    /// Reads a file as `cat` would, with the errno of a failure.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let (_, node) = self.vfs.stat(&self.cwd, path, true)?;
        if node.is_dir() {
            return Err(FsError::IsDir);
        }
        if !self.cred.may(node, Access::Read) {
            return Err(FsError::Denied);
        }
        Ok(match &node.data {
            Data::Live(l) => commands::procfs::live_file(self, *l).into_bytes(),
            _ if node.kind == Kind::CharDev => Vec::new(),
            _ => self.vfs.read_static(node),
        })
    }

    /// Finds an executable the way bash does: builtins, then `PATH`.
    pub(crate) fn dispatch(&mut self, argv: &[String], ctx: &mut Ctx) -> i32 {
        let Some(name) = argv.first() else { return 0 };
        if let Some(f) = commands::builtin(name) {
            return f(self, ctx, argv);
        }
        let found = if name.contains('/') {
            match self.vfs.stat(&self.cwd, name, true) {
                Ok((p, _)) => Some(p),
                Err(e) => {
                    ctx.eprint(format!("{}{name}: {e}\n", self.err_prefix()));
                    return 127;
                }
            }
        } else {
            self.which(name)
        };
        let Some(path) = found else {
            ctx.eprint(format!("{}{name}: command not found\n", self.err_prefix()));
            return 127;
        };
        let Ok((canon, node)) = self.vfs.stat("/", &path, true).map(|(c, n)| (c, n.clone())) else {
            ctx.eprint(format!(
                "{}{name}: No such file or directory\n",
                self.err_prefix()
            ));
            return 127;
        };
        if node.is_dir() {
            ctx.eprint(format!("{}{name}: Is a directory\n", self.err_prefix()));
            return 126;
        }
        if !self.cred.may(&node, Access::Exec) {
            ctx.eprint(format!("{}{name}: Permission denied\n", self.err_prefix()));
            return 126;
        }
        // Only the system's own binaries behave like the real programs; an
        // uploaded file called `ls` is just a file.
        let system = ["/usr/bin/", "/usr/sbin/", "/usr/local/bin/"]
            .iter()
            .any(|d| canon.starts_with(d));
        if system {
            let invoked = path.rsplit('/').next().unwrap_or("");
            let target = canon.rsplit('/').next().unwrap_or("");
            if let Some(f) = commands::external(invoked).or_else(|| commands::external(target)) {
                return f(self, ctx, argv);
            }
        }
        let body = self.vfs.read_static(&node);
        if body.starts_with(b"\x7fELF") {
            // e_machine 0x3e is x86-64; anything else (ARM, MIPS bots) cannot run here.
            return if body.get(18) == Some(&0x3e) || body.len() < 20 {
                0
            } else {
                ctx.eprint(format!(
                    "{}{name}: cannot execute binary file: Exec format error\n",
                    self.err_prefix()
                ));
                126
            };
        }
        self.run_text_script(&body, ctx)
    }

    /// Runs a text file as a shell script (`./x.sh`, `sh x.sh`, `source`).
    pub(crate) fn run_text_script(&mut self, body: &[u8], ctx: &mut Ctx) -> i32 {
        let text = String::from_utf8_lossy(body).into_owned();
        match super::parse::parse(&text) {
            Ok(script) => {
                if self.depth >= 8 {
                    return 1;
                }
                self.depth += 1;
                let st = self.nested(&script, ctx);
                self.depth -= 1;
                st
            }
            Err(e) => {
                ctx.eprint(format!("{}line 1: {e}\n", self.err_prefix()));
                2
            }
        }
    }

    /// The path `name` resolves to through `PATH`, if any.
    pub(crate) fn which(&self, name: &str) -> Option<String> {
        if name.is_empty() || name.contains('/') {
            return None;
        }
        let path = self.var("PATH").unwrap_or_default();
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let candidate = format!("{dir}/{name}");
            if let Ok((_, node)) = self.vfs.stat("/", &candidate, true)
                && !node.is_dir()
                && node.mode & 0o111 != 0
            {
                return Some(
                    self.vfs
                        .resolve("/", &candidate, false)
                        .unwrap_or(candidate),
                );
            }
        }
        None
    }
}
