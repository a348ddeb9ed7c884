//! What subscribers read from: a [`Feed`] (one queue, any number of patterns,
//! used by socket connections and federation links) and a [`Subscription`]
//! (one pattern, the handle workers get).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;

use super::broker::Broker;
use super::sink::Sink;
use crate::envelope::Envelope;
use crate::topic::Pattern;

/// One subscriber queue fed by any number of patterns; an event matching
/// several of them is queued once. Dropping it unsubscribes every pattern.
pub struct Feed {
    broker: Broker,
    sink: Arc<Sink>,
    subs: HashMap<Pattern, u64>,
    batch: VecDeque<Arc<Envelope>>,
    spin: Spin,
}

/// How long a busy feed keeps yielding to the scheduler before parking.
const SPIN: Duration = Duration::from_micros(50);

/// A wake-up that finds at least this many events means they arrive faster
/// than a parked consumer can be woken: the feed is busy.
const BUSY_BATCH: usize = 8;

/// Adaptive spin-then-park for a consumer that finds its queue empty.
///
/// Parking means the next publisher must wake this task across threads (a
/// futex call on each side), which dominates the cost of a stream of events
/// arriving microseconds apart. So a feed whose last event came less than
/// [`SPIN`] after it parked is "busy" and, next time it runs dry, yields to the
/// scheduler (other tasks run in between) for up to [`SPIN`] before parking.
/// Likewise when a wake-up finds [`BUSY_BATCH`] events or more waiting. A feed
/// that sees sparse events parks at once and costs no CPU while idle.
#[derive(Debug, Default)]
struct Spin {
    busy: bool,
    /// When the queue was found empty, while spinning.
    since: Option<Instant>,
    /// Empty polls while spinning (the clock is read every 32nd).
    polls: u32,
    /// When the consumer parked.
    parked: Option<Instant>,
}

