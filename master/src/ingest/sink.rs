//! The mesh's durable-stream sink, backed by the ingest.

use async_trait::async_trait;
use bytes::Bytes;
use decnet_event::Event;
use decnet_mesh::quic::{EventSink, SinkError};
use decnet_pki::HostName;

use super::{Ingest, Rejected};

/// Commits durable-stream records (CBOR [`Event`]s) through an [`Ingest`].
///
/// A record that does not decode is stored in `rejected_events` with its bytes and the
/// reason, in the same transaction as the rest of the batch, so it neither blocks the
/// stream nor gets lost. A database failure is returned, and the mesh retries the batch.
#[derive(Debug, Clone)]
pub struct MeshSink {
    ingest: Ingest,
}

impl MeshSink {
    /// A sink committing through `ingest`.
    pub fn new(ingest: Ingest) -> MeshSink {
        MeshSink { ingest }
    }
}

/// Decodes records; undecodable or unstorable ones become [`Rejected`] with their bytes.
pub(super) fn decode(batch: Vec<(u64, Bytes)>) -> (Vec<Event>, Vec<Rejected>) {
    let mut events = Vec::with_capacity(batch.len());
    let mut rejected = Vec::new();
    for (seq, raw) in batch {
        let reason = match Event::from_cbor(&raw) {
            Ok(event) => match super::problem(&event) {
                None => {
                    events.push(event);
                    continue;
                }
                Some(reason) => reason,
            },
            Err(e) => e.to_string(),
        };
        rejected.push(Rejected {
            seq: Some(seq),
            raw: raw.to_vec(),
            reason,
        });
    }
    (events, rejected)
}

#[async_trait]
impl EventSink for MeshSink {
    async fn commit(&self, host: &HostName, batch: Vec<(u64, Bytes)>) -> Result<(), SinkError> {
        let (events, rejected) = decode(batch);
        // Traced events (a connection's first) get a delivery span and, under it, a span for
        // the database commit that stores them; both end when the commit returns.
        let spans: Vec<(tracing::Span, tracing::Span)> = events
            .iter()
            .filter_map(|e| {
                let tp = e.traceparent.as_deref()?;
                let deliver = tracing::info_span!("mesh.durable.deliver", %host, event.id = %e.id);
                decnet_mesh::trace::continue_trace(&deliver, tp);
                let commit =
                    tracing::info_span!(parent: &deliver, "master.ingest.commit", event.id = %e.id);
                Some((deliver, commit))
            })
            .collect();
        if !rejected.is_empty() {
            tracing::warn!(%host, count = rejected.len(), "undecodable durable records stored as rejected");
        }
        let result = self
            .ingest
            .commit_with_rejected(host.as_str(), events, rejected)
            .await
            .map(drop)
            .map_err(|e| SinkError(e.to_string()));
        drop(spans);
        result
    }
}
