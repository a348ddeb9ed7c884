//! A subscriber's bounded queue: publishers push without ever waiting, the
//! oldest event is dropped (and counted) when the queue is full, and the
//! consumer takes everything queued in one lock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::envelope::Envelope;
use crate::topic::Pattern;

/// Identifies a publisher or subscriber of one broker: a local client, a
/// socket connection or a federation link. Events are never delivered back to
/// the client that published them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub(crate) u64);

impl ClientId {
    /// The numeric id, unique within one broker.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// An atomic counter alone on its cache line(s), so publishers bumping it do
/// not slow down whoever touches the neighbouring memory.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct PaddedCounter(AtomicU64);

impl std::ops::Deref for PaddedCounter {
    type Target = AtomicU64;

    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

/// Counters shared by everything that belongs to one client (or the broker).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) published: PaddedCounter,
    pub(crate) delivered: PaddedCounter,
    pub(crate) dropped: PaddedCounter,
}

struct State {
    queue: VecDeque<Arc<Envelope>>,
    /// Set only while the consumer is parked on an empty queue.
    waker: Option<Waker>,
    closed: bool,
}

/// One subscriber's queue.
pub(crate) struct Sink {
    pub(crate) id: u64,
    pub(crate) owner: ClientId,
    pub(crate) owner_name: Arc<str>,
    capacity: usize,
    state: Mutex<State>,
    /// Mirror of the queue length, so a spinning consumer can look without
    /// taking (and contending) the lock.
    len: AtomicUsize,
    dropped: AtomicU64,
    pub(crate) patterns: Mutex<Vec<Pattern>>,
    client: Arc<Counters>,
    broker: Arc<Counters>,
}

impl Sink {
    pub(crate) fn new(
        id: u64,
        owner: ClientId,
        owner_name: Arc<str>,
        capacity: usize,
        client: Arc<Counters>,
        broker: Arc<Counters>,
    ) -> Sink {
        let capacity = capacity.max(1);
        Sink {
            id,
            owner,
            owner_name,
            capacity,
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(capacity.min(1024)),
                waker: None,
                closed: false,
            }),
            len: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            patterns: Mutex::new(Vec::new()),
            client,
            broker,
        }
    }

    /// Queues an event, dropping the oldest one when full; never blocks on the consumer.
    pub(crate) fn push(&self, env: Arc<Envelope>) -> bool {
        let (waker, dropped) = {
            let mut s = self.state.lock();
            if s.closed {
                return false;
            }
            let dropped = if s.queue.len() >= self.capacity {
                s.queue.pop_front()
            } else {
                None
            };
            s.queue.push_back(env);
            self.len.store(s.queue.len(), Ordering::Release);
            (s.waker.take(), dropped)
        };
        if dropped.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.client.dropped.fetch_add(1, Ordering::Relaxed);
            self.broker.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // Wake (and free the dropped event) outside the lock.
        drop(dropped);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Moves every queued event into `out` (which must be empty).
    /// `Ready(false)` once the sink is closed and drained.
    pub(crate) fn poll_batch(
        &self,
        cx: &mut Context<'_>,
        out: &mut VecDeque<Arc<Envelope>>,
    ) -> Poll<bool> {
        let mut s = self.state.lock();
        if !s.queue.is_empty() {
            // Swap rather than drain: the consumer's empty deque keeps its allocation.
            std::mem::swap(&mut s.queue, out);
            self.len.store(0, Ordering::Release);
            return Poll::Ready(true);
        }
        if s.closed {
            return Poll::Ready(false);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Takes whatever is queued without registering for a wake-up.
    pub(crate) fn try_batch(&self, out: &mut VecDeque<Arc<Envelope>>) -> bool {
        if self.len.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut s = self.state.lock();
        if s.queue.is_empty() {
            return false;
        }
        std::mem::swap(&mut s.queue, out);
        self.len.store(0, Ordering::Release);
        true
    }

    /// Refuses further events and wakes the consumer so it sees the end.
    pub(crate) fn close(&self) {
        let waker = {
            let mut s = self.state.lock();
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Events dropped from this queue because it was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Queue capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}
