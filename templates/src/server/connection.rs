//! Runs one [`Session`] on one TCP stream: the only place that does I/O for a protocol.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::ServiceRuntime;
use crate::session::disconnect_reasons as why;
use crate::session::event_types::{CONNECT, DISCONNECT};
use crate::session::{Action, ConnInfo, Draft, Session, SideOutput, SideTask};

/// Bytes read per `read` call.
const READ_CHUNK: usize = 4096;

struct Conn<'a> {
    stream: TcpStream,
    info: ConnInfo,
    rt: &'a ServiceRuntime,
    deadline: Instant,
    shutdown: &'a CancellationToken,
    bytes_in: u64,
    bytes_out: u64,
    out: Vec<u8>,
}

/// Serves one accepted connection to the end, emitting `connect` and `disconnect`.
pub async fn serve(
    stream: TcpStream,
    info: ConnInfo,
    rt: Arc<ServiceRuntime>,
    shutdown: CancellationToken,
) {
    if let Some(svc) = rt.service.stream() {
        return super::stream::serve(svc, stream, info, Arc::clone(&rt), shutdown).await;
    }
    let service = rt.service.name();
    let mut session = rt.service.open(&info);
    let started = Instant::now();
    let mut connect = Draft::new(CONNECT);
    connect.fields = session.connect_fields();
    rt.emitter.emit(service, &info, connect);
    let mut conn = Conn {
        stream,
        info,
        rt: &rt,
        deadline: started + rt.limits.session_timeout,
        shutdown: &shutdown,
        bytes_in: 0,
        bytes_out: 0,
        out: Vec::new(),
    };
    let reason = conn.drive(session.as_mut()).await;
    for last in session.closed(reason) {
        rt.emitter.emit(service, &conn.info, last);
    }
    let disconnect = Draft::new(DISCONNECT)
        .field("reason", reason)
        .field("duration_ms", started.elapsed().as_millis().to_string())
        .field("bytes_in", conn.bytes_in.to_string())
        .field("bytes_out", conn.bytes_out.to_string());
    rt.emitter.emit(service, &conn.info, disconnect);
}

/// The running side task's output; never resolves when there is none.
async fn run_side(side: &mut Option<SideTask>) -> SideOutput {
    match side {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

impl Conn<'_> {
    async fn drive(&mut self, session: &mut dyn Session) -> &'static str {
        let start = session.start();
        if let Some(end) = self.perform(start).await {
            return end;
        }
        let mut buf = vec![0u8; READ_CHUNK];
        let mut frame_started: Option<Instant> = None;
        let mut side: Option<SideTask> = None;
        loop {
            if side.is_none() {
                side = session.take_side_task();
            }
            let now = Instant::now();
            let idle = session
                .idle_timeout()
                .unwrap_or(self.rt.limits.idle_timeout);
            let (mut wake, mut reason) = (now + idle, why::IDLE_TIMEOUT);
            if self.deadline < wake {
                (wake, reason) = (self.deadline, why::SESSION_TIMEOUT);
            }
            if session.pending_bytes() > 0 {
                let frame_deadline =
                    *frame_started.get_or_insert(now) + self.rt.limits.frame_timeout;
                if frame_deadline < wake {
                    (wake, reason) = (frame_deadline, why::FRAME_TIMEOUT);
                }
            } else {
                frame_started = None;
            }
            let read = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return why::SHUTDOWN,
                _ = tokio::time::sleep_until(wake.into()) => return reason,
                out = run_side(&mut side) => {
                    side = None;
                    let actions = session.side_done(out);
                    if let Some(end) = self.perform(actions).await {
                        return end;
                    }
                    continue;
                }
                r = self.stream.read(&mut buf) => r,
            };
            match read {
                Ok(0) => {
                    // A client that pipelines its last command and hangs up
                    // (DATA's final dot, then QUIT) still gets its work finished.
                    if let Some(task) = side.take().filter(|_| session.await_side_on_close())
                        && let Ok(out) =
                            tokio::time::timeout(self.rt.limits.frame_timeout, task).await
                    {
                        let _ = self.perform(session.side_done(out)).await;
                    }
                    let last = session.peer_closed();
                    let _ = self.perform(last).await;
                    return why::CLIENT_CLOSED;
                }
                Ok(n) => {
                    self.bytes_in += n as u64;
                    let actions = session.feed(&buf[..n]);
                    if let Some(end) = self.perform(actions).await {
                        return end;
                    }
                }
                Err(_) => return why::IO_ERROR,
            }
        }
    }

    /// Carries out `actions`; `Some(reason)` when the connection is over.
    async fn perform(&mut self, actions: Vec<Action>) -> Option<&'static str> {
        let service = self.rt.service.name();
        for action in actions {
            match action {
                Action::Send(bytes) => self.out.extend_from_slice(&bytes),
                Action::Emit(draft) => self.rt.emitter.emit(service, &self.info, draft),
                Action::Pause(d) => {
                    if let Some(end) = self.flush().await {
                        return Some(end);
                    }
                    let until = (Instant::now() + d).min(self.deadline);
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return Some(why::SHUTDOWN),
                        _ = tokio::time::sleep_until(until.into()) => {}
                    }
                    if Instant::now() >= self.deadline {
                        return Some(why::SESSION_TIMEOUT);
                    }
                }
                Action::Close => {
                    let end = self.flush().await;
                    let _ = self.stream.shutdown().await;
                    return Some(end.unwrap_or(why::SERVER_CLOSED));
                }
            }
        }
        self.flush().await
    }

    async fn flush(&mut self) -> Option<&'static str> {
        if self.out.is_empty() {
            return None;
        }
        // A peer that never reads must not pin the connection: bound the write.
        let write = tokio::time::timeout(
            self.rt.limits.idle_timeout,
            self.stream.write_all(&self.out),
        );
        let result = tokio::select! {
            _ = self.shutdown.cancelled() => return Some(why::SHUTDOWN),
            r = write => r,
        };
        match result {
            Ok(Ok(())) => {
                self.bytes_out += self.out.len() as u64;
                self.out.clear();
                None
            }
            _ => Some(why::IO_ERROR),
        }
    }
}
