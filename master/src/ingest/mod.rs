//! Batch ingest: events into PostgreSQL with their derived rows, then notices on the bus.
//!
//! [`Ingest::commit`] writes one batch in one transaction: the events (idempotent on their
//! `(ts, id)`: a replay inserts nothing), then — from the rows actually inserted only — the
//! attackers, credentials (with reuse across targets), sessions, artifacts and hourly
//! tallies. After the commit it publishes `attacker.observed` (first sighting),
//! `credential.captured`, `credential.reuse.detected`, `attacker.session.started|ended` and
//! `system.log` (`batch_committed`) on the bus; publishing is best effort and never fails a
//! commit (the database is the source of truth).
//!
//! Invalid events (failing [`Event::validate`], or holding a NUL the database cannot store)
//! and undecodable records go to `rejected_events` with their bytes and the reason, in the
//! same transaction: never lost, never blocking the stream.
//!
//! Concurrent commits (one per agent stream) write derived rows in key order, so they do not
//! deadlock on them; a deadlock or serialization failure anyway is retried.

mod derive;
mod publish;
mod sink;
mod write;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use decnet_event::Event;
use decnet_mesh::bus::Bus;
use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;

pub use derive::{FILE_CAPTURED, SESSION_END_TYPES, SESSION_RECORDED};
pub use sink::MeshSink;

use crate::store::credentials::Target;
use crate::store::{Store, StoreError};

/// Attempts of one commit when the database reports a deadlock or serialization failure.
const ATTEMPTS: u32 = 3;

/// Why a batch could not be committed (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host name cannot be stored.
    #[error("invalid host name {0:?}")]
    InvalidHost(String),
}

impl From<tokio_postgres::Error> for IngestError {
    fn from(e: tokio_postgres::Error) -> Self {
        IngestError::Store(StoreError::Query(e))
    }
}

/// A record that could not be stored as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its sequence number on the durable stream, if it came from one.
    pub seq: Option<u64>,
    /// Its bytes as received (CBOR), or the event re-encoded.
    pub raw: Vec<u8>,
    /// Why it was refused.
    pub reason: String,
}

/// An attacker seen for the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttacker {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its address.
    pub ip: IpAddr,
    /// Time of its first event.
    pub first_seen: OffsetDateTime,
    /// Decky of its first event.
    pub decky: String,
    /// Service of its first event.
    pub service: String,
}

/// A credential tried in this batch (one per attacker, target, principal and secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedCredential {
    /// Who tried it.
    pub attacker_ip: IpAddr,
    /// Where.
    pub decky: String,
    /// On which service.
    pub service: String,
    /// User or account ('' when none).
    pub principal: String,
    /// What the secret is.
    pub secret_kind: String,
    /// SHA-256 of the secret, lowercase hex.
    pub secret_sha256: String,
    /// The secret for display.
    pub secret_printable: String,
    /// Outcome of the latest attempt in the batch.
    pub outcome: Option<String>,
    /// Attempts in this batch.
    pub attempts: i64,
    /// Whether this credential was never stored before.
    pub first_capture: bool,
    /// Latest attempt in the batch.
    pub last_seen: OffsetDateTime,
}

/// A secret that reached one more target, having been seen on two or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReuseDetected {
    /// SHA-256 of the secret, lowercase hex.
    pub secret_sha256: String,
    /// What the secret is.
    pub secret_kind: String,
    /// The secret for display.
    pub secret_printable: String,
    /// Every target it was tried on.
    pub targets: Vec<Target>,
    /// Targets before this batch.
    pub previous_target_count: i32,
    /// Targets now.
    pub target_count: i32,
    /// Attempts in total.
    pub attempt_count: i64,
}

/// A session seen for the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStarted {
    /// Session id.
    pub sid: String,
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
    /// Attacker address.
    pub src_ip: IpAddr,
    /// Attacker port.
    pub src_port: u16,
    /// Time of its first event.
    pub started_at: OffsetDateTime,
}

/// A session that ended in this batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnded {
    /// Session id.
    pub sid: String,
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
    /// Attacker address.
    pub src_ip: IpAddr,
    /// Time of its first event.
    pub started_at: OffsetDateTime,
    /// When it ended.
    pub ended_at: OffsetDateTime,
    /// `ended_at - started_at` in seconds.
    pub duration_s: f64,
    /// Its transcript shard, if recorded.
    pub transcript_shard: Option<String>,
}

/// What one commit stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitOutcome {
    /// Records received (events and rejected records).
    pub received: usize,
    /// Events newly stored.
    pub inserted: usize,
    /// Events already stored (replays), skipped.
    pub duplicates: usize,
    /// Records stored in `rejected_events`.
    pub rejected: usize,
    /// Credential events whose `secret_b64` is not valid base64 (stored, not derived).
    pub bad_credentials: usize,
    /// Attackers seen for the first time.
    pub new_attackers: Vec<NewAttacker>,
    /// Credentials tried in the batch.
    pub credentials: Vec<CapturedCredential>,
    /// Secrets newly seen on one more target.
    pub reuse: Vec<ReuseDetected>,
    /// Sessions that started.
    pub sessions_started: Vec<SessionStarted>,
    /// Sessions that ended.
    pub sessions_ended: Vec<SessionEnded>,
    /// The newly stored events, oldest first (for live streams).
    pub events: Vec<Event>,
}

