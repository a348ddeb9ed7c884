//! Channel tasks: a shell (interactive with a pty, or a script on stdin),
//! an exec request, scp or SFTP — each driving a SANS-IO machine and
//! writing its output through the russh [`Handle`].

use std::sync::Arc;
use std::time::Duration;

use russh::ChannelId;
use russh::server::Handle;
use tokio::sync::mpsc;

use super::Shared;
use super::handler::ConnState;
use super::scp::{Scp, ScpMode, parse_command};
use super::sftp::{Sftp, SftpOut};
use super::upload::{Upload, XferOut};
use crate::recording::{SessionRecording, Start};
use crate::server::stream::Events;
use crate::session::event_types::COMMAND;
use crate::session::{ConnInfo, Draft};
use crate::shell::{Entry, Out, Pty, Shell, ShellOptions};

/// Event emitted for a stored upload.
pub const FILE_CAPTURED: &str = "file_captured";
/// Bytes of stdin buffered for an exec request.
const MAX_STDIN: usize = 1024 * 1024;
/// How long an exec request waits for stdin that may never come (paramiko
/// and friends never send EOF).
const STDIN_GRACE: Duration = Duration::from_millis(300);
/// Largest `data` message written at once.
const CHUNK: usize = 32 * 1024;

/// What a channel runs.
#[derive(Debug)]
pub(super) enum Kind {
    /// A `shell` request.
    Shell,
    /// An `exec` request.
    Exec(String),
    /// The `sftp` subsystem.
    Sftp,
}

/// Client input forwarded by the handler.
#[derive(Debug)]
pub(super) enum ChanIn {
    /// Channel data.
    Data(Vec<u8>),
    /// The client sent EOF.
    Eof,
    /// `window-change`.
    Resize(u32, u32),
}

/// Everything a channel task needs.
pub(super) struct ChanCtx {
    pub(super) shared: Arc<Shared>,
    pub(super) events: Events,
    pub(super) handle: Handle,
    pub(super) id: ChannelId,
    pub(super) user: String,
    pub(super) pty: Option<Pty>,
    pub(super) env: Vec<(String, String)>,
    pub(super) info: ConnInfo,
    pub(super) sid: String,
    pub(super) state: Arc<ConnState>,
}

struct Writer<'a> {
    ctx: &'a ChanCtx,
    rec: Option<SessionRecording>,
    exit: Option<i32>,
}

impl Writer<'_> {
    async fn data(&mut self, bytes: &[u8], stderr: bool) {
        if let Some(r) = self.rec.as_mut() {
            r.output(bytes);
        }
        for chunk in bytes.chunks(CHUNK) {
            let res = if stderr && self.ctx.pty.is_none() {
                self.ctx
                    .handle
                    .extended_data(self.ctx.id, 1, chunk.to_vec())
                    .await
            } else {
                self.ctx.handle.data(self.ctx.id, chunk.to_vec()).await
            };
            if res.is_err() {
                return;
            }
        }
    }

    async fn outs(&mut self, outs: Vec<Out>) {
        for o in outs {
            match o {
                Out::Stdout(b) => self.data(&b, false).await,
                Out::Stderr(b) => self.data(&b, true).await,
                Out::Emit(d) => self.ctx.events.emit(d),
                Out::Pause(d) => tokio::time::sleep(d).await,
                Out::Exit(c) => self.exit = Some(c),
            }
        }
    }

    async fn finish(mut self, status: i32) {
        let h = &self.ctx.handle;
        let _ = h.exit_status_request(self.ctx.id, status as u32).await;
        let _ = h.eof(self.ctx.id).await;
        let _ = h.close(self.ctx.id).await;
        if let Some(r) = self.rec.take() {
            self.ctx.events.emit(r.finish());
        }
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // The transport went away under the session: still account for it.
        if let Some(r) = self.rec.take() {
            self.ctx.events.emit(r.finish());
        }
    }
}

fn shell_for(ctx: &ChanCtx, entry: Entry) -> Shell {
    let mut sh = Shell::new(
        Arc::clone(&ctx.shared.host),
        ShellOptions {
            user: ctx.user.clone(),
            entry,
            pty: ctx.pty.clone(),
            peer: ctx.info.peer,
            local: ctx.info.local,
            env: ctx.env.clone(),
            tty: None,
        },
    );
    if let Some(v) = ctx.state.vfs.lock().take() {
        sh.set_vfs(v);
    }
    sh
}

