//! The durable event stream: outbox records, with sequence numbers, from agent to sink.
//!
//! The agent keeps up to [`DurableTuning::max_inflight_batches`] batches (and
//! [`DurableTuning::max_inflight_bytes`]) unacknowledged on the stream, so the link stays busy
//! while the master commits. The master reads batches into a bounded queue; its committer
//! takes everything queued, hands it to the [`EventSink`] in one commit, retries a failed
//! commit until it succeeds (back-pressure reaches the agent through the queue and QUIC flow
//! control), and only then acknowledges the highest sequence number, cumulatively. The agent
//! trims its outbox up to that number. A reconnect starts again at the outbox's first
//! unacknowledged record, so a record whose acknowledgement was lost is delivered twice and no
//! record is ever skipped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use decnet_outbox::{Outbox, ReadLimits};
use decnet_pki::HostName;
use quinn::{Connection, SendStream};
use tokio::sync::mpsc;

use super::proto::{
    Batch, DurableAck, DurableOpen, FrameReader, Open, ProtoError, codec::write_message, encode,
};

/// The agent-side log the stream reads from (the on-disk outbox in production).
#[async_trait]
pub trait DurableSource: Send + Sync + 'static {
    /// The first record neither acknowledged nor dropped: where streaming (re)starts.
    fn first_unacked(&self) -> u64;
    /// Waits until the record with sequence number `seq` (or a later one) is readable.
    async fn wait_readable(&self, seq: u64) -> Result<(), SourceError>;
    /// Readable records from `seq` on, at most `max_records` and about `max_bytes`.
    fn read(
        &self,
        seq: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Bytes)>, SourceError>;
    /// The master committed everything up to and including `seq`.
    fn ack(&self, seq: u64) -> Result<(), SourceError>;
}

/// The source failed (disk error, closed outbox).
#[derive(Debug, thiserror::Error)]
#[error("durable source: {0}")]
pub struct SourceError(pub String);

/// Where the master commits durable records (PostgreSQL ingest in production).
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Commits `batch` for `host`; records may repeat after a reconnect (ids are unique, so
    /// the sink makes replays idempotent). Returning `Ok` means durably stored.
    async fn commit(&self, host: &HostName, batch: Vec<(u64, Bytes)>) -> Result<(), SinkError>;
}

/// The sink could not commit; the master retries the same records.
#[derive(Debug, thiserror::Error)]
#[error("event sink: {0}")]
pub struct SinkError(pub String);

/// Batching and windowing of the durable stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableTuning {
    /// Most records per batch.
    pub max_batch_records: usize,
    /// About the most payload bytes per batch (one larger record still goes alone).
    pub max_batch_bytes: usize,
    /// Most batches sent and not yet acknowledged.
    pub max_inflight_batches: usize,
    /// Most payload bytes sent and not yet acknowledged.
    pub max_inflight_bytes: usize,
    /// Batches the master buffers ahead of its sink.
    pub commit_queue: usize,
    /// Most records merged into one sink commit.
    pub max_commit_records: usize,
    /// Longest pause between retries of a failed sink commit.
    pub max_commit_retry: Duration,
    /// Pause before the agent reopens a durable stream that failed on a live connection.
    pub reopen_delay: Duration,
}

impl Default for DurableTuning {
    fn default() -> Self {
        DurableTuning {
            max_batch_records: 1024,
            max_batch_bytes: 512 * 1024,
            max_inflight_batches: 32,
            max_inflight_bytes: 16 * 1024 * 1024,
            commit_queue: 32,
            max_commit_records: 16 * 1024,
            max_commit_retry: Duration::from_secs(5),
            reopen_delay: Duration::from_secs(1),
        }
    }
}

#[async_trait]
impl DurableSource for Outbox {
    fn first_unacked(&self) -> u64 {
        Outbox::first_unacked(self)
    }

    async fn wait_readable(&self, seq: u64) -> Result<(), SourceError> {
        self.wait_for_records(seq.saturating_sub(1))
            .await
            .map(drop)
            .map_err(|e| SourceError(e.to_string()))
    }

    fn read(
        &self,
        seq: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Bytes)>, SourceError> {
        // Reads hit the page cache of segments fsynced moments ago; cheap enough to run on
        // the async worker.
        let records = self
            .read_from(
                seq,
                ReadLimits {
                    max_records,
                    max_bytes,
                },
            )
            .map_err(|e| SourceError(e.to_string()))?;
        Ok(records.into_iter().map(|r| (r.seq, r.payload)).collect())
    }

    fn ack(&self, seq: u64) -> Result<(), SourceError> {
        Outbox::ack(self, seq).map_err(|e| SourceError(e.to_string()))
    }
}

