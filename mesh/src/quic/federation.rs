//! Federated pub/sub over a link's session stream (see the module docs of [`crate::quic`]
//! for the interest model and why it cannot loop).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use quinn::SendStream;
use tokio::sync::mpsc;

use super::proto::{FrameReader, ProtoError, ToAgent, ToMaster, encode};
use crate::bus::wire::{decode_envelope, encode_envelope};
use crate::bus::{Feed, LocalClient, Subscription};
use crate::envelope::Envelope;
use crate::topic::{Pattern, Topic, host as host_topic};

/// A change of the master's interest, as sent to each link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterestChange {
    Add(Pattern),
    Remove(Pattern),
}

#[derive(Default)]
struct InterestState {
    counts: HashMap<Pattern, usize>,
    links: HashMap<u64, mpsc::UnboundedSender<InterestChange>>,
    next_link: u64,
}

/// The master's interest: patterns with a subscriber count, and the links to tell.
///
/// Changes and link registration happen under one lock, so a link that registers gets a
/// snapshot and then exactly the changes after it.
#[derive(Default)]
pub(crate) struct Interest {
    state: Mutex<InterestState>,
    /// Forwarded events dropped because nothing on the master wanted them (any more).
    unwanted: AtomicU64,
}

/// A link's registration; unregisters on drop.
pub(crate) struct LinkInterest {
    id: u64,
    interest: Weak<Interest>,
    pub(crate) changes: mpsc::UnboundedReceiver<InterestChange>,
}

impl Drop for LinkInterest {
    fn drop(&mut self) {
        if let Some(i) = self.interest.upgrade() {
            i.state.lock().links.remove(&self.id);
        }
    }
}

impl Interest {
    fn broadcast(state: &mut InterestState, change: &InterestChange) {
        state.links.retain(|_, tx| tx.send(change.clone()).is_ok());
    }

    fn acquire(&self, pattern: &Pattern) {
        let mut s = self.state.lock();
        let count = s.counts.entry(pattern.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            tracing::debug!(%pattern, "federated interest added");
            Self::broadcast(&mut s, &InterestChange::Add(pattern.clone()));
        }
    }

    fn release(&self, pattern: &Pattern) {
        let mut s = self.state.lock();
        let Some(count) = s.counts.get_mut(pattern) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            s.counts.remove(pattern);
            tracing::debug!(%pattern, "federated interest removed");
            Self::broadcast(&mut s, &InterestChange::Remove(pattern.clone()));
        }
    }

    /// Registers a link: the current patterns, then every later change.
    pub(crate) fn register(self: &Arc<Self>) -> (Vec<Pattern>, LinkInterest) {
        let mut s = self.state.lock();
        let id = s.next_link;
        s.next_link += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        s.links.insert(id, tx);
        let mut snapshot: Vec<Pattern> = s.counts.keys().cloned().collect();
        snapshot.sort();
        (
            snapshot,
            LinkInterest {
                id,
                interest: Arc::downgrade(self),
                changes: rx,
            },
        )
    }

    /// Whether anything on the master currently wants `topic`.
    pub(crate) fn wants(&self, topic: &Topic) -> bool {
        self.state.lock().counts.keys().any(|p| p.matches(topic))
    }

    /// The patterns with at least one subscriber, sorted.
    pub(crate) fn patterns(&self) -> Vec<Pattern> {
        let mut v: Vec<Pattern> = self.state.lock().counts.keys().cloned().collect();
        v.sort();
        v
    }

    /// Forwarded events the master dropped for lack of interest.
    pub(crate) fn unwanted(&self) -> u64 {
        self.unwanted.load(Ordering::Relaxed)
    }

    /// Subscribes `client` to `pattern` locally and holds interest until the subscription drops.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        client: &LocalClient,
        pattern: &Pattern,
    ) -> Subscription {
        let mut feed = client.feed();
        feed.add(pattern);
        self.acquire(pattern);
        let interest = Arc::downgrade(self);
        let released = pattern.clone();
        Subscription::new(
            pattern.clone(),
            feed,
            Some(Box::new(move || {
                if let Some(i) = interest.upgrade() {
                    i.release(&released);
                }
            })),
        )
    }
}

/// Appends one session frame per envelope.
fn encode_events<T>(
    batch: &mut VecDeque<Arc<Envelope>>,
    out: &mut BytesMut,
    wrap: impl Fn(Bytes) -> T,
) -> Result<(), ProtoError>
where
    T: serde::Serialize,
{
    let mut env_buf = BytesMut::with_capacity(256);
    for env in batch.drain(..) {
        encode_envelope(&env, &mut env_buf);
        encode(&wrap(env_buf.split().freeze()), out)?;
    }
    Ok(())
}

fn decode_event(bytes: &Bytes) -> Result<Arc<Envelope>, ProtoError> {
    decode_envelope(bytes)
        .map(Arc::new)
        .map_err(|e| ProtoError::Decode(format!("envelope: {e}")))
}

