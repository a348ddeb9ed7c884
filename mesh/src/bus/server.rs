//! The UNIX-socket server: exposes a [`Broker`] to other processes.
//!
//! Each connection is one bus client (it never receives what it publishes)
//! with one outgoing queue (bounded, drop-oldest) fed by all its `SUB`
//! patterns. A reader decodes many frames per read; a writer coalesces every
//! queued event into one write, reusing each event's `EVT` frame encoded once
//! for all connections. A malformed or oversized frame closes that connection
//! only, and is logged with the peer's pid and uid.

use std::collections::VecDeque;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixSocket, UnixStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::BusError;
use super::broker::{Broker, LocalClient};
use super::feed::Feed;
use super::frame::{self, Frame, FrameDecoder, FrameError, Verb};
use super::wire::{self, Interner, WireError};
use crate::envelope::{Envelope, EnvelopeError, new_id_and_ts};
use crate::topic::{Pattern, TopicError};

/// Most patterns one connection may subscribe to at once.
pub const MAX_PATTERNS_PER_CONNECTION: usize = 4096;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket path.
    pub path: PathBuf,
    /// File mode of the socket.
    pub mode: u32,
    /// Group given the socket when it exists on this host.
    pub group: Option<String>,
    /// Listen backlog.
    pub backlog: u32,
    /// Capacity of each connection's outgoing queue (broker default if `None`).
    pub queue_capacity: Option<usize>,
    /// Size of each socket read.
    pub read_buffer: usize,
    /// Most bytes gathered into one write.
    pub write_batch: usize,
}

impl ServerConfig {
    /// Defaults (mode 0660, group `decnet`, backlog 4096) for a socket at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ServerConfig {
            path: path.into(),
            mode: 0o660,
            group: Some("decnet".to_owned()),
            backlog: 4096,
            queue_capacity: None,
            read_buffer: 64 * 1024,
            write_batch: 256 * 1024,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    open: AtomicU64,
    protocol_errors: AtomicU64,
}

/// Connection counters of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted so far.
    pub accepted: u64,
    /// Connections open now.
    pub open: u64,
    /// Connections closed because of a malformed or oversized frame.
    pub protocol_errors: u64,
}

