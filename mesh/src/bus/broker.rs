//! The in-process broker and its local clients.
//!
//! `publish` is synchronous and never waits for a subscriber: it finds the
//! matching queues in the index and pushes one shared `Arc<Envelope>` into
//! each, dropping the oldest entry of a full queue.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use super::BusError;
use super::feed::{Feed, Subscription};
use super::index::Index;
use super::sink::{ClientId, Counters, Sink};
use crate::envelope::{Envelope, EventKind, Payload};
use crate::topic::{Pattern, Topic};

/// Default capacity of every subscriber queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Broker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Capacity of each subscriber queue; the oldest event is dropped beyond it.
    pub queue_capacity: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

struct Inner {
    config: BrokerConfig,
    index: RwLock<Index>,
    /// Bumped on every subscribe/unsubscribe; invalidates cached routes.
    generation: AtomicU64,
    sinks: Mutex<HashMap<u64, Weak<Sink>>>,
    next_id: AtomicU64,
    counters: Arc<Counters>,
}

/// The host bus broker. Cheap to clone; every clone is the same broker.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

impl Default for Broker {
    fn default() -> Self {
        Broker::new(BrokerConfig::default())
    }
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("config", &self.inner.config)
            .field("subscriptions", &self.inner.index.read().len())
            .finish()
    }
}

/// Counters of the whole broker, plus one line per subscriber queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerStats {
    /// Events published.
    pub published: u64,
    /// Events queued for subscribers (one per subscriber reached).
    pub delivered: u64,
    /// Events dropped from full subscriber queues, over the broker's life.
    pub dropped: u64,
    /// Active pattern subscriptions.
    pub subscriptions: usize,
    /// Every live subscriber queue.
    pub subscribers: Vec<SubscriberStats>,
}

/// One subscriber queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberStats {
    /// Queue id, unique within the broker.
    pub id: u64,
    /// Client the queue belongs to.
    pub client: ClientId,
    /// That client's name (as given in `HELLO` for socket clients).
    pub client_name: String,
    /// Patterns feeding the queue.
    pub patterns: Vec<Pattern>,
    /// Events waiting.
    pub queued: usize,
    /// Capacity.
    pub capacity: usize,
    /// Events dropped because the queue was full.
    pub dropped: u64,
}

/// Counters of one client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Client name.
    pub name: String,
    /// Events this client published.
    pub published: u64,
    /// Events dropped from this client's subscriber queues because they were full.
    pub dropped: u64,
    /// Events this client could not hand to the bus (socket client only:
    /// disconnected or over its send buffer).
    pub publish_dropped: u64,
    /// Times a socket client reconnected.
    pub reconnects: u64,
}

impl Broker {
    /// A broker with the given settings.
    pub fn new(config: BrokerConfig) -> Broker {
        Broker {
            inner: Arc::new(Inner {
                config,
                index: RwLock::new(Index::default()),
                generation: AtomicU64::new(0),
                sinks: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                counters: Arc::new(Counters::default()),
            }),
        }
    }

    /// The broker's settings.
    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A new client with its own identity: it never receives what it publishes.
    pub fn client(&self, name: impl Into<Arc<str>>) -> LocalClient {
        LocalClient {
            broker: self.clone(),
            id: ClientId(self.next_id()),
            name: name.into(),
            counters: Arc::new(Counters::default()),
            route: Arc::new(RouteCache::default()),
        }
    }

    /// Counters and per-subscriber queue state.
    pub fn stats(&self) -> BrokerStats {
        let sinks: Vec<Arc<Sink>> = self
            .inner
            .sinks
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        let mut subscribers: Vec<SubscriberStats> = sinks
            .iter()
            .map(|s| SubscriberStats {
                id: s.id,
                client: s.owner,
                client_name: s.owner_name.to_string(),
                patterns: s.patterns.lock().clone(),
                queued: s.queued(),
                capacity: s.capacity(),
                dropped: s.dropped(),
            })
            .collect();
        subscribers.sort_by_key(|s| s.id);
        let c = &self.inner.counters;
        BrokerStats {
            published: c.published.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            subscriptions: self.inner.index.read().len(),
            subscribers,
        }
    }

    /// A new, empty feed owned by `owner`.
    pub(crate) fn feed(
        &self,
        owner: ClientId,
        name: Arc<str>,
        counters: Arc<Counters>,
        capacity: usize,
    ) -> Feed {
        let id = self.next_id();
        let sink = Arc::new(Sink::new(
            id,
            owner,
            name,
            capacity,
            counters,
            self.inner.counters.clone(),
        ));
        self.inner.sinks.lock().insert(id, Arc::downgrade(&sink));
        Feed::new(self.clone(), sink)
    }

    pub(crate) fn attach(&self, sink: &Arc<Sink>, pattern: &Pattern) -> u64 {
        let sub = self.next_id();
        let mut index = self.inner.index.write();
        index.insert(pattern, sub, sink.clone());
        self.inner.generation.fetch_add(1, Ordering::Release);
        drop(index);
        sink.patterns.lock().push(pattern.clone());
        sub
    }

    pub(crate) fn detach(&self, sink: &Arc<Sink>, pattern: &Pattern, sub: u64) {
        let mut index = self.inner.index.write();
        index.remove(pattern, sub);
        self.inner.generation.fetch_add(1, Ordering::Release);
        drop(index);
        sink.patterns.lock().retain(|p| p != pattern);
    }

