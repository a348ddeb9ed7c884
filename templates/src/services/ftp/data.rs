//! FTP data connections: the one part of FTP that needs sockets of its own.
//!
//! The control-connection state machine ([`super::session::FtpSession`]) stays
//! SANS-IO: it describes each step as a [`DataRequest`] and hands it to a
//! [`DataPlane`], which turns it into a [`SideTask`] the runtime polls beside
//! the control socket (see [`crate::session::Session::take_side_task`]). The
//! result comes back as a [`DataResult`] through `side_done`. [`TokioPlane`]
//! is the real plane; tests and fuzzing plug in one that answers at once.
//!
//! Safety: passive listeners accept only the control connection's peer
//! address, active (PORT) connections go only to that peer on an
//! unprivileged port (the session checks, as vsftpd's `port_promiscuous=NO`),
//! every wait is bounded, and uploads stream to the artifact store capped at
//! its size limit.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore as _;
use rand::SeedableRng as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::fs::Content;
use crate::artifacts::{ArtifactStore, Stored};
use crate::session::{SideOutput, SideTask};

/// An opaque socket (listener or stream) owned by the plane, held by the session.
pub struct DataHandle(pub Box<dyn Any + Send>);

impl std::fmt::Debug for DataHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataHandle(..)")
    }
}

/// How the data connection is made.
#[derive(Debug)]
pub enum DataHow {
    /// Accept on a passive listener (PASV/EPSV).
    Passive(DataHandle),
    /// Connect to the client (PORT/EPRT).
    Active(SocketAddr),
}

/// What a download sends.
#[derive(Debug, Clone)]
pub enum Source {
    /// These bytes.
    Bytes(Vec<u8>),
    /// A generated file of `len` bytes.
    Generated {
        /// Its content description.
        content: Content,
        /// Size.
        len: u64,
        /// Skip this many bytes first (REST).
        offset: u64,
    },
}

/// One step of a transfer.
#[derive(Debug)]
pub enum DataRequest {
    /// Open a passive listener on `ip` that only `peer` may connect to.
    Listen {
        /// Local address of the control connection.
        ip: IpAddr,
        /// The client.
        peer: IpAddr,
    },
    /// Get the data connection.
    Open(DataHow, IpAddr),
    /// Send then close.
    Send(DataHandle, Source),
    /// Receive until EOF into the artifact store.
    Receive(DataHandle),
}

/// The outcome of a [`DataRequest`].
#[derive(Debug)]
pub enum DataResult {
    /// Listening on `port`.
    Listening(u16, DataHandle),
    /// Could not listen.
    ListenFailed,
    /// Connected.
    Opened(DataHandle),
    /// No connection (timeout, refused, wrong peer).
    OpenFailed,
    /// Sent `n` bytes.
    Sent(u64),
    /// The transfer broke after `n` bytes.
    SendFailed(u64),
    /// Stored an upload.
    Stored(Stored),
    /// The upload broke or could not be stored (`received` bytes).
    StoreFailed(u64),
}

/// Turns requests into side tasks.
pub trait DataPlane: Send + Sync + std::fmt::Debug {
    /// The task doing `req`; its output is a boxed [`DataResult`].
    fn run(&self, req: DataRequest) -> SideTask;
}

/// Wraps a result as side-task output.
pub fn output(r: DataResult) -> SideOutput {
    Box::new(r)
}

/// The real data plane.
#[derive(Debug, Clone)]
pub struct TokioPlane {
    /// Where uploads go.
    pub store: ArtifactStore,
    /// vsftpd `accept_timeout` / `connect_timeout`.
    pub connect_timeout: Duration,
    /// vsftpd `data_connection_timeout`: no progress for this long ends a transfer.
    pub stall_timeout: Duration,
}

impl TokioPlane {
    /// A plane storing uploads in `store`.
    pub fn new(store: ArtifactStore) -> Self {
        TokioPlane {
            store,
            connect_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(300),
        }
    }
}

/// A passive listener and the only address allowed to use it.
struct Passive {
    listener: TcpListener,
    peer: IpAddr,
}

fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    norm(a) == norm(b)
}

impl TokioPlane {
    async fn listen(ip: IpAddr, peer: IpAddr) -> DataResult {
        match TcpListener::bind(SocketAddr::new(ip, 0)).await {
            Ok(listener) => match listener.local_addr() {
                Ok(a) => DataResult::Listening(
                    a.port(),
                    DataHandle(Box::new(Passive { listener, peer })),
                ),
                Err(_) => DataResult::ListenFailed,
            },
            Err(_) => DataResult::ListenFailed,
        }
    }

