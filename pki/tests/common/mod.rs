//! Shared fixtures: a deployment (CA, master identity, registry), agent enrollment and a
//! TLS handshake over real loopback TCP with rustls' blocking streams.
// Fixture helpers are not `#[test]` functions, so the test exemptions of clippy.toml miss them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use decnet_pki::{
    AgentIdentity, CertificateAuthority, HostName, MemoryRegistry, NodeKey, ServerIdentity,
};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};

pub const DAY: Duration = Duration::from_secs(86400);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Deployment {
    pub ca: CertificateAuthority,
    pub server: ServerIdentity,
    pub registry: Arc<MemoryRegistry>,
}

impl Deployment {
    pub fn new(name: &str) -> Self {
        let ca = CertificateAuthority::generate(name).unwrap();
        Self::with_ca(ca)
    }

    pub fn with_ca(ca: CertificateAuthority) -> Self {
        let server = ServerIdentity::generate(&ca, &["127.0.0.1".into()], DAY).unwrap();
        Self {
            ca,
            server,
            registry: Arc::new(MemoryRegistry::new()),
        }
    }

    /// Agent side generates the key and CSR; only the CSR reaches the CA.
    pub fn enroll(&self, name: &str) -> AgentIdentity {
        let host: HostName = name.parse().unwrap();
        let key = NodeKey::generate().unwrap();
        let csr = key.csr(&host).unwrap();
        let issued = self.ca.issue_from_csr(&csr, &host, DAY).unwrap();
        AgentIdentity::new(key, &issued.pem, self.ca.cert_pem()).unwrap()
    }

    /// Enrolls and pins the agent in the registry.
    pub fn register(&self, name: &str) -> AgentIdentity {
        let id = self.enroll(name);
        self.registry.allow(id.host(), id.fingerprint()).unwrap();
        id
    }
}

/// A failed handshake side: the rustls error when there is one, and the full text.
#[derive(Debug)]
pub struct Failure {
    pub tls: Option<rustls::Error>,
    pub text: String,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        let tls = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned();
        Self {
            tls,
            text: e.to_string(),
        }
    }
}

impl From<rustls::Error> for Failure {
    fn from(e: rustls::Error) -> Self {
        Self {
            text: e.to_string(),
            tls: Some(e),
        }
    }
}

#[derive(Debug)]
pub struct Side {
    pub peer_certs: Vec<CertificateDer<'static>>,
    pub alpn: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Outcome {
    pub server: Result<Side, Failure>,
    pub client: Result<Side, Failure>,
}

impl Outcome {
    pub fn both_ok(&self) -> bool {
        self.server.is_ok() && self.client.is_ok()
    }
}

/// The server runs on the calling thread (so a test's tracing subscriber sees its logs),
/// the client on another; they exchange "ping!" / "pong!" once the handshake is done.
pub fn handshake(server: ServerConfig, client: ClientConfig, server_name: &str) -> Outcome {
    exchange(server, client, server_name, |_| Ok(()), |_| Ok(()))
}

/// Like [`handshake`], then runs an application exchange on each side.
pub fn exchange(
    server: ServerConfig,
    client: ClientConfig,
    server_name: &str,
    server_app: impl FnOnce(&mut StreamOwned<ServerConnection, TcpStream>) -> io::Result<()>,
    client_app: impl FnOnce(&mut StreamOwned<ClientConnection, TcpStream>) -> io::Result<()>
    + Send
    + 'static,
) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let client_cfg = Arc::new(client);
    let client_thread = thread::spawn(move || -> Result<Side, Failure> {
        let sock = TcpStream::connect(addr)?;
        sock.set_read_timeout(Some(IO_TIMEOUT))?;
        sock.set_write_timeout(Some(IO_TIMEOUT))?;
        let conn = ClientConnection::new(client_cfg, name)?;
        let mut tls = StreamOwned::new(conn, sock);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        tls.write_all(b"ping!")?;
        tls.flush()?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf)?;
        assert_eq!(&buf, b"pong!");
        client_app(&mut tls)?;
        Ok(Side {
            peer_certs: tls.conn.peer_certificates().unwrap_or_default().to_vec(),
            alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
        })
    });

    let server_result = (|| -> Result<Side, Failure> {
        let (sock, _) = listener.accept()?;
        sock.set_read_timeout(Some(IO_TIMEOUT))?;
        sock.set_write_timeout(Some(IO_TIMEOUT))?;
        let conn = ServerConnection::new(Arc::new(server))?;
        let mut tls = StreamOwned::new(conn, sock);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf)?;
        assert_eq!(&buf, b"ping!");
        tls.write_all(b"pong!")?;
        tls.flush()?;
        server_app(&mut tls)?;
        Ok(Side {
            peer_certs: tls.conn.peer_certificates().unwrap_or_default().to_vec(),
            alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
        })
    })();
    let client_result = client_thread.join().unwrap();
    Outcome {
        server: server_result,
        client: client_result,
    }
}

/// Collects everything a tracing subscriber writes.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Runs `f` with a subscriber writing into this capture (on the current thread only).
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        let me = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || me.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f)
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
