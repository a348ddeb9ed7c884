//! Keeping the live registry and the `hosts` table in step.
//!
//! Revocations can come from another process (the CLI), so the database is polled; 500 ms
//! keeps "revocation closes a live link within a second". Link changes are written back as
//! host status (`online`/`offline`) and `last_seen`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use decnet_mesh::quic::{CaRenewer, CertificateRenewer, MasterMesh};
use decnet_pki::{Fingerprint, HostName, MemoryRegistry};
use rustls::pki_types::CertificateDer;
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::hosts::{self, HostStatus};

const POLL: Duration = Duration::from_millis(500);
/// How often `last_seen` of a connected host is refreshed.
const SEEN_EVERY: Duration = Duration::from_secs(30);

/// [`CaRenewer`] that also records pinned certificates in the database, so a renewed agent
/// is still recognised after a master restart.
pub struct PersistingRenewer {
    inner: CaRenewer,
    store: Store,
    registry: Arc<MemoryRegistry>,
}

impl PersistingRenewer {
    /// Wraps `inner`, which pins into the same registry the mesh uses.
    pub fn new(inner: CaRenewer, store: Store, registry: Arc<MemoryRegistry>) -> Self {
        PersistingRenewer {
            inner,
            store,
            registry,
        }
    }
}

#[async_trait]
impl CertificateRenewer for PersistingRenewer {
    async fn renew(
        &self,
        host: &HostName,
        current: &CertificateDer<'static>,
        csr_pem: &str,
    ) -> Result<String, String> {
        let pem = self.inner.renew(host, current, csr_pem).await?;
        store_pins(&self.store, &self.registry, host)
            .await
            .map_err(|e| format!("cannot record the renewed certificate: {e}"))?;
        Ok(pem)
    }

    fn connected(&self, host: &HostName, fingerprint: &Fingerprint) {
        self.inner.connected(host, fingerprint);
        let (store, registry, host) = (self.store.clone(), self.registry.clone(), host.clone());
        tokio::spawn(async move {
            if let Err(e) = store_pins(&store, &registry, &host).await {
                tracing::warn!(%host, error = %e, "cannot record retired certificates");
            }
        });
    }
}

/// Makes the stored fingerprints of `host` equal to the pinned ones.
async fn store_pins(
    store: &Store,
    registry: &MemoryRegistry,
    host: &HostName,
) -> Result<(), crate::store::StoreError> {
    let Some(row) = hosts::by_name(store, host.as_str()).await? else {
        return Ok(());
    };
    let pinned: HashSet<String> = registry
        .fingerprints(host)
        .iter()
        .map(Fingerprint::to_hex)
        .collect();
    for fp in &pinned {
        if !row.cert_fingerprints.contains(fp) {
            hosts::add_fingerprint(store, row.id, fp).await?;
        }
    }
    for fp in &row.cert_fingerprints {
        if !pinned.contains(fp) {
            hosts::remove_fingerprint(store, row.id, fp).await?;
        }
    }
    Ok(())
}

/// Polls until `cancel`: revocations into the registry, link changes into the table.
pub async fn run(
    store: Store,
    mesh: MasterMesh,
    registry: Arc<MemoryRegistry>,
    cancel: CancellationToken,
) {
    let mut online: HashMap<HostName, Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if let Err(e) = apply_revocations(&store, &registry).await {
            tracing::warn!(error = %e, "cannot read revocations; retrying");
        }
        if let Err(e) = record_links(&store, &mesh, &mut online).await {
            tracing::warn!(error = %e, "cannot record host link state; retrying");
        }
    }
}

async fn apply_revocations(
    store: &Store,
    registry: &MemoryRegistry,
) -> Result<(), crate::store::StoreError> {
    for host in hosts::revoked(store).await? {
        let Ok(name) = host.name.parse::<HostName>() else {
            continue;
        };
        if !registry.fingerprints(&name).is_empty() {
            let closed = registry.revoke(&name);
            tracing::warn!(host = %name, certificates = closed.len(), "host revoked: link closed");
        }
    }
    Ok(())
}

async fn record_links(
    store: &Store,
    mesh: &MasterMesh,
    online: &mut HashMap<HostName, Instant>,
) -> Result<(), crate::store::StoreError> {
    let connected = mesh.hosts();
    let now = Instant::now();
    for link in &connected {
        let due = online
            .get(&link.host)
            .is_none_or(|last| now.duration_since(*last) >= SEEN_EVERY);
        if !due {
            continue;
        }
        if let Some(row) = hosts::by_name(store, link.host.as_str()).await? {
            let address = link.remote.ip().to_string();
            hosts::seen(store, row.id, Some(&link.agent_version), Some(&address)).await?;
            if !online.contains_key(&link.host) {
                hosts::set_status(store, row.id, HostStatus::Online).await?;
                tracing::info!(host = %link.host, remote = %link.remote, "host online");
            }
        }
        online.insert(link.host.clone(), now);
    }
    let gone: Vec<HostName> = online
        .keys()
        .filter(|h| !connected.iter().any(|c| &c.host == *h))
        .cloned()
        .collect();
    for host in gone {
        online.remove(&host);
        if let Some(row) = hosts::by_name(store, host.as_str()).await? {
            hosts::set_status(store, row.id, HostStatus::Offline).await?;
            tracing::info!(%host, "host offline");
        }
    }
    Ok(())
}