fn give_back(ctx: &ChanCtx, sh: &mut Shell) {
    *ctx.state.vfs.lock() = Some(sh.take_vfs());
}

/// Runs one channel to its end.
pub(super) async fn run(kind: Kind, ctx: ChanCtx, mut rx: mpsc::Receiver<ChanIn>) {
    match kind {
        Kind::Shell if ctx.pty.is_some() => interactive(&ctx, &mut rx).await,
        Kind::Shell => script(&ctx, &mut rx, None).await,
        Kind::Exec(cmd) => match parse_command(&cmd) {
            Some(mode) => scp(&ctx, &mut rx, mode, &cmd).await,
            None if is_stdin_shell(&cmd) => script(&ctx, &mut rx, Some(&cmd)).await,
            None => exec(&ctx, &mut rx, &cmd).await,
        },
        Kind::Sftp => sftp(&ctx, &mut rx).await,
    }
}

/// `sh`, `bash`, `bash -s`, `/bin/sh -i`…: a shell reading its script from stdin.
fn is_stdin_shell(cmd: &str) -> bool {
    let mut w = cmd.split_whitespace();
    let Some(first) = w.next() else { return false };
    let name = first.rsplit('/').next().unwrap_or("");
    matches!(name, "sh" | "bash" | "dash") && w.all(|a| a.starts_with('-') && !a.contains('c'))
}

async fn interactive(ctx: &ChanCtx, rx: &mut mpsc::Receiver<ChanIn>) {
    let pty = ctx.pty.clone().unwrap_or(Pty {
        term: "xterm".into(),
        cols: 80,
        rows: 24,
    });
    let rec = match ctx
        .shared
        .recorder
        .start(&ctx.sid, pty.cols, pty.rows, &pty.term)
    {
        Start::Recording(r) => Some(r),
        Start::Skipped(d) => {
            ctx.events.emit(d);
            None
        }
        Start::Disabled => None,
    };
    let mut w = Writer {
        ctx,
        rec,
        exit: None,
    };
    let mut sh = shell_for(ctx, Entry::SshLogin);
    w.outs(sh.start()).await;
    while w.exit.is_none() {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            ChanIn::Data(d) => {
                if let Some(r) = w.rec.as_mut() {
                    r.input(&d);
                }
                let outs = sh.input(&d);
                w.outs(outs).await;
            }
            ChanIn::Resize(c, r) => {
                sh.resize(c, r);
                if let Some(rec) = w.rec.as_mut() {
                    rec.resize(c, r);
                }
            }
            ChanIn::Eof => {
                let outs = sh.input(&[4]);
                w.outs(outs).await;
            }
        }
    }
    give_back(ctx, &mut sh);
    let status = w.exit.unwrap_or(0);
    w.finish(status).await;
}

/// A shell with no pty reads commands from stdin, one line at a time, no prompt.
async fn script(ctx: &ChanCtx, rx: &mut mpsc::Receiver<ChanIn>, cmd: Option<&str>) {
    let mut w = Writer {
        ctx,
        rec: None,
        exit: None,
    };
    let mut sh = shell_for(ctx, Entry::Exec);
    if let Some(c) = cmd {
        ctx.events.emit(command(ctx, &sh, c));
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut last = 0;
    'outer: while w.exit.is_none() {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            ChanIn::Data(d) => {
                pending.extend_from_slice(&d);
                while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=nl).collect();
                    let outs = sh.run(String::from_utf8_lossy(&line[..line.len() - 1]).as_ref());
                    w.outs(outs).await;
                    if w.exit.is_some() {
                        break 'outer;
                    }
                }
                if pending.len() > crate::shell::MAX_COMMAND {
                    pending.clear();
                }
            }
            ChanIn::Resize(..) => {}
            ChanIn::Eof => {
                if !pending.is_empty() {
                    let outs = sh.run(&String::from_utf8_lossy(&pending));
                    w.outs(outs).await;
                }
                break;
            }
        }
        last = sh.last_status();
    }
    give_back(ctx, &mut sh);
    let status = w.exit.unwrap_or(last);
    w.finish(status).await;
}

fn command(ctx: &ChanCtx, sh: &Shell, cmd: &str) -> Draft {
    Draft::new(COMMAND)
        .field("cmd", cmd.to_owned())
        .field("cwd", sh.cwd().to_owned())
        .field("user", ctx.user.clone())
        .field("uid", sh.user().uid.to_string())
}

