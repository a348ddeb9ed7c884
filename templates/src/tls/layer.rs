//! TLS as a SANS-IO layer: rustls's `ServerConnection` driven from `feed`.
//!
//! rustls is itself SANS-IO (`read_tls` / `process_new_packets` / `write_tls`
//! over byte buffers), so TLS needs no second adapter in the runtime:
//! [`TlsLayer`] turns ciphertext into plaintext and plaintext into
//! ciphertext, [`TlsSession`] wraps any [`Session`] with it (https), and a
//! protocol with STARTTLS (smtp) holds a [`TlsLayer`] itself and switches to it
//! mid-stream. Everything stays fuzzable with byte slices.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConnection;

use crate::session::event_types::PROTOCOL_ERROR;
use crate::session::{Action, Draft, Session, SideOutput, SideTask};

/// A TLS failure: what to tell the peer (an alert, maybe empty) and why.
#[derive(Debug)]
pub struct TlsFailure {
    /// Bytes to send before closing (usually an alert record).
    pub alert: Vec<u8>,
    /// Why, for the `protocol_error` event.
    pub error: String,
}

/// Tracks TLS record boundaries in the received ciphertext, so a record
/// dribbled in byte by byte counts as an incomplete frame (slowloris).
#[derive(Debug, Default, Clone, Copy)]
struct RecordTracker {
    header: [u8; 5],
    have: usize,
    body_left: usize,
}

impl RecordTracker {
    fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(input.len());
                self.body_left -= n;
                input = &input[n..];
                continue;
            }
            self.header[self.have] = input[0];
            self.have += 1;
            input = &input[1..];
            if self.have == 5 {
                self.have = 0;
                self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
            }
        }
    }

    fn mid_record(&self) -> bool {
        self.have > 0 || self.body_left > 0
    }
}

/// One server-side TLS connection over byte buffers.
#[derive(Debug)]
pub struct TlsLayer {
    conn: ServerConnection,
    records: RecordTracker,
    received: bool,
    peer_closed: bool,
}

impl TlsLayer {
    /// A new server connection with `config`.
    pub fn new(config: Arc<rustls::ServerConfig>) -> Result<Self, rustls::Error> {
        Ok(TlsLayer {
            conn: ServerConnection::new(config)?,
            records: RecordTracker::default(),
            received: false,
            peer_closed: false,
        })
    }

    /// Consumes ciphertext; returns the plaintext it carried. Handshake
    /// replies are waiting in [`TlsLayer::take_output`] afterwards.
    pub fn read(&mut self, input: &[u8]) -> Result<Vec<u8>, TlsFailure> {
        self.received |= !input.is_empty();
        self.records.feed(input);
        let mut plain = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            match self.conn.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(self.fail(format!("tls: {e}"))),
            }
            match self.conn.process_new_packets() {
                Ok(state) => {
                    self.peer_closed |= state.peer_has_closed();
                }
                Err(e) => return Err(self.fail(format!("tls: {e}"))),
            }
            let mut chunk = [0u8; 4096];
            loop {
                match self.conn.reader().read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => plain.extend_from_slice(&chunk[..n]),
                    Err(_) => break,
                }
            }
        }
        Ok(plain)
    }

    fn fail(&mut self, error: String) -> TlsFailure {
        TlsFailure {
            alert: self.take_output(),
            error,
        }
    }

    /// Ciphertext waiting to be sent (handshake messages, alerts, records).
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        out
    }

    /// Encrypts `plain`; returns the records to send.
    pub fn write(&mut self, plain: &[u8]) -> Vec<u8> {
        // Only fails when the send buffer limit is hit; sessions answer in
        // bounded pieces and the writer has no limit set.
        let _ = self.conn.writer().write_all(plain);
        self.take_output()
    }

    /// A close_notify alert.
    pub fn close(&mut self) -> Vec<u8> {
        self.conn.send_close_notify();
        self.take_output()
    }

    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether the peer sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Whether a record is partly received, or a handshake started and is unfinished.
    pub fn incomplete(&self) -> bool {
        self.records.mid_record() || (self.received && self.conn.is_handshaking())
    }

    /// The server name the client asked for.
    pub fn sni(&self) -> Option<&str> {
        self.conn.server_name()
    }

    /// `(version, cipher suite)` once negotiated, e.g. `("TLSv1_3", "TLS13_AES_128_GCM_SHA256")`.
    pub fn negotiated(&self) -> Option<(String, String)> {
        let v = self.conn.protocol_version()?;
        let c = self.conn.negotiated_cipher_suite()?;
        Some((format!("{v:?}"), format!("{:?}", c.suite())))
    }

    /// Re-encrypts a session's actions: `Send` becomes TLS records, and
    /// `Close` sends close_notify first.
    pub fn wrap(&mut self, actions: Vec<Action>) -> Vec<Action> {
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            match a {
                Action::Send(plain) => {
                    let rec = self.write(&plain);
                    if !rec.is_empty() {
                        out.push(Action::Send(rec));
                    }
                }
                Action::Close => {
                    let rec = self.close();
                    if !rec.is_empty() {
                        out.push(Action::Send(rec));
                    }
                    out.push(Action::Close);
                }
                other => out.push(other),
            }
        }
        out
    }
}