/// Refills `out` from `sink`, spinning first if the feed is busy.
fn poll_refill(
    sink: &Sink,
    spin: &mut Spin,
    cx: &mut Context<'_>,
    out: &mut VecDeque<Arc<Envelope>>,
) -> Poll<bool> {
    if sink.try_batch(out) {
        if let Some(parked) = spin.parked.take() {
            spin.busy = out.len() >= BUSY_BATCH || parked.elapsed() < SPIN;
        }
        spin.since = None;
        return Poll::Ready(true);
    }
    if spin.busy && spin.parked.is_none() {
        let since = *spin.since.get_or_insert_with(Instant::now);
        spin.polls = spin.polls.wrapping_add(1);
        if !spin.polls.is_multiple_of(32) || since.elapsed() < SPIN {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
    }
    let r = sink.poll_batch(cx, out);
    match r {
        Poll::Ready(_) => {
            if spin.parked.take().is_some() {
                spin.busy = out.len() >= BUSY_BATCH;
            }
            spin.since = None;
        }
        Poll::Pending => {
            if spin.parked.is_none() {
                spin.parked = Some(Instant::now());
            }
            spin.since = None;
        }
    }
    r
}

impl Feed {
    pub(crate) fn new(broker: Broker, sink: Arc<Sink>) -> Feed {
        Feed {
            broker,
            sink,
            subs: HashMap::new(),
            batch: VecDeque::new(),
            spin: Spin::default(),
        }
    }

    /// Starts delivering events matching `pattern`; false if it already was.
    pub fn add(&mut self, pattern: &Pattern) -> bool {
        if self.subs.contains_key(pattern) {
            return false;
        }
        let sub = self.broker.attach(&self.sink, pattern);
        self.subs.insert(pattern.clone(), sub);
        true
    }

    /// Stops delivering events matching `pattern`; false if it was not subscribed.
    pub fn remove(&mut self, pattern: &Pattern) -> bool {
        match self.subs.remove(pattern) {
            Some(sub) => {
                self.broker.detach(&self.sink, pattern, sub);
                true
            }
            None => false,
        }
    }

    /// The patterns currently subscribed.
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.subs.keys()
    }

    /// Events dropped because this feed's queue was full.
    pub fn dropped(&self) -> u64 {
        self.sink.dropped()
    }

    /// Capacity of the queue.
    pub fn capacity(&self) -> usize {
        self.sink.capacity()
    }

    /// Moves every available event into `out` (which must be empty).
    /// `Ready(false)` once the feed has been closed and drained.
    pub fn poll_batch(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut VecDeque<Arc<Envelope>>,
    ) -> Poll<bool> {
        if !self.batch.is_empty() {
            std::mem::swap(&mut self.batch, out);
            return Poll::Ready(true);
        }
        poll_refill(&self.sink, &mut self.spin, cx, out)
    }

    /// Waits for the next batch of events; false once the feed is closed.
    pub async fn next_batch(&mut self, out: &mut VecDeque<Arc<Envelope>>) -> bool {
        futures::future::poll_fn(|cx| self.poll_batch(cx, out)).await
    }

    /// Moves every queued event into `out` (which must be empty) without
    /// waiting; false if there was none.
    pub fn try_batch(&mut self, out: &mut VecDeque<Arc<Envelope>>) -> bool {
        if !self.batch.is_empty() {
            std::mem::swap(&mut self.batch, out);
            return true;
        }
        self.sink.try_batch(out)
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Arc<Envelope>> {
        if self.batch.is_empty() {
            self.sink.try_batch(&mut self.batch);
        }
        self.batch.pop_front()
    }

    /// Ends the stream for the consumer; queued events are still delivered.
    pub fn close(&self) {
        self.sink.close();
    }
}

impl Stream for Feed {
    type Item = Arc<Envelope>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(e) = this.batch.pop_front() {
            return Poll::Ready(Some(e));
        }
        match poll_refill(&this.sink, &mut this.spin, cx, &mut this.batch) {
            Poll::Ready(true) => Poll::Ready(this.batch.pop_front()),
            Poll::Ready(false) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        for (pattern, sub) in self.subs.drain() {
            self.broker.detach(&self.sink, &pattern, sub);
        }
        self.sink.close();
        self.broker.forget(&self.sink);
    }
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feed")
            .field("owner", &self.sink.owner_name)
            .field("patterns", &self.subs.keys().collect::<Vec<_>>())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// Runs when a subscription is dropped (e.g. a socket client's `UNSUB`).
pub(crate) type OnDrop = Box<dyn FnOnce() + Send + Sync>;

/// A stream of the events matching one pattern. Dropping it unsubscribes.
///
/// The stream ends only if its bus goes away for good; a disabled bus gives a
/// subscription that stays pending until dropped.
pub struct Subscription {
    pattern: Pattern,
    feed: Option<Feed>,
    on_drop: Option<OnDrop>,
}

impl Subscription {
    pub(crate) fn new(pattern: Pattern, feed: Feed, on_drop: Option<OnDrop>) -> Subscription {
        Subscription {
            pattern,
            feed: Some(feed),
            on_drop,
        }
    }

    /// A subscription that never yields anything (the no-op bus).
    pub fn pending(pattern: Pattern) -> Subscription {
        Subscription {
            pattern,
            feed: None,
            on_drop: None,
        }
    }

    /// The pattern subscribed to.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Events dropped because this subscriber fell more than its queue behind.
    pub fn dropped(&self) -> u64 {
        self.feed.as_ref().map_or(0, Feed::dropped)
    }

    /// The next event if one is already queued, without waiting.
    pub fn try_next(&mut self) -> Option<Arc<Envelope>> {
        self.feed.as_mut().and_then(Feed::try_recv)
    }

    /// Moves every available event into `out` (which must be empty);
    /// `Ready(false)` once the subscription has ended.
    pub fn poll_batch(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut VecDeque<Arc<Envelope>>,
    ) -> Poll<bool> {
        match self.feed.as_mut() {
            Some(feed) => feed.poll_batch(cx, out),
            None => Poll::Pending,
        }
    }
}

impl Stream for Subscription {
    type Item = Arc<Envelope>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().feed.as_mut() {
            Some(feed) => Pin::new(feed).poll_next(cx),
            None => Poll::Pending,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        drop(self.feed.take());
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("pattern", &self.pattern)
            .field("dropped", &self.dropped())
            .field("live", &self.feed.is_some())
            .finish()
    }
}
