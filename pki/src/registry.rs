//! The master's pin registry: which leaf fingerprints belong to which host, and revocation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use tokio::sync::broadcast;

use crate::error::RegistryError;
use crate::fingerprint::Fingerprint;
use crate::host::HostName;

/// Outcome of looking up a presented leaf fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinDecision {
    /// The fingerprint is pinned to this host.
    Allowed {
        /// Host the certificate belongs to.
        host: HostName,
    },
    /// CA-signed, but the master never pinned it (or retired it after rotation).
    Unknown,
    /// The certificate was revoked.
    Revoked,
}

/// Source of truth for client-certificate pinning, consulted on every mesh handshake.
pub trait HostRegistry: Send + Sync {
    /// Decides whether the leaf with fingerprint `fp` may connect.
    fn lookup(&self, fp: &Fingerprint) -> PinDecision;
}

/// Fingerprints that stopped being valid; the mesh closes links that use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Host whose certificates were revoked.
    pub host: HostName,
    /// Every fingerprint that became invalid.
    pub fingerprints: Vec<Fingerprint>,
}

#[derive(Default)]
struct State {
    by_fp: HashMap<Fingerprint, HostName>,
    by_host: HashMap<HostName, Vec<Fingerprint>>,
    revoked: HashMap<Fingerprint, HostName>,
}

/// In-memory [`HostRegistry`], populated by the master from its database.
///
/// A host may have several fingerprints at once: during rotation both the old and the new
/// certificate are valid until the old one is retired.
pub struct MemoryRegistry {
    state: RwLock<State>,
    revocations: broadcast::Sender<Revocation>,
}

impl fmt::Debug for MemoryRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryRegistry")
            .field("hosts", &state.by_host.len())
            .field("revoked", &state.revoked.len())
            .finish()
    }
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// Revocations are rare; a subscriber that still lags must re-check its links with `lookup`.
const REVOCATION_BUFFER: usize = 256;

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        let (revocations, _) = broadcast::channel(REVOCATION_BUFFER);
        Self {
            state: RwLock::new(State::default()),
            revocations,
        }
    }

    // Every mutation below completes without panicking, so a poisoned lock still guards
    // consistent data and can be used.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pins `fp` to `host`, in addition to any fingerprint the host already has.
    pub fn allow(&self, host: &HostName, fp: Fingerprint) -> Result<(), RegistryError> {
        let mut state = self.write();
        if state.revoked.contains_key(&fp) {
            return Err(RegistryError::Revoked(fp.to_string()));
        }
        match state.by_fp.get(&fp) {
            Some(owner) if owner == host => return Ok(()),
            Some(owner) => {
                return Err(RegistryError::OtherHost {
                    fingerprint: fp.to_string(),
                    host: owner.to_string(),
                });
            }
            None => {}
        }
        state.by_fp.insert(fp, host.clone());
        state.by_host.entry(host.clone()).or_default().push(fp);
        Ok(())
    }

    /// Unpins `fp` (e.g. the old certificate after a rotation); it becomes `Unknown`, not revoked.
    pub fn retire(&self, host: &HostName, fp: &Fingerprint) -> bool {
        let mut state = self.write();
        if state.by_fp.get(fp) != Some(host) {
            return false;
        }
        state.by_fp.remove(fp);
        if let Some(fps) = state.by_host.get_mut(host) {
            fps.retain(|f| f != fp);
            if fps.is_empty() {
                state.by_host.remove(host);
            }
        }
        true
    }

    /// Revokes every fingerprint of `host`, announces it to subscribers and returns them.
    ///
    /// The host name stays usable: a later `allow` pins a newly enrolled certificate.
    pub fn revoke(&self, host: &HostName) -> Vec<Fingerprint> {
        let fingerprints = {
            let mut state = self.write();
            let fps = state.by_host.remove(host).unwrap_or_default();
            for fp in &fps {
                state.by_fp.remove(fp);
                state.revoked.insert(*fp, host.clone());
            }
            fps
        };
        if !fingerprints.is_empty() {
            tracing::warn!(%host, count = fingerprints.len(), "revoked host certificates");
            self.announce(host, fingerprints.clone());
        }
        fingerprints
    }

    /// Records `fp` as revoked (e.g. loaded from the database, or a single compromised cert).
    pub fn revoke_fingerprint(&self, host: &HostName, fp: Fingerprint) {
        {
            let mut state = self.write();
            if state.by_fp.get(&fp) == Some(host) {
                state.by_fp.remove(&fp);
                if let Some(fps) = state.by_host.get_mut(host) {
                    fps.retain(|f| f != &fp);
                    if fps.is_empty() {
                        state.by_host.remove(host);
                    }
                }
            }
            state.revoked.insert(fp, host.clone());
        }
        self.announce(host, vec![fp]);
    }

    fn announce(&self, host: &HostName, fingerprints: Vec<Fingerprint>) {
        // No subscriber simply means no live links to close.
        let _ = self.revocations.send(Revocation {
            host: host.clone(),
            fingerprints,
        });
    }

    /// Receives every later revocation; the mesh closes links whose fingerprint is listed.
    ///
    /// On `RecvError::Lagged` the subscriber missed some: it must re-check every live link
    /// with [`HostRegistry::lookup`].
    pub fn subscribe(&self) -> broadcast::Receiver<Revocation> {
        self.revocations.subscribe()
    }

    /// Fingerprints currently pinned to `host`.
    pub fn fingerprints(&self, host: &HostName) -> Vec<Fingerprint> {
        self.read().by_host.get(host).cloned().unwrap_or_default()
    }

    /// Hosts with at least one pinned fingerprint, sorted.
    pub fn hosts(&self) -> Vec<HostName> {
        let mut hosts: Vec<HostName> = self.read().by_host.keys().cloned().collect();
        hosts.sort();
        hosts
    }
}

