//! The master's accept path: TLS-verified connections, stream dispatch by their opening
//! frame, and the federation session that registers a host.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use decnet_pki::{Fingerprint, HostName, peer_identity};
use parking_lot::Mutex;
use quinn::{Connection, Incoming, RecvStream, SendStream};
use rustls::pki_types::CertificateDer;
use tokio::task::JoinSet;

use super::master::{ConnectedHost, HostLink, Inner, LiveConn};
use super::state::refresh_rtt;
use crate::quic::durable;
use crate::quic::endpoint::peer_chain;
use crate::quic::federation;
use crate::quic::proto::{
    FrameReader, Hello, Open, PROTOCOL_VERSION, ProtoError, ToAgent, Welcome, codec::write_message,
};
use crate::quic::renew;
use crate::quic::{close, stream_code};
use crate::topic::host as host_topic;

pub(super) async fn accept_loop(inner: Arc<Inner>) {
    loop {
        let incoming = tokio::select! {
            _ = inner.cancel.cancelled() => break,
            i = inner.endpoint.accept() => i,
        };
        let Some(incoming) = incoming else { break };
        tokio::spawn(handle_incoming(inner.clone(), incoming));
    }
    inner
        .endpoint
        .close(close::SHUTDOWN, b"master shutting down");
}

/// Everything a connection's stream handlers share.
struct ConnCtx {
    inner: Arc<Inner>,
    conn: Connection,
    host: HostName,
    fingerprint: Fingerprint,
    cert: CertificateDer<'static>,
    generation: u64,
    greeted: Mutex<bool>,
}

async fn handle_incoming(inner: Arc<Inner>, incoming: Incoming) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            // Certificate rejections are logged by the verifier with the reason.
            tracing::debug!(%remote, error = %e, "mesh handshake failed");
            return;
        }
    };
    let Some((host, fingerprint, cert)) = peer_chain(&conn).and_then(|chain| {
        let (host, fp) = peer_identity(&chain).ok()?;
        Some((host, fp, chain.into_iter().next()?))
    }) else {
        tracing::warn!(%remote, "mesh peer presented no usable agent certificate");
        conn.close(close::PROTOCOL, b"no agent certificate");
        return;
    };
    let generation = inner.next_generation.fetch_add(1, Ordering::Relaxed);
    inner.live.lock().insert(
        generation,
        LiveConn {
            host: host.clone(),
            fingerprint,
            conn: conn.clone(),
            closed_for: None,
        },
    );
    // A revocation announced between the TLS pin check and the insert above was missed by
    // the watcher; the registry already reflects it.
    inner.close_if_not_pinned();
    let ctx = Arc::new(ConnCtx {
        inner: inner.clone(),
        conn: conn.clone(),
        host: host.clone(),
        fingerprint,
        cert,
        generation,
        greeted: Mutex::new(false),
    });
    let mut streams = JoinSet::new();
    let err = loop {
        tokio::select! {
            _ = inner.cancel.cancelled() => {
                conn.close(close::SHUTDOWN, b"master shutting down");
                break quinn::ConnectionError::LocallyClosed;
            }
            accepted = conn.accept_bi() => match accepted {
                Ok((send, recv)) => {
                    streams.spawn(handle_stream(ctx.clone(), send, recv));
                }
                Err(e) => break e,
            },
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
        }
    };
    streams.abort_all();
    inner.unregister(&host, generation, &err);
}