    /// Ends every subscriber stream (queued events are still delivered).
    pub(crate) fn close_all(&self) {
        let sinks: Vec<Arc<Sink>> = self
            .inner
            .sinks
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for s in sinks {
            s.close();
        }
    }

    pub(crate) fn forget(&self, sink: &Arc<Sink>) {
        self.inner.sinks.lock().remove(&sink.id);
    }

    /// The queues `topic` reaches, minus those owned by `origin`, each once.
    fn route(&self, origin: ClientId, topic: &Topic) -> Arc<[Arc<Sink>]> {
        let index = self.inner.index.read();
        let mut sinks: Vec<Arc<Sink>> = Vec::new();
        index.for_each_match(topic.as_str(), |sink| {
            if sink.owner != origin {
                sinks.push(sink.clone());
            }
        });
        drop(index);
        if sinks.len() > 1 {
            // A feed subscribed with several matching patterns gets the event once.
            sinks.sort_unstable_by_key(|s| s.id);
            sinks.dedup_by_key(|s| s.id);
        }
        sinks.into()
    }

    /// Queues `env` for every matching subscriber not owned by `origin`;
    /// returns how many queues it reached. `cache` remembers the route of the
    /// publisher's last topic until the next subscribe or unsubscribe anywhere.
    pub(crate) fn publish_from(
        &self,
        origin: ClientId,
        env: Arc<Envelope>,
        cache: &RouteCache,
    ) -> usize {
        self.inner
            .counters
            .published
            .fetch_add(1, Ordering::Relaxed);
        let generation = self.inner.generation.load(Ordering::Acquire);
        let sinks = {
            let mut cached = cache.0.lock();
            match &*cached {
                Some(r) if r.generation == generation && r.topic == *env.topic() => r.sinks.clone(),
                _ => {
                    let sinks = self.route(origin, env.topic());
                    *cached = Some(Route {
                        topic: env.topic().clone(),
                        generation,
                        sinks: sinks.clone(),
                    });
                    sinks
                }
            }
        };
        // The last queue takes the caller's reference: no extra count traffic
        // on an envelope the consumer may already be reading.
        let mut reached = 0;
        if let Some((last, others)) = sinks.split_last() {
            reached += others.iter().filter(|s| s.push(env.clone())).count();
            reached += usize::from(last.push(env));
        }
        self.inner
            .counters
            .delivered
            .fetch_add(reached as u64, Ordering::Relaxed);
        reached
    }
}

struct Route {
    topic: Topic,
    generation: u64,
    sinks: Arc<[Arc<Sink>]>,
}

/// One publisher's cached route (see [`Broker::publish_from`]).
#[derive(Default)]
pub(crate) struct RouteCache(Mutex<Option<Route>>);

/// An in-process client of a [`Broker`]. Cheap to clone; clones share the identity.
#[derive(Clone)]
pub struct LocalClient {
    broker: Broker,
    id: ClientId,
    name: Arc<str>,
    counters: Arc<Counters>,
    route: Arc<RouteCache>,
}

impl fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalClient")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish()
    }
}

impl LocalClient {
    /// This client's identity within the broker.
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The broker this client talks to.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Encodes `payload` as CBOR and publishes it; returns the number of
    /// subscriber queues reached.
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: &T,
    ) -> Result<usize, BusError> {
        self.publish_payload(topic, kind, Payload::encode(payload)?)
    }

    /// Publishes an already encoded payload, carrying the current span's trace context.
    pub fn publish_payload(
        &self,
        topic: &Topic,
        kind: impl Into<EventKind>,
        payload: Payload,
    ) -> Result<usize, BusError> {
        let mut env = Envelope::new(topic.clone(), kind, payload)?;
        if let Some(tp) = crate::trace::current_traceparent() {
            env = env.with_traceparent(Some(tp))?;
        }
        Ok(self.publish_envelope(Arc::new(env)))
    }

    /// Publishes a ready-made envelope (keeping its id and time) on behalf of
    /// this client, e.g. one a federation link received from another host:
    /// the link's own feed will not get it back.
    pub fn publish_envelope(&self, env: Arc<Envelope>) -> usize {
        self.counters.published.fetch_add(1, Ordering::Relaxed);
        self.broker.publish_from(self.id, env, &self.route)
    }

    /// Subscribes to `pattern` with the broker's default queue capacity.
    pub fn subscribe(&self, pattern: &Pattern) -> Subscription {
        self.subscribe_with_capacity(pattern, self.broker.inner.config.queue_capacity)
    }

    /// Subscribes to `pattern` with a queue of `capacity` events.
    pub fn subscribe_with_capacity(&self, pattern: &Pattern, capacity: usize) -> Subscription {
        let mut feed = self.feed_with_capacity(capacity);
        feed.add(pattern);
        Subscription::new(pattern.clone(), feed, None)
    }

    /// An empty multi-pattern feed with the broker's default queue capacity.
    pub fn feed(&self) -> Feed {
        self.feed_with_capacity(self.broker.inner.config.queue_capacity)
    }

    /// An empty multi-pattern feed with a queue of `capacity` events.
    pub fn feed_with_capacity(&self, capacity: usize) -> Feed {
        self.broker
            .feed(self.id, self.name.clone(), self.counters.clone(), capacity)
    }

    /// This client's counters.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            name: self.name.to_string(),
            published: self.counters.published.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            publish_dropped: 0,
            reconnects: 0,
        }
    }
}
