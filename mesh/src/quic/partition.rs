//! A UDP relay that can black-hole everything, to simulate a network partition on loopback
//! (partition tests and `decnet-bench mesh`). Not used in production.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// Forwards datagrams between clients and one upstream address; [`PartitionRelay::cut`]
/// drops everything in both directions until [`PartitionRelay::heal`].
#[derive(Debug)]
pub struct PartitionRelay {
    addr: SocketAddr,
    blocked: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

const MAX_DATAGRAM: usize = 65_535;

impl PartitionRelay {
    /// Listens on an ephemeral port of `bind_ip` and relays to `upstream`.
    pub async fn start(bind_ip: std::net::IpAddr, upstream: SocketAddr) -> std::io::Result<Self> {
        let front = Arc::new(UdpSocket::bind((bind_ip, 0)).await?);
        let addr = front.local_addr()?;
        let blocked = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(front_loop(
            front,
            upstream,
            blocked.clone(),
            dropped.clone(),
        ));
        Ok(PartitionRelay {
            addr,
            blocked,
            dropped,
            task,
        })
    }

    /// Where clients send instead of the upstream.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts dropping every datagram.
    pub fn cut(&self) {
        self.blocked.store(true, Ordering::SeqCst);
    }

    /// Stops dropping.
    pub fn heal(&self) {
        self.blocked.store(false, Ordering::SeqCst);
    }

    /// Datagrams dropped while cut.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for PartitionRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn front_loop(
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    blocked: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    let mut backs: HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((n, client)) = front.recv_from(&mut buf).await else {
            break;
        };
        if blocked.load(Ordering::SeqCst) {
            dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let back = match backs.get(&client) {
            Some((b, _)) => b.clone(),
            None => {
                let bind: SocketAddr = if upstream.is_ipv4() {
                    ([127, 0, 0, 1], 0).into()
                } else {
                    (std::net::Ipv6Addr::LOCALHOST, 0).into()
                };
                let Ok(b) = UdpSocket::bind(bind).await else {
                    continue;
                };
                if b.connect(upstream).await.is_err() {
                    continue;
                }
                let b = Arc::new(b);
                let task = tokio::spawn(back_loop(
                    b.clone(),
                    front.clone(),
                    client,
                    blocked.clone(),
                    dropped.clone(),
                ));
                backs.insert(client, (b.clone(), task));
                b
            }
        };
        // A full socket buffer drops the datagram, as a real network would.
        let _ = back.send(&buf[..n]).await;
    }
    for (_, (_, task)) in backs {
        task.abort();
    }
}

async fn back_loop(
    back: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    blocked: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while let Ok(n) = back.recv(&mut buf).await {
        if blocked.load(Ordering::SeqCst) {
            dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let _ = front.send_to(&buf[..n], client).await;
    }
}