    async fn open(&self, how: DataHow, peer: IpAddr) -> DataResult {
        let wait = self.connect_timeout;
        let stream = match how {
            DataHow::Active(addr) => {
                if !same_host(addr.ip(), peer) || addr.port() < 1024 {
                    return DataResult::OpenFailed;
                }
                match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
                    Ok(Ok(s)) => s,
                    _ => return DataResult::OpenFailed,
                }
            }
            DataHow::Passive(handle) => {
                let Ok(p) = handle.0.downcast::<Passive>() else {
                    return DataResult::OpenFailed;
                };
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    match tokio::time::timeout_at(deadline, p.listener.accept()).await {
                        Ok(Ok((s, from))) if same_host(from.ip(), p.peer) => break s,
                        // vsftpd's pasv_promiscuous=NO: strangers are dropped.
                        Ok(Ok(_)) => continue,
                        _ => return DataResult::OpenFailed,
                    }
                }
            }
        };
        let _ = stream.set_nodelay(true);
        DataResult::Opened(DataHandle(Box::new(stream)))
    }

    async fn send(&self, handle: DataHandle, source: Source) -> DataResult {
        let Ok(mut stream) = handle.0.downcast::<TcpStream>() else {
            return DataResult::SendFailed(0);
        };
        let mut sent = 0u64;
        let result = match source {
            Source::Bytes(b) => {
                let r = tokio::time::timeout(self.stall_timeout, stream.write_all(&b)).await;
                if matches!(r, Ok(Ok(()))) {
                    sent = b.len() as u64;
                    true
                } else {
                    false
                }
            }
            Source::Generated {
                content,
                len,
                offset,
            } => {
                let mut ok = true;
                let mut pos = 0u64;
                let (magic, mut rng) = match &content {
                    Content::Text(t) => (
                        t.as_bytes().to_vec(),
                        rand_chacha::ChaCha20Rng::from_seed([0; 32]),
                    ),
                    Content::Random { magic, key } => {
                        (magic.clone(), rand_chacha::ChaCha20Rng::from_seed(*key))
                    }
                };
                let mut chunk = vec![0u8; 64 * 1024];
                while pos < len {
                    let n =
                        usize::try_from((len - pos).min(chunk.len() as u64)).unwrap_or(chunk.len());
                    rng.fill_bytes(&mut chunk[..n]);
                    for (i, b) in chunk[..n].iter_mut().enumerate() {
                        if let Some(m) = usize::try_from(pos).ok().and_then(|p| magic.get(p + i)) {
                            *b = *m;
                        }
                    }
                    let start = offset.saturating_sub(pos).min(n as u64) as usize;
                    pos += n as u64;
                    if start >= n {
                        continue;
                    }
                    match tokio::time::timeout(
                        self.stall_timeout,
                        stream.write_all(&chunk[start..n]),
                    )
                    .await
                    {
                        Ok(Ok(())) => sent += (n - start) as u64,
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
                ok
            }
        };
        let _ = stream.shutdown().await;
        if result {
            DataResult::Sent(sent)
        } else {
            DataResult::SendFailed(sent)
        }
    }

    async fn receive(&self, handle: DataHandle) -> DataResult {
        let Ok(mut stream) = handle.0.downcast::<TcpStream>() else {
            return DataResult::StoreFailed(0);
        };
        let store = self.store.clone();
        let writer = match tokio::task::spawn_blocking(move || store.writer(None)).await {
            Ok(Ok(w)) => w,
            _ => return DataResult::StoreFailed(0),
        };
        let mut writer = Some(writer);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match tokio::time::timeout(self.stall_timeout, stream.read(&mut buf)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => n,
                _ => {
                    let received = writer.as_ref().map_or(0, |w| w.received());
                    return DataResult::StoreFailed(received);
                }
            };
            let chunk = buf[..n].to_vec();
            let Some(mut w) = writer.take() else {
                return DataResult::StoreFailed(0);
            };
            // Disk writes stay off the async workers.
            match tokio::task::spawn_blocking(move || w.write(&chunk).map(|()| w)).await {
                Ok(Ok(w)) => writer = Some(w),
                _ => return DataResult::StoreFailed(0),
            }
        }
        let Some(w) = writer else {
            return DataResult::StoreFailed(0);
        };
        let received = w.received();
        match tokio::task::spawn_blocking(move || w.finish()).await {
            Ok(Ok(stored)) => DataResult::Stored(stored),
            _ => DataResult::StoreFailed(received),
        }
    }
}

impl DataPlane for TokioPlane {
    fn run(&self, req: DataRequest) -> SideTask {
        let plane = Arc::new(self.clone());
        Box::pin(async move {
            let r = match req {
                DataRequest::Listen { ip, peer } => Self::listen(ip, peer).await,
                DataRequest::Open(how, peer) => plane.open(how, peer).await,
                DataRequest::Send(h, src) => plane.send(h, src).await,
                DataRequest::Receive(h) => plane.receive(h).await,
            };
            output(r)
        })
    }
}

/// A plane that answers every request at once without sockets, for tests
/// and fuzzing: listeners on port 40000, uploads "stored" with the bytes of `upload`.
#[derive(Debug, Clone, Default)]
pub struct InstantPlane {
    /// What every upload contains.
    pub upload: Vec<u8>,
    /// Fail every connection.
    pub refuse: bool,
}

impl DataPlane for InstantPlane {
    fn run(&self, req: DataRequest) -> SideTask {
        let r = match (req, self.refuse) {
            (DataRequest::Listen { .. }, _) => {
                DataResult::Listening(40000, DataHandle(Box::new(())))
            }
            (DataRequest::Open(..), true) => DataResult::OpenFailed,
            (DataRequest::Open(..), false) => DataResult::Opened(DataHandle(Box::new(()))),
            (DataRequest::Send(_, Source::Bytes(b)), _) => DataResult::Sent(b.len() as u64),
            (DataRequest::Send(_, Source::Generated { len, offset, .. }), _) => {
                DataResult::Sent(len.saturating_sub(offset))
            }
            (DataRequest::Receive(_), _) => {
                use sha2::Digest as _;
                DataResult::Stored(Stored {
                    sha256: hex::encode(sha2::Sha256::digest(&self.upload)),
                    size: self.upload.len() as u64,
                    received: self.upload.len() as u64,
                    truncated: false,
                    path: std::path::PathBuf::from("/nonexistent"),
                })
            }
        };
        Box::pin(std::future::ready(output(r)))
    }
}
