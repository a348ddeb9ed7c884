//! Identical concurrent reads share one database read and one serialisation.
//!
//! A dashboard's hottest requests are the same few pages asked by every open tab at
//! once (the newest events, the attacker list, the totals). A request that arrives while
//! an identical read is in flight waits for that read instead of starting its own, so
//! its answer is at most one query's duration older than its arrival; nothing is kept
//! once the read has finished. Authorisation is checked per request before joining.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use parking_lot::Mutex;
use serde::Serialize;

use super::ApiError;

type Pending = Shared<BoxFuture<'static, Result<Bytes, ApiError>>>;

/// Reads in flight, by key.
#[derive(Default)]
pub struct Coalescer {
    inflight: Mutex<HashMap<String, (u64, Pending)>>,
    next: AtomicU64,
}

impl std::fmt::Debug for Coalescer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("inflight", &self.inflight.lock().len())
            .finish()
    }
}

/// A JSON body already serialised.
#[derive(Debug, Clone)]
pub struct JsonBytes(pub Bytes);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

/// Serialises a response body once (pages of events run to tens of kilobytes: the buffer
/// starts large enough to avoid repeated growth).
pub fn to_json<T: Serialize>(value: &T) -> Result<Bytes, ApiError> {
    let mut buf = Vec::with_capacity(16 * 1024);
    serde_json::to_writer(&mut buf, value).map_err(ApiError::internal)?;
    Ok(Bytes::from(buf))
}

impl Coalescer {
    /// The JSON answer for `key`: joins the read in flight, or starts `read`.
    pub async fn json<F>(&self, key: String, read: F) -> Result<JsonBytes, ApiError>
    where
        F: std::future::Future<Output = Result<Bytes, ApiError>> + Send + 'static,
    {
        let (generation, pending) = {
            let mut map = self.inflight.lock();
            match map.get(&key) {
                Some((g, p)) => (*g, p.clone()),
                None => {
                    let g = self.next.fetch_add(1, Ordering::Relaxed);
                    let p = read.boxed().shared();
                    map.insert(key.clone(), (g, p.clone()));
                    (g, p)
                }
            }
        };
        let out = pending.await;
        let mut map = self.inflight.lock();
        if map.get(&key).is_some_and(|(g, _)| *g == generation) {
            map.remove(&key);
        }
        out.map(JsonBytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_identical_reads_run_once_and_later_ones_run_again() {
        let c = Arc::new(Coalescer::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let read = |runs: Arc<AtomicUsize>| async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(Bytes::from_static(b"[1]"))
        };
        let joined = futures::future::join_all((0..10).map(|_| {
            let (c, runs) = (c.clone(), runs.clone());
            async move { c.json("k".into(), read(runs)).await }
        }))
        .await;
        assert!(joined.iter().all(|r| r.as_ref().unwrap().0 == "[1]"));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        c.json("k".into(), read(runs.clone())).await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "nothing kept after the read"
        );
        c.json("other".into(), read(runs.clone())).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(c.inflight.lock().is_empty());
    }
}
