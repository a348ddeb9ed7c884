//! One SMTP connection: commands, AUTH exchanges, DATA and BDAT bodies, and
//! STARTTLS, as a SANS-IO state machine. Finished messages are handed to the
//! mail store as a side task; the reply waits for it, as a real MTA answers
//! only once the queue file is written.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::flavor::{Mta, Say};
use super::{MESSAGE_STORED, SmtpShared, StoreResult, rfc5322_date};
use crate::session::event_types::PROTOCOL_ERROR;
use crate::session::{Action, Draft, Session, SideOutput, SideTask};
use crate::tls::layer::{TLS_HANDSHAKE, TlsLayer};

/// Longest command line (Postfix's `line_length_limit`).
pub const MAX_LINE: usize = 2048;

/// DATA bytes buffered before they are moved into the message.
const DATA_FLUSH: usize = 8192;

/// Input held while a message is being stored.
const MAX_QUEUED: usize = 64 * 1024;

/// Postfix `smtpd_recipient_limit`.
const MAX_RCPTS: usize = 1000;

mod auth;
mod command;
mod mail;

use self::mail::subject_of;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Command,
    Data,
    Bdat {
        left: u64,
        last: bool,
        discard: bool,
    },
    AuthLogin {
        user: Option<Vec<u8>>,
    },
    AuthPlain,
    Storing,
    Closed,
}

/// One SMTP connection.
pub struct SmtpSession {
    shared: Arc<SmtpShared>,
    peer: SocketAddr,
    buf: Vec<u8>,
    mode: Mode,
    helo: Option<String>,
    esmtp: bool,
    from: Option<String>,
    rcpts: Vec<String>,
    msg: Vec<u8>,
    msg_len: u64,
    at_line_start: bool,
    truncated: bool,
    reserved: usize,
    tls: Option<TlsLayer>,
    tls_logged: bool,
    errors: u32,
    unknown: u32,
    sasl_reply: String,
    skip_line: bool,
    side: Option<SideTask>,
    pending: Option<Pending>,
}

impl std::fmt::Debug for SmtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSession")
            .field("mode", &self.mode)
            .field("helo", &self.helo)
            .field("msg_len", &self.msg_len)
            .finish_non_exhaustive()
    }
}

fn peer_ip(peer: &SocketAddr) -> String {
    match peer.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        ip => ip.to_string(),
    }
}

/// The address inside `<...>` after a `FROM:` / `TO:` keyword, and the rest.
fn envelope_address<'a>(arg: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        Some((&inner[..end], inner[end + 1..].trim()))
    } else {
        // Postfix accepts a bare address too (strict_rfc821_envelopes=no).
        let mut it = rest.splitn(2, ' ');
        let addr = it.next().filter(|a| !a.is_empty())?;
        Some((addr, it.next().unwrap_or("").trim()))
    }
}

impl SmtpSession {
    /// A session for a client at `peer`.
    pub fn new(shared: Arc<SmtpShared>, peer: SocketAddr) -> Self {
        SmtpSession {
            shared,
            peer,
            buf: Vec::new(),
            mode: Mode::Command,
            helo: None,
            esmtp: false,
            from: None,
            rcpts: Vec::new(),
            msg: Vec::new(),
            msg_len: 0,
            at_line_start: true,
            truncated: false,
            reserved: 0,
            tls: None,
            tls_logged: false,
            errors: 0,
            unknown: 0,
            sasl_reply: String::new(),
            skip_line: false,
            side: None,
            pending: None,
        }
    }

    fn mta(&self) -> &Mta {
        &self.shared.mta
    }

    fn host(&self) -> &str {
        &self.shared.host
    }

    fn close(&mut self, out: &mut Vec<Action>) {
        self.mode = Mode::Closed;
        self.buf = Vec::new();
        self.release();
        out.push(Action::Close);
    }

    fn release(&mut self) {
        self.shared.budget.release(self.reserved);
        self.reserved = 0;
        self.msg = Vec::new();
    }

    /// Sends a reply, counting errors like Postfix's soft and hard limits.
    fn reply(&mut self, text: String, out: &mut Vec<Action>) {
        if Mta::is_error(&text) && !text.starts_with("421") {
            self.errors += 1;
            if matches!(self.mta(), Mta::Postfix) {
                if self.errors >= 20 {
                    let host = self.host().to_owned();
                    let bye = self.mta().say(Say::TooManyErrors { host: &host });
                    out.push(Action::Send(bye.into_bytes()));
                    self.close(out);
                    return;
                }
                if self.errors > 10 {
                    out.push(Action::Pause(Duration::from_secs(1)));
                }
            }
        }
        out.push(Action::Send(text.into_bytes()));
    }

