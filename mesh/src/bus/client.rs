//! The UNIX-socket client: same publish/subscribe API as the in-process bus,
//! with automatic reconnection (jittered exponential backoff) and
//! re-subscription of every active pattern.
//!
//! Delivery stays at-most-once: publishes made while disconnected, and frames
//! not yet written when a connection drops, are discarded (and counted), never
//! replayed later. Received events are dispatched through a private local
//! broker, so each local subscription has its own bounded drop-oldest queue.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::BusError;
use super::broker::{Broker, BrokerConfig, ClientStats, DEFAULT_QUEUE_CAPACITY, LocalClient};
use super::feed::Subscription;
use super::frame::{self, FrameDecoder, FrameError, Verb};
use super::wire::{self, Interner, WireError};
use crate::envelope::{EnvelopeError, EventKind, MAX_KIND_LEN, MAX_PAYLOAD_LEN, Payload};
use crate::topic::{Pattern, Topic};

/// Socket client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Path of the server socket.
    pub path: PathBuf,
    /// Client name sent in `HELLO` (spaces and control characters become `_`).
    pub name: String,
    /// Capacity of each local subscription queue.
    pub queue_capacity: usize,
    /// Bytes of unsent frames beyond which publishing waits (`publish`) or drops (`try_publish`).
    pub send_buffer: usize,
    /// Size of each socket read.
    pub read_buffer: usize,
    /// First reconnection delay.
    pub reconnect_min: Duration,
    /// Longest reconnection delay.
    pub reconnect_max: Duration,
}

impl ClientConfig {
    /// Defaults for a client of the server at `path`.
    pub fn new(path: impl Into<PathBuf>, name: &str) -> Self {
        ClientConfig {
            path: path.into(),
            name: name.to_owned(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            send_buffer: 4 * 1024 * 1024,
            read_buffer: 64 * 1024,
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(5),
        }
    }
}

struct ConnState {
    connected: bool,
    out: BytesMut,
    /// Active patterns with the number of local subscriptions using each.
    patterns: HashMap<Pattern, usize>,
}

struct Shared {
    cfg: ClientConfig,
    hello: String,
    inbound: LocalClient,
    subscriber: LocalClient,
    state: Mutex<ConnState>,
    wake_writer: Notify,
    space: Notify,
    connected: watch::Sender<bool>,
    pings: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    next_ping: AtomicU64,
    published: AtomicU64,
    publish_dropped: AtomicU64,
    reconnects: AtomicU64,
}

struct Handle {
    shared: Arc<Shared>,
    cancel: CancellationToken,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A bus client over the UNIX socket. Cheap to clone; the connection closes
/// when the last clone is dropped (after writing what is buffered).
#[derive(Clone)]
pub struct SocketClient {
    handle: Arc<Handle>,
}

impl fmt::Debug for SocketClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.handle.shared;
        f.debug_struct("SocketClient")
            .field("path", &s.cfg.path)
            .field("name", &s.cfg.name)
            .field("connected", &*s.connected.borrow())
            .finish()
    }
}

fn hello_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(256)
        .collect();
    if cleaned.is_empty() {
        "anonymous".to_owned()
    } else {
        cleaned
    }
}

fn check_publish(kind: &str, payload: &Payload) -> Result<(), EnvelopeError> {
    if kind.is_empty() || kind.len() > MAX_KIND_LEN {
        return Err(EnvelopeError::BadKind(kind.len()));
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(EnvelopeError::PayloadTooLarge(payload.len()));
    }
    Ok(())
}