/// Master side, writer half: interest changes and `host.{id}.…` events to the agent.
pub(crate) async fn master_writer(
    mut send: SendStream,
    snapshot: Vec<Pattern>,
    mut link: LinkInterest,
    mut host_feed: Feed,
) -> Result<(), ProtoError> {
    let mut out = BytesMut::with_capacity(16 * 1024);
    for p in snapshot {
        encode(&ToAgent::Subscribe(p.as_str().to_owned()), &mut out)?;
    }
    if !out.is_empty() {
        send.write_chunk(out.split().freeze()).await?;
    }
    let mut batch = VecDeque::new();
    loop {
        tokio::select! {
            change = link.changes.recv() => {
                let msg = match change {
                    Some(InterestChange::Add(p)) => ToAgent::Subscribe(p.as_str().to_owned()),
                    Some(InterestChange::Remove(p)) => ToAgent::Unsubscribe(p.as_str().to_owned()),
                    None => return Ok(()),
                };
                encode(&msg, &mut out)?;
            }
            open = host_feed.next_batch(&mut batch) => {
                if !open {
                    return Ok(());
                }
                encode_events(&mut batch, &mut out, ToAgent::Event)?;
            }
        }
        send.write_chunk(out.split().freeze()).await?;
    }
}

/// Master side, reader half: republishes wanted agent events under the link's client.
///
/// An agent may not address another host: `host.{other}.…` from it is dropped, so a
/// compromised agent cannot command its peers through the master.
pub(crate) async fn master_reader(
    mut reader: FrameReader,
    client: LocalClient,
    interest: Arc<Interest>,
    own: Pattern,
) -> Result<(), ProtoError> {
    let any_host = host_topic::all();
    while let Some(frame) = reader.next().await? {
        match super::proto::decode::<ToMaster>(&frame)? {
            ToMaster::Event(bytes) => {
                let env = decode_event(&bytes)?;
                if any_host.matches(env.topic()) && !own.matches(env.topic()) {
                    tracing::warn!(topic = %env.topic(), "agent sent an event addressed to another host; dropped");
                    interest.unwanted.fetch_add(1, Ordering::Relaxed);
                } else if interest.wants(env.topic()) {
                    client.publish_envelope(env);
                } else {
                    interest.unwanted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    Ok(())
}

/// Agent side: what the reader tells the writer (which owns the feed).
#[derive(Debug)]
pub(crate) enum FeedCommand {
    Add(Pattern),
    Remove(Pattern),
}

/// Agent side, writer half: forwards local events matching the master's interest.
pub(crate) async fn agent_writer(
    mut send: SendStream,
    mut feed: Feed,
    mut commands: mpsc::UnboundedReceiver<FeedCommand>,
) -> Result<(), ProtoError> {
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut batch = VecDeque::new();
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(FeedCommand::Add(p)) => {
                    feed.add(&p);
                    tracing::debug!(pattern = %p, "forwarding to the master");
                }
                Some(FeedCommand::Remove(p)) => {
                    feed.remove(&p);
                    tracing::debug!(pattern = %p, "no longer forwarding to the master");
                }
                None => return Ok(()),
            },
            open = feed.next_batch(&mut batch) => {
                if !open {
                    return Ok(());
                }
                encode_events(&mut batch, &mut out, ToMaster::Event)?;
                send.write_chunk(out.split().freeze()).await?;
            }
        }
    }
}

/// Agent side, reader half: interest changes go to the writer, events addressed to this
/// host are republished under the link's client (so the writer's feed never sees them).
pub(crate) async fn agent_reader(
    mut reader: FrameReader,
    client: LocalClient,
    own: Pattern,
    commands: mpsc::UnboundedSender<FeedCommand>,
) -> Result<(), ProtoError> {
    while let Some(frame) = reader.next().await? {
        match super::proto::decode::<ToAgent>(&frame)? {
            ToAgent::Welcome(_) => return Err(ProtoError::Unexpected("a second WELCOME")),
            ToAgent::Subscribe(p) => {
                let p = Pattern::parse(&p).map_err(|e| ProtoError::Decode(e.to_string()))?;
                if commands.send(FeedCommand::Add(p)).is_err() {
                    return Ok(());
                }
            }
            ToAgent::Unsubscribe(p) => {
                let p = Pattern::parse(&p).map_err(|e| ProtoError::Decode(e.to_string()))?;
                if commands.send(FeedCommand::Remove(p)).is_err() {
                    return Ok(());
                }
            }
            ToAgent::Event(bytes) => {
                let env = decode_event(&bytes)?;
                if own.matches(env.topic()) {
                    client.publish_envelope(env);
                } else {
                    tracing::warn!(topic = %env.topic(), "master sent an event addressed to another host; dropped");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Broker;
    use crate::topic::decky;

    #[test]
    fn interest_is_reference_counted_and_broadcast() {
        let broker = Broker::default();
        let client = broker.client("t");
        let interest = Arc::new(Interest::default());
        let (snapshot, mut link) = interest.register();
        assert!(snapshot.is_empty());

        let a = interest.subscribe(&client, &decky::all_traffic());
        let b = interest.subscribe(&client, &decky::all_traffic());
        assert_eq!(
            link.changes.try_recv().unwrap(),
            InterestChange::Add(decky::all_traffic())
        );
        assert!(
            link.changes.try_recv().is_err(),
            "second subscriber adds nothing"
        );
        assert!(interest.wants(&decky::traffic("d1").unwrap()));

        // A link registering now sees the pattern in its snapshot.
        let (late, _late_link) = interest.register();
        assert_eq!(late, vec![decky::all_traffic()]);

        drop(a);
        assert!(link.changes.try_recv().is_err(), "one subscriber left");
        drop(b);
        assert_eq!(
            link.changes.try_recv().unwrap(),
            InterestChange::Remove(decky::all_traffic())
        );
        assert!(!interest.wants(&decky::traffic("d1").unwrap()));
        assert!(interest.patterns().is_empty());

        drop(link);
        assert_eq!(interest.state.lock().links.len(), 1);
    }
}