impl HostRegistry for MemoryRegistry {
    fn lookup(&self, fp: &Fingerprint) -> PinDecision {
        let state = self.read();
        if state.revoked.contains_key(fp) {
            return PinDecision::Revoked;
        }
        match state.by_fp.get(fp) {
            Some(host) => PinDecision::Allowed { host: host.clone() },
            None => PinDecision::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn host(s: &str) -> HostName {
        s.parse().unwrap()
    }

    fn fp(n: u8) -> Fingerprint {
        Fingerprint::of_der(&[n])
    }

    #[test]
    fn allow_lookup_and_unknown() {
        let r = MemoryRegistry::new();
        r.allow(&host("a"), fp(1)).unwrap();
        assert_eq!(r.lookup(&fp(1)), PinDecision::Allowed { host: host("a") });
        assert_eq!(r.lookup(&fp(2)), PinDecision::Unknown);
        assert_eq!(r.hosts(), vec![host("a")]);
    }

    #[test]
    fn rotation_overlap_then_retire() {
        let r = MemoryRegistry::new();
        r.allow(&host("a"), fp(1)).unwrap();
        r.allow(&host("a"), fp(2)).unwrap();
        assert!(matches!(r.lookup(&fp(1)), PinDecision::Allowed { .. }));
        assert!(matches!(r.lookup(&fp(2)), PinDecision::Allowed { .. }));
        assert!(r.retire(&host("a"), &fp(1)));
        assert_eq!(r.lookup(&fp(1)), PinDecision::Unknown);
        assert!(matches!(r.lookup(&fp(2)), PinDecision::Allowed { .. }));
        assert!(!r.retire(&host("b"), &fp(2)), "retire checks the owner");
        assert_eq!(r.fingerprints(&host("a")), vec![fp(2)]);
    }

    #[test]
    fn a_fingerprint_belongs_to_one_host() {
        let r = MemoryRegistry::new();
        r.allow(&host("a"), fp(1)).unwrap();
        r.allow(&host("a"), fp(1)).unwrap();
        assert!(matches!(
            r.allow(&host("b"), fp(1)),
            Err(RegistryError::OtherHost { .. })
        ));
    }

    #[test]
    fn revoke_is_permanent_for_those_fingerprints() {
        let r = MemoryRegistry::new();
        r.allow(&host("a"), fp(1)).unwrap();
        r.allow(&host("a"), fp(2)).unwrap();
        let revoked = r.revoke(&host("a"));
        assert_eq!(revoked, vec![fp(1), fp(2)]);
        assert_eq!(r.lookup(&fp(1)), PinDecision::Revoked);
        assert_eq!(r.lookup(&fp(2)), PinDecision::Revoked);
        assert!(r.hosts().is_empty());
        assert!(matches!(
            r.allow(&host("a"), fp(1)),
            Err(RegistryError::Revoked(_))
        ));
        // Re-enrolling the host with a new certificate works.
        r.allow(&host("a"), fp(3)).unwrap();
        assert!(matches!(r.lookup(&fp(3)), PinDecision::Allowed { .. }));
    }

    #[tokio::test]
    async fn revocation_signal_fires_promptly() {
        let r = std::sync::Arc::new(MemoryRegistry::new());
        r.allow(&host("a"), fp(1)).unwrap();
        r.allow(&host("b"), fp(9)).unwrap();
        let mut rx = r.subscribe();
        let r2 = r.clone();
        let revoker = tokio::task::spawn_blocking(move || r2.revoke(&host("a")));
        let got = tokio::time::timeout(Duration::from_secs(1), rx.recv())
            .await
            .expect("signal within a second")
            .unwrap();
        assert_eq!(
            got,
            Revocation {
                host: host("a"),
                fingerprints: vec![fp(1)]
            }
        );
        revoker.await.unwrap();
        r.revoke_fingerprint(&host("b"), fp(9));
        let got = tokio::time::timeout(Duration::from_secs(1), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.fingerprints, vec![fp(9)]);
        assert_eq!(r.lookup(&fp(9)), PinDecision::Revoked);
        // Revoking a host with nothing pinned announces nothing.
        assert!(r.revoke(&host("nobody")).is_empty());
        assert!(rx.try_recv().is_err());
    }
}