/// `ssh host cmd`: `bash -c cmd`, with whatever stdin arrives first.
async fn exec(ctx: &ChanCtx, rx: &mut mpsc::Receiver<ChanIn>, cmd: &str) {
    let mut w = Writer {
        ctx,
        rec: None,
        exit: None,
    };
    let mut sh = shell_for(ctx, Entry::Exec);
    let mut stdin = Vec::new();
    let mut wait = STDIN_GRACE;
    loop {
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(ChanIn::Data(d))) => {
                if stdin.len() < MAX_STDIN {
                    stdin.extend_from_slice(&d[..d.len().min(MAX_STDIN - stdin.len())]);
                }
                // Data is flowing: read it to the end like `cat` would.
                wait = ctx
                    .shared
                    .config
                    .inactivity_timeout
                    .unwrap_or(Duration::from_secs(300));
            }
            Ok(Some(ChanIn::Resize(..))) => {}
            Ok(Some(ChanIn::Eof)) | Ok(None) | Err(_) => break,
        }
    }
    sh.set_stdin(stdin);
    let outs = sh.run(cmd);
    w.outs(outs).await;
    give_back(ctx, &mut sh);
    let status = w.exit.unwrap_or(sh.last_status());
    w.finish(status).await;
}

async fn store(ctx: &ChanCtx, up: Upload, via: &'static str) {
    let store = ctx.shared.artifacts.clone();
    let data = up.data;
    let stored = tokio::task::spawn_blocking(move || store.store(&data, None)).await;
    let d = Draft::new(FILE_CAPTURED)
        .field("path", up.path.clone())
        .field("via", via)
        .field("received", up.received.to_string());
    let d = match stored {
        Ok(Ok(s)) => d
            .field("sha256", s.sha256.clone())
            .field("size", s.size.to_string())
            .field("truncated", (up.received > s.size).to_string())
            .field(
                "stored_as",
                s.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        Ok(Err(e)) => d.field("error", e.to_string()),
        Err(e) => d.field("error", e.to_string()),
    };
    ctx.events.emit(d);
}

async fn scp(ctx: &ChanCtx, rx: &mut mpsc::Receiver<ChanIn>, mode: ScpMode, cmd: &str) {
    let mut w = Writer {
        ctx,
        rec: None,
        exit: None,
    };
    let mut sh = shell_for(ctx, Entry::Exec);
    ctx.events.emit(command(ctx, &sh, cmd));
    let mut scp = Scp::new(
        mode,
        sh.cwd(),
        sh.cred().clone(),
        ctx.shared.upload_cap,
        crate::shell::now(),
    );
    let mut failed = false;
    let first = scp.start();
    for o in first {
        if let XferOut::Reply(b) = o {
            w.data(&b, false).await;
        }
    }
    while !scp.done() {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            ChanIn::Data(d) => {
                for o in scp.feed(&d, sh.vfs_mut()) {
                    match o {
                        XferOut::Reply(b) => {
                            failed |= b.first() == Some(&1);
                            w.data(&b, false).await;
                        }
                        XferOut::Upload(up) => store(ctx, up, "scp").await,
                    }
                }
            }
            ChanIn::Eof => break,
            ChanIn::Resize(..) => {}
        }
    }
    give_back(ctx, &mut sh);
    w.finish(i32::from(failed)).await;
}

async fn sftp(ctx: &ChanCtx, rx: &mut mpsc::Receiver<ChanIn>) {
    let mut w = Writer {
        ctx,
        rec: None,
        exit: None,
    };
    let mut sh = shell_for(ctx, Entry::Exec);
    ctx.events
        .emit(command(ctx, &sh, "/usr/lib/openssh/sftp-server"));
    let home = sh.user().home.clone();
    let group = sh.host().group_name(sh.user().gid);
    let mut server = Sftp::new(
        &home,
        sh.cred().clone(),
        (ctx.user.clone(), group),
        ctx.shared.upload_cap,
        crate::shell::now(),
    );
    while !server.closed() {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            ChanIn::Data(d) => {
                for o in server.feed(&d, sh.vfs_mut()) {
                    match o {
                        SftpOut::Xfer(XferOut::Reply(b)) => w.data(&b, false).await,
                        SftpOut::Xfer(XferOut::Upload(up)) => store(ctx, up, "sftp").await,
                        SftpOut::Emit(d) => ctx.events.emit(d),
                    }
                }
            }
            ChanIn::Eof => break,
            ChanIn::Resize(..) => {}
        }
    }
    for up in server.abandoned() {
        store(ctx, up, "sftp").await;
    }
    give_back(ctx, &mut sh);
    w.finish(0).await;
}
