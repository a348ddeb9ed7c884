//! A cache of the few hottest read queries (the first page of `GET /events`, of
//! `GET /attackers`, and the stats summary), invalidated by every write that can change them.
//!
//! Dashboards poll these constantly while the data changes only when a batch is committed.
//! Writers in this process bump a generation ([`crate::store::Store::invalidate`], called by
//! the ingest after each commit and by decky updates); an entry is used only while the
//! generation is unchanged and it is younger than [`MAX_AGE`], which bounds staleness when
//! another process writes to the same database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Longest an entry is served, whatever the generation.
pub const MAX_AGE: Duration = Duration::from_millis(500);
/// Most entries per query kind (one per distinct page size).
const MAX_ENTRIES: usize = 16;

#[derive(Debug)]
struct Entry<V> {
    generation: u64,
    at: Instant,
    value: Arc<V>,
}

/// Entries of one query kind, by key.
#[derive(Debug)]
pub(crate) struct Slot<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V> Default for Slot<K, V> {
    fn default() -> Self {
        Slot {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V> Slot<K, V> {
    /// The value for `key` if still valid at `generation`.
    pub(crate) fn get(&self, key: &K, generation: u64) -> Option<Arc<V>> {
        let entries = self.entries.lock();
        let e = entries.get(key)?;
        (e.generation == generation && e.at.elapsed() < MAX_AGE).then(|| e.value.clone())
    }

    /// Stores a value read at `generation` (read before the query ran, so a write during
    /// the query leaves the entry already stale).
    pub(crate) fn put(&self, key: K, generation: u64, value: Arc<V>) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation,
                at: Instant::now(),
                value,
            },
        );
    }
}

/// The cached queries of one [`crate::store::Store`].
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    generation: AtomicU64,
    /// First page of events without search, range or cursor, by page size.
    pub(crate) events: Slot<u32, super::events::EventPage>,
    /// First page of attackers, by order and page size.
    pub(crate) attackers: Slot<(super::attackers::Sort, u32), super::attackers::AttackerPage>,
    /// The stats summary.
    pub(crate) stats: Slot<(), super::stats::Summary>,
}

impl ReadCache {
    /// The current generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Makes every entry stale.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_with_the_generation_and_with_age() {
        let slot: Slot<u32, String> = Slot::default();
        slot.put(1, 5, Arc::new("a".into()));
        assert_eq!(slot.get(&1, 5).as_deref().map(String::as_str), Some("a"));
        assert!(slot.get(&1, 6).is_none());
        assert!(slot.get(&2, 5).is_none());
        for k in 0..40 {
            slot.put(k, 5, Arc::new(k.to_string()));
        }
        assert!(slot.entries.lock().len() <= MAX_ENTRIES);
        std::thread::sleep(MAX_AGE + Duration::from_millis(10));
        assert!(slot.get(&39, 5).is_none());
    }
}