async fn handle_stream(ctx: Arc<ConnCtx>, mut send: SendStream, recv: RecvStream) {
    let mut reader = FrameReader::new(recv);
    let hello_timeout = ctx.inner.config.tuning.hello_timeout;
    let open = match tokio::time::timeout(hello_timeout, reader.message::<Open>()).await {
        Ok(Ok(open)) => open,
        Ok(Err(e)) => {
            tracing::warn!(host = %ctx.host, error = %e, "bad stream opening from agent");
            let _ = send.reset(stream_code::PROTOCOL);
            return;
        }
        Err(_) => {
            let _ = send.reset(stream_code::PROTOCOL);
            return;
        }
    };
    let result = match open {
        Open::Session(hello) => session(&ctx, send, reader, hello).await,
        Open::Renew(request) => {
            let renewer = ctx.inner.renewer.clone();
            renew::serve(renewer, &ctx.host, &ctx.cert, send, request).await
        }
        Open::Durable(open) => match ctx.inner.sink.clone() {
            Some(sink) => {
                durable::receive_stream(
                    ctx.host.clone(),
                    send,
                    reader,
                    sink,
                    ctx.inner.config.durable.clone(),
                    open,
                )
                .await
            }
            None => {
                let _ = send.reset(stream_code::UNSUPPORTED);
                Ok(())
            }
        },
        Open::Control(_) => {
            let _ = send.reset(stream_code::UNSUPPORTED);
            Ok(())
        }
    };
    if let Err(e) = result
        && ctx.conn.close_reason().is_none()
    {
        tracing::warn!(host = %ctx.host, error = %e, "agent stream failed");
    }
}

/// The federation session: greets the agent, registers the link, then relays until either
/// half ends, which closes the connection (the agent redials).
async fn session(
    ctx: &Arc<ConnCtx>,
    mut send: SendStream,
    reader: FrameReader,
    hello: Hello,
) -> Result<(), ProtoError> {
    {
        let mut greeted = ctx.greeted.lock();
        if *greeted {
            ctx.conn.close(close::PROTOCOL, b"second session");
            return Err(ProtoError::Unexpected("a second session on one connection"));
        }
        *greeted = true;
    }
    if hello.protocol != PROTOCOL_VERSION {
        tracing::warn!(host = %ctx.host, protocol = hello.protocol, "agent speaks an unsupported mesh protocol");
        ctx.conn
            .close(close::PROTOCOL, b"unsupported protocol version");
        return Ok(());
    }
    let inner = &ctx.inner;
    let welcome = ToAgent::Welcome(Welcome {
        protocol: PROTOCOL_VERSION,
        master_version: inner.config.master_version.clone(),
    });
    write_message(&mut send, &welcome).await?;

    let client = inner.broker.client(format!("mesh-link:{}", ctx.host));
    let own = host_topic::of(&ctx.host).map_err(|e| ProtoError::Decode(e.to_string()))?;
    let mut host_feed = client.feed();
    host_feed.add(&own);
    let (snapshot, link_interest) = inner.interest.register();

    let link = Arc::new(HostLink {
        generation: ctx.generation,
        conn: ctx.conn.clone(),
        info: Mutex::new(ConnectedHost {
            host: ctx.host.clone(),
            fingerprint: ctx.fingerprint,
            agent_version: hello.agent_version,
            connected_since: SystemTime::now(),
            rtt: ctx.conn.rtt(),
            remote: ctx.conn.remote_address(),
        }),
    });
    inner.register(link.clone());

    let writer = federation::master_writer(send, snapshot, link_interest, host_feed);
    let reader = federation::master_reader(reader, client, inner.interest.clone(), own);
    let rtt = refresh_rtt_loop(inner.clone(), link.clone());
    let ended = tokio::select! {
        r = writer => r,
        r = reader => r,
        () = rtt => Ok(()),
    };
    match &ended {
        Ok(()) => ctx.conn.close(close::SHUTDOWN, b"session ended"),
        Err(_) => ctx.conn.close(close::PROTOCOL, b"session failed"),
    }
    ended
}

async fn refresh_rtt_loop(inner: Arc<Inner>, link: Arc<HostLink>) {
    let mut tick = tokio::time::interval(inner.config.tuning.rtt_refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let rtt = link.conn.rtt();
        let host = {
            let mut info = link.info.lock();
            info.rtt = rtt;
            info.host.clone()
        };
        if inner
            .links
            .lock()
            .get(&host)
            .is_some_and(|l| l.generation == link.generation)
        {
            refresh_rtt(&inner.state_of(&host), rtt);
        }
    }
}