/// A running socket server. Dropping it stops accepting and closes every connection.
pub struct BusServer {
    path: PathBuf,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for BusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusServer")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for BusServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn clear_stale(path: &Path) -> Result<(), BusError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).await.is_ok() {
                return Err(BusError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path)?;
            Ok(())
        }
        Ok(_) => Err(BusError::Io(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn set_group(path: &Path, group: &str) {
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => {
            if let Err(e) = nix::unistd::chown(path, None, Some(g.gid)) {
                tracing::warn!(path = %path.display(), group, error = %e, "cannot give the bus socket its group");
            }
        }
        Ok(None) => tracing::debug!(group, "group absent, bus socket keeps the process group"),
        Err(e) => tracing::warn!(group, error = %e, "group lookup failed"),
    }
}

impl BusServer {
    /// Binds the socket (replacing a stale one), sets its mode and group, and
    /// starts accepting connections.
    pub async fn bind(broker: Broker, cfg: ServerConfig) -> Result<BusServer, BusError> {
        if let Some(dir) = cfg.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        clear_stale(&cfg.path).await?;
        let socket = UnixSocket::new_stream()?;
        socket.bind(&cfg.path)?;
        let listener = socket.listen(cfg.backlog)?;
        std::fs::set_permissions(&cfg.path, std::fs::Permissions::from_mode(cfg.mode))?;
        if let Some(group) = &cfg.group {
            set_group(&cfg.path, group);
        }
        tracing::info!(path = %cfg.path.display(), "bus server listening");
        let cancel = CancellationToken::new();
        let counters = Arc::new(Counters::default());
        let path = cfg.path.clone();
        let task = tokio::spawn(accept_loop(
            listener,
            broker,
            Arc::new(cfg),
            cancel.clone(),
            counters.clone(),
        ));
        Ok(BusServer {
            path,
            cancel,
            task: Some(task),
            counters,
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Connection counters.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            open: self.counters.open.load(Ordering::Relaxed),
            protocol_errors: self.counters.protocol_errors.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting, says `BYE` to every client, and removes the socket file.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

async fn accept_loop(
    listener: UnixListener,
    broker: Broker,
    cfg: Arc<ServerConfig>,
    cancel: CancellationToken,
    counters: Arc<Counters>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    counters.accepted.fetch_add(1, Ordering::Relaxed);
                    conns.spawn(connection(
                        broker.clone(),
                        stream,
                        cfg.clone(),
                        cancel.child_token(),
                        counters.clone(),
                    ));
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "bus accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(2), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
    if let Err(e) = std::fs::remove_file(&cfg.path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %cfg.path.display(), error = %e, "cannot remove the bus socket");
    }
}

/// Why a connection was closed by the server.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("bad body: {0}")]
    Wire(#[from] WireError),
    #[error("bad topic or pattern: {0}")]
    Topic(#[from] TopicError),
    #[error("bad envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("clients may not send {0}")]
    Unexpected(Verb),
    #[error("more than {MAX_PATTERNS_PER_CONNECTION} patterns")]
    TooManyPatterns,
}

impl ConnError {
    fn is_protocol(&self) -> bool {
        !matches!(self, ConnError::Io(_))
    }
}

/// Frames the writer sends besides events: PING answers and BYE.
#[derive(Default)]
struct Control {
    frames: Mutex<BytesMut>,
    bye: AtomicBool,
    notify: Notify,
}

impl Control {
    fn push(&self, verb: Verb, arg: Option<&[u8]>) {
        frame::put_empty(&mut self.frames.lock(), verb, arg);
        self.notify.notify_one();
    }
}

/// The part of a connection that exists once the client has said who it is.
struct Session {
    client: LocalClient,
    feed: Arc<Mutex<Feed>>,
    control: Arc<Control>,
    writer: JoinHandle<io::Result<()>>,
}

impl Session {
    fn start(broker: &Broker, name: &str, wr: OwnedWriteHalf, cfg: &ServerConfig) -> Session {
        let client = broker.client(name);
        let capacity = cfg.queue_capacity.unwrap_or(broker.config().queue_capacity);
        let feed = Arc::new(Mutex::new(client.feed_with_capacity(capacity)));
        let control = Arc::new(Control::default());
        let writer = tokio::spawn(write_loop(
            wr,
            feed.clone(),
            control.clone(),
            cfg.write_batch,
        ));
        Session {
            client,
            feed,
            control,
            writer,
        }
    }

    /// Ends the connection politely: BYE after what is queued, within a second.
    async fn finish(self, bye: bool) {
        if bye {
            self.control.bye.store(true, Ordering::Relaxed);
            self.control.notify.notify_one();
        }
        self.feed.lock().close();
        let mut writer = self.writer;
        if tokio::time::timeout(Duration::from_secs(1), &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    }
}

async fn connection(
    broker: Broker,
    stream: UnixStream,
    cfg: Arc<ServerConfig>,
    cancel: CancellationToken,
    counters: Arc<Counters>,
) {
    counters.open.fetch_add(1, Ordering::Relaxed);
    let cred = stream.peer_cred().ok();
    let pid = cred.and_then(|c| c.pid());
    let uid = cred.map(|c| c.uid());
    let mut name = None;
    let result = serve(&broker, stream, &cfg, &cancel, &mut name).await;
    match result {
        Ok(()) => {
            tracing::debug!(peer.pid = ?pid, peer.uid = ?uid, client = ?name, "bus connection closed")
        }
        Err(e) if e.is_protocol() => {
            counters.protocol_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(peer.pid = ?pid, peer.uid = ?uid, client = ?name, error = %e,
                "closing bus connection after a malformed or oversized frame");
        }
        Err(e) => {
            tracing::debug!(peer.pid = ?pid, peer.uid = ?uid, client = ?name, error = %e, "bus connection failed")
        }
    }
    counters.open.fetch_sub(1, Ordering::Relaxed);
}

async fn serve(
    broker: &Broker,
    stream: UnixStream,
    cfg: &ServerConfig,
    cancel: &CancellationToken,
    name: &mut Option<String>,
) -> Result<(), ConnError> {
    let (mut rd, wr) = stream.into_split();
    let mut wr = Some(wr);
    let mut session: Option<Session> = None;
    let chunk = cfg.read_buffer.max(4096);
    let mut dec = FrameDecoder::with_capacity(chunk);
    let mut interner = Interner::default();
    let outcome = 'conn: loop {
        let buf = dec.buffer_mut();
        if buf.capacity() - buf.len() < chunk / 4 {
            buf.reserve(chunk);
        }
        let read = tokio::select! {
            _ = cancel.cancelled() => break 'conn Ok(true),
            r = rd.read_buf(dec.buffer_mut()) => r,
        };
        match read {
            Ok(0) => break 'conn dec.finish().map(|()| false).map_err(ConnError::from),
            Ok(_) => {}
            Err(e) => break 'conn Err(e.into()),
        }
        loop {
            let f = match dec.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => break 'conn Err(e.into()),
            };
            if session.is_none() {
                let n = match (f.verb(), f.arg()) {
                    (Verb::Hello, Some(a)) => a.to_owned(),
                    _ => "anonymous".to_owned(),
                };
                let Some(w) = wr.take() else {
                    break 'conn Ok(false);
                };
                session = Some(Session::start(broker, &n, w, cfg));
                *name = Some(n);
            }
            let Some(s) = session.as_ref() else {
                break 'conn Ok(false);
            };
            match handle(s, &f, &mut interner) {
                Ok(true) => {}
                Ok(false) => break 'conn Ok(false),
                Err(e) => break 'conn Err(e),
            }
        }
    };
    match (outcome, session) {
        (Ok(bye), Some(s)) => {
            s.finish(bye).await;
            Ok(())
        }
        (Ok(_), None) => Ok(()),
        (Err(e), Some(s)) => {
            // Drop the connection at once: no more bytes for a peer that broke the protocol.
            s.writer.abort();
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

/// Handles one frame; false when the client said BYE.
fn handle(s: &Session, f: &Frame, interner: &mut Interner) -> Result<bool, ConnError> {
    let arg = f.arg().unwrap_or_default();
    match f.verb() {
        Verb::Pub => {
            let topic = interner.topic(arg)?;
            let body = wire::decode_pub(f.body(), interner)?;
            let (id, ts) = new_id_and_ts();
            let env = Envelope::restore(id, topic, body.kind, ts, body.payload, body.traceparent)?;
            s.client.publish_envelope(Arc::new(env));
        }
        Verb::Sub => {
            let p = Pattern::parse(arg)?;
            let mut feed = s.feed.lock();
            if feed.patterns().count() >= MAX_PATTERNS_PER_CONNECTION {
                return Err(ConnError::TooManyPatterns);
            }
            feed.add(&p);
        }
        Verb::Unsub => {
            let p = Pattern::parse(arg)?;
            s.feed.lock().remove(&p);
        }
        Verb::Ping => s.control.push(Verb::Ping, f.arg_bytes()),
        Verb::Hello => {}
        Verb::Bye => return Ok(false),
        Verb::Evt => return Err(ConnError::Unexpected(Verb::Evt)),
    }
    Ok(true)
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    feed: Arc<Mutex<Feed>>,
    control: Arc<Control>,
    max_batch: usize,
) -> io::Result<()> {
    let mut batch: VecDeque<Arc<Envelope>> = VecDeque::new();
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut closed = false;
    // One registration kept across waits: the feed may spin (yield) many
    // times per wait, and a fresh `Notified` each time would lock the Notify.
    let mut nudged = std::pin::pin!(control.notify.notified());
    loop {
        {
            let mut c = control.frames.lock();
            out.extend_from_slice(&c);
            c.clear();
        }
        while out.len() < max_batch {
            if batch.is_empty() && !feed.lock().try_batch(&mut batch) {
                break;
            }
            while out.len() < max_batch {
                let Some(env) = batch.pop_front() else { break };
                out.extend_from_slice(env.evt_frame());
            }
        }
        if !out.is_empty() {
            wr.write_all(&out).await?;
            out.clear();
            continue;
        }
        if closed || control.bye.load(Ordering::Relaxed) {
            break;
        }
        tokio::select! {
            r = futures::future::poll_fn(|cx| feed.lock().poll_batch(cx, &mut batch)) => closed = !r,
            () = nudged.as_mut() => nudged.set(control.notify.notified()),
        }
    }
    if control.bye.load(Ordering::Relaxed) {
        let mut bye = BytesMut::new();
        frame::put_empty(&mut bye, Verb::Bye, None);
        wr.write_all(&bye).await?;
    }
    wr.shutdown().await
}