    fn say(&mut self, s: Say<'_>, out: &mut Vec<Action>) {
        let text = self.mta().say(s);
        self.reply(text, out);
    }

    fn reset_txn(&mut self) {
        self.from = None;
        self.rcpts.clear();
        self.release();
        self.msg_len = 0;
        self.truncated = false;
        self.at_line_start = true;
    }

    fn append(&mut self, data: &[u8]) {
        self.msg_len += data.len() as u64;
        let room = self.shared.store_cap.saturating_sub(self.msg.len());
        let take = data.len().min(room);
        if take < data.len() {
            self.truncated = true;
        }
        if take == 0 {
            return;
        }
        if !self.shared.budget.reserve(take) {
            self.truncated = true;
            return;
        }
        self.reserved += take;
        self.msg.extend_from_slice(&data[..take]);
    }

    fn finish_message(&mut self, out: &mut Vec<Action>) {
        if self.msg_len > self.shared.size_limit {
            self.reset_txn();
            self.mode = Mode::Command;
            self.say(Say::TooBig, out);
            return;
        }
        let id = self.queue_id();
        let mut eml = self.received_header(&id).into_bytes();
        eml.extend_from_slice(&self.msg);
        let subject = subject_of(&self.msg);
        self.side = Some((self.shared.store)(eml));
        self.pending = Some(Pending { id, subject });
        self.mode = Mode::Storing;
    }

    /// Processes buffered plaintext until it runs out or a side task is needed.
    fn process(&mut self, out: &mut Vec<Action>) {
        loop {
            match self.mode.clone() {
                Mode::Closed | Mode::Storing => return,
                Mode::Bdat {
                    left,
                    last,
                    discard,
                } => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    let chunk: Vec<u8> = self.buf.drain(..n).collect();
                    if !discard {
                        self.append(&chunk);
                    }
                    let left = left - n as u64;
                    if left > 0 {
                        self.mode = Mode::Bdat {
                            left,
                            last,
                            discard,
                        };
                        return;
                    }
                    self.mode = Mode::Command;
                    if discard {
                        self.say(Say::NeedRcpt, out);
                    } else if last {
                        self.finish_message(out);
                    } else {
                        let t = match self.mta() {
                            Mta::Postfix => format!("250 2.0.0 Ok: {n} bytes\r\n"),
                            Mta::Exim { .. } => format!("250 {n} byte chunk received\r\n"),
                        };
                        out.push(Action::Send(t.into_bytes()));
                    }
                }
                Mode::Data => {
                    let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                        if self.buf.len() > DATA_FLUSH {
                            let skip =
                                usize::from(self.at_line_start && self.buf.first() == Some(&b'.'));
                            let chunk: Vec<u8> = self.buf.drain(..).collect();
                            self.append(&chunk[skip..]);
                            self.at_line_start = false;
                        }
                        return;
                    };
                    let line: Vec<u8> = self.buf.drain(..=nl).collect();
                    if self.at_line_start && (line == b".\r\n" || line == b".\n") {
                        self.finish_message(out);
                        continue;
                    }
                    let skip = usize::from(self.at_line_start && line.first() == Some(&b'.'));
                    self.append(&line[skip..]);
                    self.at_line_start = true;
                }
                Mode::Command | Mode::AuthLogin { .. } | Mode::AuthPlain => {
                    let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                        if self.buf.len() > MAX_LINE {
                            self.buf.clear();
                            if !self.skip_line {
                                self.skip_line = true;
                                out.push(Action::Emit(
                                    Draft::new(PROTOCOL_ERROR)
                                        .field("error", "command line too long"),
                                ));
                                self.mode = Mode::Command;
                                self.say(Say::LineTooLong, out);
                            }
                        }
                        return;
                    };
                    let raw: Vec<u8> = self.buf.drain(..=nl).collect();
                    if std::mem::take(&mut self.skip_line) {
                        continue;
                    }
                    let text = String::from_utf8_lossy(&raw);
                    let text = text.trim_end_matches(['\r', '\n']).to_owned();
                    if self.mode == Mode::Command {
                        self.command(&text, out);
                    } else {
                        self.auth_line(&text, out);
                    }
                }
            }
        }
    }

    fn wrap(&mut self, was_tls: bool, actions: Vec<Action>) -> Vec<Action> {
        match (&mut self.tls, was_tls) {
            (Some(layer), true) => layer.wrap(actions),
            _ => actions,
        }
    }
}

/// A message on its way to the store.
#[derive(Debug)]
pub(super) struct Pending {
    id: String,
    subject: String,
}

