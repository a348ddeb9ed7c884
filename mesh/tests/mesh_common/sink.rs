//! The test implementation of the master's event sink: it records every committed record.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use decnet_mesh::quic::{EventSink, SinkError};
use decnet_pki::HostName;

/// Per sequence number: the payload and how often it was committed.
pub type Commits = HashMap<u64, (Bytes, u32)>;

/// Every committed `(seq, payload)` per host, with how often each seq was committed.
#[derive(Default)]
pub struct MemorySink {
    pub seen: Mutex<HashMap<HostName, Commits>>,
    /// Optional file where each commit appends `host seq payload` lines before returning.
    pub file: Option<Mutex<std::fs::File>>,
}

impl MemorySink {
    pub fn with_file(path: &Path) -> Self {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        MemorySink {
            seen: Mutex::default(),
            file: Some(Mutex::new(f)),
        }
    }

    /// Distinct sequence numbers committed for `host`.
    pub fn distinct(&self, host: &HostName) -> usize {
        self.seen.lock().unwrap().get(host).map_or(0, HashMap::len)
    }

    /// Checks `1..=last` all arrived intact (payload `ev-{seq}`); returns the duplicated seqs.
    pub fn verify(&self, host: &HostName, last: u64) -> Vec<u64> {
        let seen = self.seen.lock().unwrap();
        let got = seen.get(host).expect("nothing committed for host");
        let missing: Vec<u64> = (1..=last).filter(|s| !got.contains_key(s)).collect();
        assert!(
            missing.is_empty(),
            "{host}: {} records lost, first {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        for (seq, (payload, _)) in got {
            assert_eq!(
                payload.as_ref(),
                format!("ev-{seq}").as_bytes(),
                "payload of {seq} damaged"
            );
        }
        let mut dups: Vec<u64> = got
            .iter()
            .filter(|(_, (_, n))| *n > 1)
            .map(|(s, _)| *s)
            .collect();
        dups.sort_unstable();
        dups
    }
}

#[async_trait]
impl EventSink for MemorySink {
    async fn commit(&self, host: &HostName, batch: Vec<(u64, Bytes)>) -> Result<(), SinkError> {
        if let Some(f) = &self.file {
            let mut text = String::new();
            for (seq, payload) in &batch {
                text.push_str(&format!(
                    "{host} {seq} {}\n",
                    String::from_utf8_lossy(payload)
                ));
            }
            let mut f = f.lock().unwrap();
            f.write_all(text.as_bytes())
                .map_err(|e| SinkError(e.to_string()))?;
            f.flush().map_err(|e| SinkError(e.to_string()))?;
        }
        let mut seen = self.seen.lock().unwrap();
        let per_host = seen.entry(host.clone()).or_default();
        for (seq, payload) in batch {
            per_host.entry(seq).or_insert((payload, 0)).1 += 1;
        }
        Ok(())
    }
}

/// Contiguous runs of `seqs` (sorted): `(first, last)`.
pub fn runs(seqs: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &s in seqs {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == s => *last = s,
            _ => out.push((s, s)),
        }
    }
    out
}