/// What an HTTPS-like service answers when the first bytes are plaintext
/// instead of a TLS ClientHello (nginx and Apache both answer with a 400 page).
pub type PlaintextAnswer = Box<dyn Fn(&[u8]) -> Vec<Action> + Send + Sync>;

/// Any [`Session`] behind TLS: the inner session only ever sees plaintext.
pub struct TlsSession {
    layer: TlsLayer,
    inner: Box<dyn Session>,
    plaintext: Option<Arc<PlaintextAnswer>>,
    started: bool,
    handshake_logged: bool,
    done: bool,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("layer", &self.layer)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Event emitted once the handshake completes (`sni`, `tls_version`, `cipher`).
pub const TLS_HANDSHAKE: &str = "tls_handshake";

impl TlsSession {
    /// Wraps `inner`; `plaintext` answers a client that does not speak TLS.
    pub fn new(
        config: Arc<rustls::ServerConfig>,
        inner: Box<dyn Session>,
        plaintext: Option<Arc<PlaintextAnswer>>,
    ) -> Result<Self, rustls::Error> {
        Ok(TlsSession {
            layer: TlsLayer::new(config)?,
            inner,
            plaintext,
            started: false,
            handshake_logged: false,
            done: false,
        })
    }

    fn after_handshake(&mut self, out: &mut Vec<Action>) {
        if self.layer.is_handshaking() {
            return;
        }
        if !self.handshake_logged {
            self.handshake_logged = true;
            let mut d = Draft::new(TLS_HANDSHAKE);
            if let Some(sni) = self.layer.sni() {
                d = d.field("sni", sni);
            }
            if let Some((v, c)) = self.layer.negotiated() {
                d = d.field("tls_version", v).field("cipher", c);
            }
            out.push(Action::Emit(d));
        }
        if !self.started {
            self.started = true;
            let start = self.inner.start();
            out.extend(self.layer.wrap(start));
        }
    }
}

/// Bytes that cannot start a TLS handshake record but look like a text protocol.
fn looks_like_plaintext(input: &[u8]) -> bool {
    input.first().is_some_and(|b| b.is_ascii_uppercase())
}

impl Session for TlsSession {
    fn connect_fields(&self) -> Vec<(&'static str, String)> {
        self.inner.connect_fields()
    }

    fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        if self.done {
            return Vec::new();
        }
        if !self.layer.received
            && looks_like_plaintext(input)
            && let Some(answer) = &self.plaintext
        {
            self.done = true;
            return answer(input);
        }
        let mut out = Vec::new();
        match self.layer.read(input) {
            Err(f) => {
                self.done = true;
                out.push(Action::Emit(
                    Draft::new(PROTOCOL_ERROR).field("error", f.error),
                ));
                if !f.alert.is_empty() {
                    out.push(Action::Send(f.alert));
                }
                out.push(Action::Close);
                return out;
            }
            Ok(plain) => {
                let hs = self.layer.take_output();
                if !hs.is_empty() {
                    out.push(Action::Send(hs));
                }
                self.after_handshake(&mut out);
                if !plain.is_empty() {
                    let actions = self.inner.feed(&plain);
                    out.extend(self.layer.wrap(actions));
                }
                if self.layer.peer_closed() {
                    let last = self.inner.peer_closed();
                    out.extend(self.layer.wrap(last));
                    if !out.iter().any(|a| matches!(a, Action::Close)) {
                        out.push(Action::Close);
                    }
                }
            }
        }
        if out.iter().any(|a| matches!(a, Action::Close)) {
            self.done = true;
        }
        out
    }

    fn peer_closed(&mut self) -> Vec<Action> {
        if self.done || !self.started {
            return Vec::new();
        }
        let last = self.inner.peer_closed();
        self.layer.wrap(last)
    }

    fn pending_bytes(&self) -> usize {
        if self.done {
            return 0;
        }
        let inner = if self.started {
            self.inner.pending_bytes()
        } else {
            0
        };
        inner.max(usize::from(self.layer.incomplete()))
    }

    fn idle_timeout(&self) -> Option<Duration> {
        self.inner.idle_timeout()
    }

    fn take_side_task(&mut self) -> Option<SideTask> {
        self.inner.take_side_task()
    }

    fn await_side_on_close(&self) -> bool {
        self.inner.await_side_on_close()
    }

    fn side_done(&mut self, output: SideOutput) -> Vec<Action> {
        let actions = self.inner.side_done(output);
        self.layer.wrap(actions)
    }
}