impl Session for SmtpSession {
    fn start(&mut self) -> Vec<Action> {
        let date = rfc5322_date((self.shared.clock)());
        let host = self.host().to_owned();
        let text = match &self.shared.banner {
            Some(b) => format!("220 {b}\r\n"),
            None => self.mta().banner(&host, &date),
        };
        vec![Action::Send(text.into_bytes())]
    }

    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        if self.mode == Mode::Closed {
            return Vec::new();
        }
        let was_tls = self.tls.is_some();
        let mut out = Vec::new();
        if let Some(layer) = &mut self.tls {
            match layer.read(input) {
                Ok(plain) => {
                    let hs = layer.take_output();
                    if !hs.is_empty() {
                        out.push(Action::Send(hs));
                    }
                    if !self.tls_logged && !layer.is_handshaking() {
                        self.tls_logged = true;
                        let mut d = Draft::new(TLS_HANDSHAKE);
                        if let Some(sni) = layer.sni() {
                            d = d.field("sni", sni);
                        }
                        if let Some((v, c)) = layer.negotiated() {
                            d = d.field("tls_version", v).field("cipher", c);
                        }
                        out.push(Action::Emit(d));
                    }
                    self.buf.extend_from_slice(&plain);
                }
                Err(f) => {
                    out.push(Action::Emit(
                        Draft::new(PROTOCOL_ERROR).field("error", f.error),
                    ));
                    if !f.alert.is_empty() {
                        out.push(Action::Send(f.alert));
                    }
                    self.close(&mut out);
                    return out;
                }
            }
        } else {
            self.buf.extend_from_slice(input);
        }
        // Commands pipelined behind a message wait for its queue write; bounded.
        if self.mode == Mode::Storing && self.buf.len() > MAX_QUEUED {
            out.push(Action::Emit(
                Draft::new(PROTOCOL_ERROR).field("error", "too much input while storing"),
            ));
            self.close(&mut out);
            return out;
        }
        let mut actions = Vec::new();
        self.process(&mut actions);
        out.extend(self.wrap(was_tls, actions));
        out
    }

    fn pending_bytes(&self) -> usize {
        let tls = self.tls.as_ref().is_some_and(TlsLayer::incomplete);
        match self.mode {
            Mode::Closed | Mode::Storing => 0,
            // A message in progress is an incomplete frame until its final dot.
            Mode::Data | Mode::Bdat { .. } => self.buf.len().max(1),
            _ => self.buf.len().max(usize::from(tls)),
        }
    }

    fn idle_timeout(&self) -> Option<Duration> {
        // Postfix smtpd_timeout / Exim smtp_receive_timeout.
        Some(Duration::from_secs(300))
    }

    fn take_side_task(&mut self) -> Option<SideTask> {
        self.side.take()
    }

    fn await_side_on_close(&self) -> bool {
        // The message is complete; the client may well hang up right after the dot.
        self.mode == Mode::Storing
    }

    fn side_done(&mut self, output: SideOutput) -> Vec<Action> {
        if self.mode != Mode::Storing {
            return Vec::new();
        }
        let was_tls = self.tls.is_some();
        let mut out = Vec::new();
        let pending = self.pending.take();
        let result = output.downcast::<StoreResult>().ok().map(|b| *b);
        match (pending, result) {
            (Some(p), Some(Ok(stored))) => {
                let stored_as = stored
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(Action::Emit(
                    Draft::new(MESSAGE_STORED)
                        .field("queue_id", p.id.as_str())
                        .field("mail_from", self.from.clone().unwrap_or_default())
                        .field("rcpt_to", self.rcpts.join(","))
                        .field("rcpt_count", self.rcpts.len().to_string())
                        .field("subject", p.subject)
                        .field("sha256", stored.sha256.as_str())
                        .field("size", stored.size.to_string())
                        .field("message_bytes", self.msg_len.to_string())
                        .field(
                            "truncated",
                            (self.truncated || stored.truncated).to_string(),
                        )
                        .field("stored_as", stored_as),
                ));
                let t = self.mta().say(Say::Queued { id: &p.id });
                out.push(Action::Send(t.into_bytes()));
            }
            _ => {
                out.push(Action::Emit(
                    Draft::new(PROTOCOL_ERROR).field("error", "message could not be stored"),
                ));
                self.reply(
                    "451 4.3.0 Error: queue file write error\r\n".into(),
                    &mut out,
                );
            }
        }
        self.reset_txn();
        self.mode = Mode::Command;
        self.process(&mut out);
        self.wrap(was_tls, out)
    }

    fn peer_closed(&mut self) -> Vec<Action> {
        self.release();
        Vec::new()
    }
}

impl Drop for SmtpSession {
    fn drop(&mut self) {
        self.shared.budget.release(self.reserved);
    }
}