/// Counters since start, for health reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Batches committed.
    pub batches: u64,
    /// Events newly stored.
    pub events: u64,
    /// Replayed events skipped.
    pub duplicates: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Commits that failed.
    pub failures: u64,
    /// When the latest commit succeeded.
    pub last_commit: Option<OffsetDateTime>,
    /// Newest event time stored (ingest lag = now − this, while events flow).
    pub newest_event: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    events: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    failures: AtomicU64,
    times: Mutex<(Option<OffsetDateTime>, Option<OffsetDateTime>)>,
}

/// The ingest: cheap to clone, shared by every stream.
#[derive(Debug, Clone)]
pub struct Ingest {
    store: Store,
    bus: Bus,
    counters: Arc<Counters>,
}

impl Ingest {
    /// An ingest writing to `store` and publishing on `bus`.
    pub fn new(store: Store, bus: Bus) -> Ingest {
        Ingest {
            store,
            bus,
            counters: Arc::default(),
        }
    }

    /// Stores `batch` from `host` and publishes what it changed.
    pub async fn commit(
        &self,
        host: &str,
        batch: Vec<Event>,
    ) -> Result<CommitOutcome, IngestError> {
        self.commit_with_rejected(host, batch, Vec::new()).await
    }

    /// Like [`Ingest::commit`], also storing records already known to be unusable.
    pub async fn commit_with_rejected(
        &self,
        host: &str,
        batch: Vec<Event>,
        mut rejected: Vec<Rejected>,
    ) -> Result<CommitOutcome, IngestError> {
        if host.contains('\0') {
            return Err(IngestError::InvalidHost(host.to_owned()));
        }
        let received = batch.len() + rejected.len();
        let events = screen(batch, &mut rejected);
        let result = self.write_with_retry(host, events, &rejected).await;
        let mut outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        if outcome.inserted > 0 {
            self.store.invalidate();
        }
        outcome.received = received;
        outcome.rejected = rejected.len();
        self.count(&outcome);
        publish::publish(&self.bus, host, &outcome).await;
        Ok(outcome)
    }

    async fn write_with_retry(
        &self,
        host: &str,
        events: Vec<Event>,
        rejected: &[Rejected],
    ) -> Result<CommitOutcome, IngestError> {
        let mut attempt = 1;
        loop {
            match self.write_once(host, &events, rejected).await {
                Err(IngestError::Store(StoreError::Query(e)))
                    if attempt < ATTEMPTS && is_transient(&e) =>
                {
                    tracing::warn!(attempt, error = %e, "ingest commit conflicted; retrying");
                    attempt += 1;
                }
                Err(e) => return Err(e),
                Ok((mut outcome, inserted)) => {
                    outcome.events = events;
                    outcome.events.retain(|e| inserted.contains(&e.id));
                    return Ok(outcome);
                }
            }
        }
    }

    async fn write_once(
        &self,
        host: &str,
        events: &[Event],
        rejected: &[Rejected],
    ) -> Result<(CommitOutcome, HashSet<uuid::Uuid>), IngestError> {
        let mut client = self.store.pool().get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await?;
        let mut outcome = CommitOutcome::default();
        let inserted = write::write(&tx, host, events, rejected, &mut outcome).await?;
        tx.commit().await?;
        Ok((outcome, inserted))
    }

    fn count(&self, o: &CommitOutcome) {
        let c = &self.counters;
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.events.fetch_add(o.inserted as u64, Ordering::Relaxed);
        c.duplicates
            .fetch_add(o.duplicates as u64, Ordering::Relaxed);
        c.rejected.fetch_add(o.rejected as u64, Ordering::Relaxed);
        let newest = o.events.iter().map(|e| e.ts).max();
        let mut times = c.times.lock();
        times.0 = Some(OffsetDateTime::now_utc());
        times.1 = times.1.max(newest);
    }

    /// Counters since this ingest was created.
    pub fn stats(&self) -> IngestStats {
        let c = &self.counters;
        let (last_commit, newest_event) = *c.times.lock();
        IngestStats {
            batches: c.batches.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            last_commit,
            newest_event,
        }
    }

    /// The store it writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

fn is_transient(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// Why `event` cannot be stored, if it cannot.
pub(crate) fn problem(event: &Event) -> Option<String> {
    match event.validate() {
        Err(e) => Some(e.to_string()),
        Ok(()) if has_nul(event) => Some("contains a NUL character".to_owned()),
        Ok(()) => None,
    }
}

/// Keeps valid events with distinct ids, oldest first; moves the rest to `rejected`.
///
/// Sorting makes concurrent commits of overlapping batches insert in the same order, so
/// they wait for each other instead of deadlocking.
fn screen(batch: Vec<Event>, rejected: &mut Vec<Rejected>) -> Vec<Event> {
    let mut seen = HashSet::with_capacity(batch.len());
    let mut out = Vec::with_capacity(batch.len());
    for event in batch {
        if let Some(reason) = problem(&event) {
            rejected.push(Rejected {
                seq: None,
                raw: event.to_cbor().unwrap_or_default(),
                reason,
            });
        } else if seen.insert(event.id) {
            out.push(event);
        }
    }
    out.sort_by_key(|e| (e.ts, e.id));
    out
}

/// PostgreSQL text and jsonb cannot hold NUL.
fn has_nul(e: &Event) -> bool {
    let nul = |s: &str| s.contains('\0');
    nul(&e.host)
        || e.session_id.as_deref().is_some_and(nul)
        || e.msg.as_deref().is_some_and(nul)
        || e.fields.iter().any(|(k, v)| nul(k) || nul(v))
}

#[cfg(test)]
mod tests;