impl SocketClient {
    /// Starts the client; it connects in the background and keeps reconnecting.
    /// Must be called inside a tokio runtime.
    pub fn connect(cfg: ClientConfig) -> SocketClient {
        let local = Broker::new(BrokerConfig {
            queue_capacity: cfg.queue_capacity,
        });
        let (connected, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            hello: hello_name(&cfg.name),
            inbound: local.client("socket-inbound"),
            subscriber: local.client(cfg.name.as_str()),
            cfg,
            state: Mutex::new(ConnState {
                connected: false,
                out: BytesMut::new(),
                patterns: HashMap::new(),
            }),
            wake_writer: Notify::new(),
            space: Notify::new(),
            connected,
            pings: Mutex::new(HashMap::new()),
            next_ping: AtomicU64::new(1),
            published: AtomicU64::new(0),
            publish_dropped: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        });
        let cancel = CancellationToken::new();
        tokio::spawn(run(shared.clone(), cancel.clone()));
        SocketClient {
            handle: Arc::new(Handle { shared, cancel }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// The client name.
    pub fn name(&self) -> &str {
        &self.shared().cfg.name
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        *self.shared().connected.borrow()
    }

    /// Waits until a connection is up (subscriptions re-sent).
    pub async fn connected(&self) {
        let mut rx = self.shared().connected.subscribe();
        // Err only if the sender is gone, which outlives every handle.
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Publishes, waiting while the send buffer is full and connected.
    pub async fn publish_payload(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: Payload,
    ) -> Result<(), BusError> {
        let kind = kind.into();
        check_publish(kind.as_str(), &payload)?;
        let tp = crate::trace::current_traceparent();
        let s = self.shared();
        loop {
            if s.enqueue(topic, &kind, &payload, tp.as_deref(), false) {
                return Ok(());
            }
            // Full: register for the writer's signal, then check again so a
            // drain between the two checks is not missed.
            let space = s.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            if s.enqueue(topic, &kind, &payload, tp.as_deref(), false) {
                return Ok(());
            }
            space.await;
        }
    }

    /// Encodes `payload` as CBOR and publishes it; see [`Self::publish_payload`].
    pub async fn publish<T: serde::Serialize + ?Sized>(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: &T,
    ) -> Result<(), BusError> {
        self.publish_payload(topic, kind, Payload::encode(payload)?)
            .await
    }

    /// Publishes without waiting; drops (and counts) the event when the send
    /// buffer is full or the client is disconnected.
    pub fn try_publish_payload(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: Payload,
    ) -> Result<(), BusError> {
        let kind = kind.into();
        check_publish(kind.as_str(), &payload)?;
        let tp = crate::trace::current_traceparent();
        self.shared()
            .enqueue(topic, &kind, &payload, tp.as_deref(), true);
        Ok(())
    }

    /// Subscribes to `pattern`. The server learns of it at once when
    /// connected, and again after every reconnection.
    pub fn subscribe(&self, pattern: &Pattern) -> Subscription {
        let s = self.shared();
        let mut feed = s.subscriber.feed();
        feed.add(pattern);
        {
            let mut st = s.state.lock();
            let count = st.patterns.entry(pattern.clone()).or_insert(0);
            *count += 1;
            if *count == 1 && st.connected {
                s.push_control(&mut st, Verb::Sub, pattern.as_str());
            }
        }
        let weak = Arc::downgrade(s);
        let p = pattern.clone();
        let on_drop = move || {
            if let Some(s) = weak.upgrade() {
                s.unsubscribe(&p);
            }
        };
        Subscription::new(pattern.clone(), feed, Some(Box::new(on_drop)))
    }

    /// Waits until the server has handled every frame sent before this call.
    pub async fn flush(&self) -> Result<(), BusError> {
        let s = self.shared();
        let (tx, rx) = oneshot::channel();
        let n = s.next_ping.fetch_add(1, Ordering::Relaxed);
        {
            let mut st = s.state.lock();
            if !st.connected {
                return Err(BusError::NotConnected);
            }
            s.pings.lock().insert(n, tx);
            s.push_control(&mut st, Verb::Ping, &n.to_string());
        }
        rx.await.map_err(|_| BusError::Closed)
    }

    /// This client's counters.
    pub fn stats(&self) -> ClientStats {
        let s = self.shared();
        ClientStats {
            name: s.cfg.name.clone(),
            published: s.published.load(Ordering::Relaxed),
            dropped: s.subscriber.stats().dropped,
            publish_dropped: s.publish_dropped.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    /// Appends a control frame (never dropped) and wakes the writer if needed.
    fn push_control(&self, st: &mut ConnState, verb: Verb, arg: &str) {
        let was_empty = st.out.is_empty();
        frame::put_empty(&mut st.out, verb, Some(arg.as_bytes()));
        if was_empty {
            self.wake_writer.notify_one();
        }
    }

    /// Queues a `PUB`; false if the caller should wait for buffer space.
    fn enqueue(
        &self,
        topic: &Topic,
        kind: &EventKind,
        payload: &Payload,
        tp: Option<&str>,
        never_wait: bool,
    ) -> bool {
        let mut st = self.state.lock();
        if !st.connected {
            self.publish_dropped.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if st.out.len() >= self.cfg.send_buffer {
            if never_wait {
                self.publish_dropped.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            return false;
        }
        let was_empty = st.out.is_empty();
        wire::encode_pub(&mut st.out, topic, kind.as_str(), payload, tp);
        drop(st);
        self.published.fetch_add(1, Ordering::Relaxed);
        if was_empty {
            self.wake_writer.notify_one();
        }
        true
    }

    fn unsubscribe(&self, pattern: &Pattern) {
        let mut st = self.state.lock();
        let Some(count) = st.patterns.get_mut(pattern) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            st.patterns.remove(pattern);
            if st.connected {
                self.push_control(&mut st, Verb::Unsub, pattern.as_str());
            }
        }
    }

    /// A new connection: HELLO and every active pattern go out first.
    fn on_connect(&self) {
        {
            let mut st = self.state.lock();
            st.out.clear();
            frame::put_empty(&mut st.out, Verb::Hello, Some(self.hello.as_bytes()));
            let patterns: Vec<Pattern> = st.patterns.keys().cloned().collect();
            for p in patterns {
                frame::put_empty(&mut st.out, Verb::Sub, Some(p.as_str().as_bytes()));
            }
            st.connected = true;
        }
        self.wake_writer.notify_one();
        self.connected.send_replace(true);
    }

    fn on_disconnect(&self) {
        {
            let mut st = self.state.lock();
            st.connected = false;
            st.out.clear();
            self.pings.lock().clear();
        }
        self.connected.send_replace(false);
        // Publishers waiting for space now drop instead of waiting.
        self.space.notify_waiters();
    }
}

fn jitter(d: Duration) -> Duration {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms + ms / 2))
}

async fn run(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut delay = shared.cfg.reconnect_min;
    let mut connected_before = false;
    loop {
        let attempt = tokio::select! {
            _ = cancel.cancelled() => break,
            r = UnixStream::connect(&shared.cfg.path) => r,
        };
        match attempt {
            Ok(stream) => {
                if connected_before {
                    shared.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                connected_before = true;
                delay = shared.cfg.reconnect_min;
                shared.on_connect();
                let end = session(&shared, stream, &cancel).await;
                shared.on_disconnect();
                match end {
                    Ok(()) => {
                        tracing::debug!(path = %shared.cfg.path.display(), "bus connection closed")
                    }
                    Err(e) => {
                        tracing::info!(path = %shared.cfg.path.display(), error = %e, "bus connection lost")
                    }
                }
            }
            Err(e) => {
                tracing::debug!(path = %shared.cfg.path.display(), error = %e, "bus connect failed");
            }
        }
        if cancel.is_cancelled() {
            break;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(jitter(delay)) => {}
        }
        delay = (delay * 2).min(shared.cfg.reconnect_max);
    }
    shared.on_disconnect();
    shared.subscriber.broker().close_all();
}

/// Why a session ended abnormally.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("server closed the connection")]
    Eof,
    #[error("bad frame from server: {0}")]
    Frame(#[from] FrameError),
    #[error("bad event from server: {0}")]
    Wire(#[from] WireError),
    #[error("unexpected {0} frame from server")]
    Unexpected(Verb),
}

async fn session(
    shared: &Arc<Shared>,
    stream: UnixStream,
    cancel: &CancellationToken,
) -> Result<(), SessionError> {
    let (rd, wr) = stream.into_split();
    tokio::select! {
        r = read_loop(shared, rd) => r,
        r = write_loop(shared, wr, cancel) => r,
    }
}

async fn write_loop(
    shared: &Shared,
    mut wr: OwnedWriteHalf,
    cancel: &CancellationToken,
) -> Result<(), SessionError> {
    let mut spare = BytesMut::new();
    loop {
        std::mem::swap(&mut shared.state.lock().out, &mut spare);
        if spare.is_empty() {
            tokio::select! {
                _ = shared.wake_writer.notified() => continue,
                _ = cancel.cancelled() => break,
            }
        }
        wr.write_all(&spare).await?;
        spare.clear();
        shared.space.notify_waiters();
    }
    // Last handle dropped: write what is buffered and say goodbye, briefly.
    let mut last = std::mem::take(&mut shared.state.lock().out);
    frame::put_empty(&mut last, Verb::Bye, None);
    let _ = tokio::time::timeout(Duration::from_secs(1), wr.write_all(&last)).await;
    Ok(())
}

async fn read_loop(shared: &Shared, mut rd: OwnedReadHalf) -> Result<(), SessionError> {
    let chunk = shared.cfg.read_buffer.max(4096);
    let mut dec = FrameDecoder::with_capacity(chunk);
    let mut interner = Interner::default();
    loop {
        let buf = dec.buffer_mut();
        if buf.capacity() - buf.len() < chunk / 4 {
            buf.reserve(chunk);
        }
        if rd.read_buf(buf).await? == 0 {
            dec.finish()?;
            return Err(SessionError::Eof);
        }
        while let Some(f) = dec.next_frame()? {
            match f.verb() {
                Verb::Evt => {
                    let env = wire::decode_envelope_with(f.body(), &mut interner)?;
                    shared.inbound.publish_envelope(Arc::new(env));
                }
                Verb::Ping => {
                    let n = f.arg().and_then(|a| a.parse::<u64>().ok());
                    if let Some(tx) = n.and_then(|n| shared.pings.lock().remove(&n)) {
                        let _ = tx.send(());
                    }
                }
                Verb::Bye => return Ok(()),
                other => return Err(SessionError::Unexpected(other)),
            }
        }
    }
}
