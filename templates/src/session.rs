//! The contract between a protocol emulator and the decky runtime.
//!
//! An emulator is SANS-IO: a [`Service`] opens one [`Session`] per accepted
//! connection, and the session is a plain state machine that turns received
//! bytes into [`Action`]s. It never touches a socket, a clock it did not get
//! from its service, or the event sink, so it can be unit-tested and fuzzed
//! with byte slices alone. The runtime (`server::connection`) owns the socket,
//! enforces every limit and timeout, writes the bytes and emits the events.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use decnet_event::Outcome;

/// Event types shared by every service, so the same thing has the same name everywhere.
pub mod event_types {
    /// A connection was accepted (emitted by the runtime, never by a session).
    pub const CONNECT: &str = "connect";
    /// A connection ended (emitted by the runtime, with `reason`, `duration_ms`, `bytes_in`, `bytes_out`).
    pub const DISCONNECT: &str = "disconnect";
    /// An authentication attempt, with the universal credential fields.
    pub const AUTH: &str = "auth";
    /// A command or request the attacker sent.
    pub const COMMAND: &str = "command";
    /// The attacker sent bytes the protocol does not allow (field `error`).
    pub const PROTOCOL_ERROR: &str = "protocol_error";
}

/// Why the runtime ended a connection (the `reason` field of `disconnect`).
pub mod disconnect_reasons {
    /// The peer closed its side.
    pub const CLIENT_CLOSED: &str = "client_closed";
    /// The session asked for [`super::Action::Close`].
    pub const SERVER_CLOSED: &str = "server_closed";
    /// Nothing was received for the idle timeout.
    pub const IDLE_TIMEOUT: &str = "idle_timeout";
    /// The total session time ran out.
    pub const SESSION_TIMEOUT: &str = "session_timeout";
    /// An incomplete frame sat unfinished for too long (slowloris).
    pub const FRAME_TIMEOUT: &str = "frame_timeout";
    /// Reading or writing failed (reset, broken pipe, ...).
    pub const IO_ERROR: &str = "io_error";
    /// The decky is stopping.
    pub const SHUTDOWN: &str = "shutdown";
}

/// What the runtime knows about a connection when it opens a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The attacker's address.
    pub peer: SocketAddr,
    /// The decky address the attacker connected to.
    pub local: SocketAddr,
    /// Random per-connection id, also the `session_id` of every event of the connection.
    pub session_id: String,
}

/// An event a session wants emitted; the runtime adds time, id, decky, service,
/// addresses and session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Event type, preferably one of [`event_types`].
    pub event_type: &'static str,
    /// Fields; names are code constants, values may be attacker bytes.
    pub fields: Vec<(&'static str, String)>,
    /// Optional free text.
    pub msg: Option<String>,
}

impl Draft {
    /// An event of type `event_type` with no fields yet.
    pub fn new(event_type: &'static str) -> Self {
        Draft {
            event_type,
            fields: Vec::new(),
            msg: None,
        }
    }

    /// Adds one field.
    pub fn field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// Adds the universal credential fields.
    pub fn credential(
        mut self,
        principal: &str,
        secret_kind: &str,
        secret: &[u8],
        outcome: Outcome,
    ) -> Self {
        self.fields.extend(decnet_event::credential::fields(
            principal,
            secret_kind,
            secret,
            outcome,
        ));
        self
    }

    /// Sets the free text.
    pub fn msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One step the runtime performs for a session, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to the peer.
    Send(Vec<u8>),
    /// Emit this event.
    Emit(Draft),
    /// Wait before the next action (realistic think time, failure delays).
    Pause(Duration),
    /// Flush what was sent, then close the connection; later actions are ignored.
    Close,
}

/// What a [`SideTask`] hands back to its session.
pub type SideOutput = Box<dyn Any + Send>;

/// Work a session needs done beside its connection and cannot do in `feed`
/// (an FTP data connection, writing an artifact to disk). The runtime polls
/// it together with the socket and hands its output to [`Session::side_done`].
pub type SideTask = Pin<Box<dyn Future<Output = SideOutput> + Send>>;

/// One connection's protocol state machine.
pub trait Session: Send + 'static {
    /// Fields added to the runtime's `connect` event (e.g. a connection id).
    fn connect_fields(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Actions right after accept, such as a banner or greeting.
    fn start(&mut self) -> Vec<Action> {
        Vec::new()
    }

    /// Consumes bytes from the peer. Must never panic, whatever the bytes.
    fn feed(&mut self, input: &[u8]) -> Vec<Action>;

    /// The peer closed its side; last chance to emit events (writes may fail).
    fn peer_closed(&mut self) -> Vec<Action> {
        Vec::new()
    }

    /// Bytes held in an incomplete frame; while non-zero the runtime's frame
    /// timeout runs, which is what stops a slowloris sender.
    fn pending_bytes(&self) -> usize {
        0
    }

    /// Overrides the decky-wide idle timeout in the current protocol state
    /// (e.g. MySQL's 10 s `connect_timeout` before authentication).
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }

    /// A task to run beside the connection, asked for after every batch of
    /// actions while none is running. The session stays SANS-IO: the task is
    /// built by service code outside the state machine, and the machine only
    /// sees its output.
    fn take_side_task(&mut self) -> Option<SideTask> {
        None
    }

    /// The side task finished with `output`.
    fn side_done(&mut self, _output: SideOutput) -> Vec<Action> {
        Vec::new()
    }

    /// The connection is over, for whatever `reason` (timeouts and shutdown
    /// included): the last events, emitted just before `disconnect` (a
    /// transcript's `session_recorded`).
    fn closed(&mut self, _reason: &'static str) -> Vec<Draft> {
        Vec::new()
    }

    /// Whether a running side task is still worth finishing once the peer
    /// has closed (a received message being written), rather than dropped
    /// (a data connection nobody will use).
    fn await_side_on_close(&self) -> bool {
        false
    }
}

/// A configured service of a decky: shared state plus a session factory.
pub trait Service: Send + Sync + 'static {
    /// Service slug, the `service` of its events (`redis`, `mysql`, ...).
    fn name(&self) -> &'static str;

    /// TCP port it listens on.
    fn port(&self) -> u16;

    /// A new session for an accepted connection.
    fn open(&self, conn: &ConnInfo) -> Box<dyn Session>;

    /// For services whose protocol library must own the socket (SSH over
    /// russh): the runtime then serves connections with it and never calls
    /// [`Service::open`]. See [`crate::server::stream`].
    fn stream(&self) -> Option<&dyn crate::server::stream::StreamService> {
        None
    }
}
