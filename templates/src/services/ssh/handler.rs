//! One SSH connection: the identification exchange, russh's session with
//! our [`Handler`] (authentication policy, channel requests), and the
//! bookkeeping that makes timeouts and shutdown close it cleanly.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use decnet_event::Outcome;
use parking_lot::Mutex;
use russh::server::{Auth, Handle, Msg, PublicKeyOffer, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, Disconnect, Pty as PtyMode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use super::Shared;
use super::auth::{pam_failure_delay, success_delay, user_delay};
use super::channel::{self, ChanCtx, ChanIn, Kind};
use super::hostkeys::fingerprint;
use super::ident::{self, Exchange, Replay};
use crate::server::stream::{Events, StreamConn};
use crate::session::disconnect_reasons as why;
use crate::session::event_types::{AUTH, PROTOCOL_ERROR};
use crate::session::{ConnInfo, Draft};
use crate::shell::Pty;
use crate::shell::vfs::Vfs;

/// Disconnect reason when `LoginGraceTime` ran out before authentication.
pub const LOGIN_GRACE_TIMEOUT: &str = "login_grace_timeout";
/// Event with the client's identification string.
pub const CLIENT_VERSION: &str = "client_version";
/// Event for refused port-forwarding requests.
pub const FORWARD_REQUEST: &str = "forward_request";

/// OpenSSH's `MaxSessions`.
const MAX_SESSIONS: usize = 10;
/// Messages queued for a channel task.
const CHANNEL_QUEUE: usize = 1024;
/// Environment variables kept per channel.
const MAX_ENV: usize = 64;
/// How long channel tasks may take to finish their events after the transport ended.
const CHANNEL_DRAIN: Duration = Duration::from_secs(2);

/// State a connection's handler and its channel tasks share.
#[derive(Debug, Default)]
pub(super) struct ConnState {
    authed: AtomicBool,
    server_closed: AtomicBool,
    handle: OnceLock<Handle>,
    pub(super) tasks: TaskTracker,
    /// The file tree's overlay, handed from channel to channel.
    pub(super) vfs: Mutex<Option<Vfs>>,
}

/// The stream given to russh: replays the identification we already read,
/// and fails every read and write once `kill` is cancelled, which is how a
/// timed-out or abandoned connection is torn down without a DISCONNECT.
struct Killable<S> {
    inner: Replay<S>,
    kill: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<S> Killable<S> {
    fn killed(&mut self, cx: &mut Context<'_>) -> bool {
        self.kill.as_mut().poll(cx).is_ready()
    }
}

use std::future::Future as _;

impl<S: AsyncRead + Unpin> AsyncRead for Killable<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed(cx) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Killable<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed(cx) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Cancels the transport when the connection future is dropped (timeouts, shutdown).
struct KillOnDrop(CancellationToken);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Serves one SSH connection; resolves to the disconnect reason.
pub(super) async fn serve(shared: Arc<Shared>, conn: StreamConn) -> &'static str {
    let StreamConn {
        mut io,
        info,
        events,
        ..
    } = conn;
    let exchange = tokio::time::timeout(
        shared.login_grace,
        ident::exchange(&mut io, &shared.version),
    )
    .await;
    let consumed = match exchange {
        Err(_) => return LOGIN_GRACE_TIMEOUT,
        Ok(Exchange::Closed) => return why::CLIENT_CLOSED,
        Ok(Exchange::Rejected(client)) => {
            events.emit(
                Draft::new(PROTOCOL_ERROR)
                    .field("error", "invalid SSH identification string")
                    .field("client_version", client),
            );
            return why::SERVER_CLOSED;
        }
        Ok(Exchange::Ok { client, consumed }) => {
            events.emit(Draft::new(CLIENT_VERSION).field("version", client));
            consumed
        }
    };
    let kill = CancellationToken::new();
    let _kill_on_drop = KillOnDrop(kill.clone());
    let skip = "SSH-2.0-\r\n".len() + shared.version.len();
    let stream = Killable {
        inner: Replay::new(io, consumed, skip),
        kill: Box::pin(kill.clone().cancelled_owned()),
    };
    let state = Arc::new(ConnState::default());
    let handler = Handler {
        shared: Arc::clone(&shared),
        events: events.clone(),
        info: info.clone(),
        state: Arc::clone(&state),
        failures: 0,
        user: String::new(),
        chans: HashMap::new(),
        shells: 0,
    };
    let running = match russh::server::run_stream(Arc::clone(&shared.config), stream, handler).await
    {
        Ok(r) => r,
        Err(e) => {
            events.emit(Draft::new(PROTOCOL_ERROR).field("error", e.to_string()));
            return why::IO_ERROR;
        }
    };
    let _ = state.handle.set(running.handle());
    let grace = {
        let state = Arc::clone(&state);
        let wait = shared.login_grace;
        async move {
            tokio::time::sleep(wait).await;
            if state.authed.load(Ordering::Relaxed) {
                std::future::pending::<()>().await;
            }
        }
    };
    let result = tokio::select! {
        r = running => Some(r),
        _ = grace => None,
    };
    kill.cancel();
    state.tasks.close();
    let _ = tokio::time::timeout(CHANNEL_DRAIN, state.tasks.wait()).await;
    match result {
        None => LOGIN_GRACE_TIMEOUT,
        Some(Ok(())) if state.server_closed.load(Ordering::Relaxed) => why::SERVER_CLOSED,
        Some(Ok(())) => why::CLIENT_CLOSED,
        Some(Err(russh::Error::InactivityTimeout)) => why::IDLE_TIMEOUT,
        Some(Err(russh::Error::Disconnect | russh::Error::HUP | russh::Error::IO(_))) => {
            why::CLIENT_CLOSED
        }
        Some(Err(e)) => {
            events.emit(Draft::new(PROTOCOL_ERROR).field("error", e.to_string()));
            why::SERVER_CLOSED
        }
    }
}

/// OpenSSH keeps offering every method after a failure ("publickey,password").
fn reject() -> Auth {
    Auth::Reject {
        proceed_with_methods: Some(russh::MethodSet::from(
            &[russh::MethodKind::PublicKey, russh::MethodKind::Password][..],
        )),
        partial_success: false,
    }
}

struct Chan {
    pty: Option<Pty>,
    env: Vec<(String, String)>,
    tx: Option<mpsc::Sender<ChanIn>>,
}

struct Handler {
    shared: Arc<Shared>,
    events: Events,
    info: ConnInfo,
    state: Arc<ConnState>,
    failures: u32,
    user: String,
    chans: HashMap<ChannelId, Chan>,
    shells: u32,
}

impl Handler {
    /// Counts a failure; at `MaxAuthTries` OpenSSH disconnects.
    async fn fail(&mut self) -> Result<Auth, russh::Error> {
        self.failures += 1;
        if self.failures >= self.shared.max_auth_tries {
            self.state.server_closed.store(true, Ordering::Relaxed);
            if let Some(h) = self.state.handle.get() {
                let _ = h
                    .disconnect(
                        Disconnect::ProtocolError,
                        "Too many authentication failures".into(),
                        String::new(),
                    )
                    .await;
            }
        }
        Ok(reject())
    }

    fn start(&mut self, channel: ChannelId, kind: Kind, session: &mut Session) {
        let Some(chan) = self.chans.get_mut(&channel) else {
            return;
        };
        if chan.tx.is_some() {
            return;
        }
        let sid = if matches!(kind, Kind::Shell) && chan.pty.is_some() {
            self.shells += 1;
            if self.shells == 1 {
                self.info.session_id.clone()
            } else {
                format!("{}-{}", self.info.session_id, self.shells)
            }
        } else {
            String::new()
        };
        let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
        chan.tx = Some(tx);
        let ctx = ChanCtx {
            shared: Arc::clone(&self.shared),
            events: self.events.clone(),
            handle: session.handle(),
            id: channel,
            user: self.user.clone(),
            pty: chan.pty.clone(),
            env: chan.env.clone(),
            info: self.info.clone(),
            sid,
            state: Arc::clone(&self.state),
        };
        self.state.tasks.spawn(channel::run(kind, ctx, rx));
    }

    fn forward(&mut self, channel: ChannelId, msg: ChanIn) {
        // Never wait on a channel task from the transport loop: the task may
        // itself be waiting for the loop to send its output. A client that
        // outruns its shell by this much loses input, as a full tty would.
        if let Some(tx) = self.chans.get(&channel).and_then(|c| c.tx.as_ref()) {
            let _ = tx.try_send(msg);
        }
    }
}

impl russh::server::Handler for Handler {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        Ok(self.shared.auth_banner.clone())
    }

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        tokio::time::sleep(user_delay(self.shared.host.persona.seed(), user)).await;
        Ok(reject())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let ok = self.shared.creds.accepts(user, password.as_bytes());
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.events.emit(
            Draft::new(AUTH)
                .credential(user, "plaintext", password.as_bytes(), outcome)
                .field("method", "password"),
        );
        if ok {
            tokio::time::sleep(success_delay()).await;
            self.user = user.to_owned();
            return Ok(Auth::Accept);
        }
        tokio::time::sleep(pam_failure_delay()).await;
        self.fail().await
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let fp = fingerprint(offer.public_key);
        self.events.emit(
            Draft::new(AUTH)
                .credential(user, "ssh_publickey", fp.as_bytes(), Outcome::Failure)
                .field("method", "publickey")
                .field("key_type", offer.algorithm.to_string())
                .field("fingerprint", fp),
        );
        tokio::time::sleep(user_delay(self.shared.host.persona.seed(), user)).await;
        self.fail().await
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        tokio::time::sleep(user_delay(self.shared.host.persona.seed(), user)).await;
        self.fail().await
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        self.state.authed.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.chans.len() >= MAX_SESSIONS {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.chans.insert(
            channel.id(),
            Chan {
                pty: None,
                env: Vec::new(),
                tx: None,
            },
        );
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        originator_address: &str,
        originator_port: u32,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.events.emit(
            Draft::new(FORWARD_REQUEST)
                .field("dst_host", host_to_connect)
                .field("dst_port", port_to_connect.to_string())
                .field(
                    "originator",
                    format!("{originator_address}:{originator_port}"),
                ),
        );
        // Egress is never given: what a firewalled host answers.
        tokio::time::sleep(Duration::from_millis(20)).await;
        reply.reject(ChannelOpenFailure::ConnectFailed).await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(PtyMode, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.chans.get_mut(&channel) {
            Some(c) => {
                c.pty = Some(Pty {
                    term: term.chars().take(64).collect(),
                    // A zero size means "unknown": bash then assumes 80x24.
                    cols: if col_width == 0 {
                        80
                    } else {
                        col_width.min(1000)
                    },
                    rows: if row_height == 0 {
                        24
                    } else {
                        row_height.min(1000)
                    },
                });
                session.channel_success(channel)?;
            }
            None => session.channel_failure(channel)?,
        }
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(c) = self.chans.get_mut(&channel)
            && c.env.len() < MAX_ENV
        {
            c.env.push((
                name.chars().take(128).collect(),
                value.chars().take(1024).collect(),
            ));
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        self.start(channel, Kind::Shell, session);
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let cmd = String::from_utf8_lossy(&data[..data.len().min(crate::shell::MAX_COMMAND)])
            .into_owned();
        self.start(channel, Kind::Exec(cmd), session);
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "sftp" {
            session.channel_success(channel)?;
            self.start(channel, Kind::Sftp, session);
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.forward(channel, ChanIn::Data(data.to_vec()));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.forward(
            channel,
            ChanIn::Resize(col_width.clamp(1, 1000), row_height.clamp(1, 1000)),
        );
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.forward(channel, ChanIn::Eof);
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.chans.remove(&channel);
        Ok(())
    }
}