/// Why a durable stream ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DurableError {
    /// The stream or connection failed.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// The outbox failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The master acknowledged something never sent.
    #[error("acknowledgement {ack} beyond the last record sent ({sent})")]
    BadAck {
        /// Acknowledged sequence number.
        ack: u64,
        /// Last sequence number sent.
        sent: u64,
    },
}

struct InFlight {
    last_seq: u64,
    bytes: usize,
}

/// Agent side: streams the source on a new stream of `conn` until the stream or link fails.
pub(crate) async fn send_stream(
    conn: &Connection,
    source: &Arc<dyn DurableSource>,
    tuning: &DurableTuning,
) -> Result<(), DurableError> {
    let (mut send, recv) = conn
        .open_bi()
        .await
        .map_err(|e| ProtoError::Read(quinn::ReadError::ConnectionLost(e)))?;
    let mut next = source.first_unacked();
    write_message(&mut send, &Open::Durable(DurableOpen { from_seq: next })).await?;
    tracing::info!(from_seq = next, "durable stream opened");
    let mut acks = FrameReader::new(recv);
    let mut inflight: VecDeque<InFlight> = VecDeque::new();
    let mut inflight_bytes = 0usize;
    let mut out = BytesMut::with_capacity(tuning.max_batch_bytes + 1024);
    loop {
        let window_open = inflight.len() < tuning.max_inflight_batches
            && inflight_bytes < tuning.max_inflight_bytes;
        tokio::select! {
            biased;
            ack = acks.message::<DurableAck>() => {
                let seq = ack?.seq;
                let sent = inflight.back().map_or(0, |f| f.last_seq);
                if seq > sent {
                    return Err(DurableError::BadAck { ack: seq, sent });
                }
                source.ack(seq)?;
                while inflight.front().is_some_and(|f| f.last_seq <= seq) {
                    if let Some(done) = inflight.pop_front() {
                        inflight_bytes -= done.bytes;
                    }
                }
            }
            ready = source.wait_readable(next), if window_open => {
                ready?;
                let records = source.read(next, tuning.max_batch_records, tuning.max_batch_bytes)?;
                let Some(&(last_seq, _)) = records.last() else {
                    continue;
                };
                let bytes: usize = records.iter().map(|(_, b)| b.len()).sum();
                tracing::trace!(first = next, last = last_seq, bytes, "durable batch sent");
                encode(&Batch { records }, &mut out)?;
                send.write_chunk(out.split().freeze()).await.map_err(ProtoError::from)?;
                next = last_seq + 1;
                inflight.push_back(InFlight { last_seq, bytes });
                inflight_bytes += bytes;
            }
        }
    }
}

/// Master side: receives batches on one durable stream, commits them, acknowledges.
pub(crate) async fn receive_stream(
    host: HostName,
    mut send: SendStream,
    mut reader: FrameReader,
    sink: Arc<dyn EventSink>,
    tuning: DurableTuning,
    open: DurableOpen,
) -> Result<(), ProtoError> {
    tracing::info!(%host, from_seq = open.from_seq, "durable stream accepted");
    let (tx, mut rx) = mpsc::channel::<Vec<(u64, Bytes)>>(tuning.commit_queue.max(1));
    let read = async move {
        let mut last: Option<u64> = None;
        while let Some(frame) = reader.next().await? {
            let batch: Batch = super::proto::decode(&frame)?;
            for (seq, _) in &batch.records {
                if last.is_some_and(|l| *seq <= l) {
                    return Err(ProtoError::Unexpected(
                        "durable sequence numbers must increase",
                    ));
                }
                last = Some(*seq);
            }
            if !batch.records.is_empty() && tx.send(batch.records).await.is_err() {
                break;
            }
        }
        Ok::<(), ProtoError>(())
    };
    let commit = async {
        let mut ack_buf = BytesMut::with_capacity(64);
        while let Some(mut records) = rx.recv().await {
            while records.len() < tuning.max_commit_records {
                match rx.try_recv() {
                    Ok(more) => records.extend(more),
                    Err(_) => break,
                }
            }
            let Some(&(last, _)) = records.last() else {
                continue;
            };
            tracing::trace!(%host, last, records = records.len(), "durable commit");
            commit_with_retry(&host, sink.as_ref(), records, tuning.max_commit_retry).await;
            encode(&DurableAck { seq: last }, &mut ack_buf)?;
            send.write_chunk(ack_buf.split().freeze()).await?;
        }
        Ok::<(), ProtoError>(())
    };
    tokio::try_join!(read, commit).map(drop)
}

async fn commit_with_retry(
    host: &HostName,
    sink: &dyn EventSink,
    records: Vec<(u64, Bytes)>,
    max_pause: Duration,
) {
    let mut pause = Duration::from_millis(50);
    loop {
        match sink.commit(host, records.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(%host, error = %e, records = records.len(), retry_in = ?pause, "durable commit failed; the records stay unacknowledged and will be retried");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(max_pause);
            }
        }
    }
}
