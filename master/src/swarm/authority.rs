//! Enrollment decided over the database: the token hash, expiry, host and single use are
//! checked against `enrollment_tokens`, the host is recorded in `hosts` and pinned live.

use std::sync::Arc;

use async_trait::async_trait;
use decnet_mesh::enroll::{Enrollment, EnrollmentAuthority, Issued, Refusal};
use decnet_pki::{AGENT_CERT_VALIDITY, CertificateAuthority, MemoryRegistry};
use time::OffsetDateTime;

use crate::store::Store;
use crate::store::hosts::{self, HostStatus};

/// [`EnrollmentAuthority`] over the master's store, CA and live registry.
pub struct DbAuthority {
    store: Store,
    ca: Arc<CertificateAuthority>,
    registry: Arc<MemoryRegistry>,
    mesh_addrs: Vec<String>,
}

impl std::fmt::Debug for DbAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbAuthority")
            .field("mesh_addrs", &self.mesh_addrs)
            .finish_non_exhaustive()
    }
}

impl DbAuthority {
    /// Issues with `ca`, pins in `registry`, and tells agents to dial `mesh_addrs`.
    pub fn new(
        store: Store,
        ca: Arc<CertificateAuthority>,
        registry: Arc<MemoryRegistry>,
        mesh_addrs: Vec<String>,
    ) -> Self {
        DbAuthority {
            store,
            ca,
            registry,
            mesh_addrs,
        }
    }

    async fn check_token(&self, request: &Enrollment) -> Result<(), Refusal> {
        let hash = request.secret.hash();
        let token = hosts::token_by_hash(&self.store, hash.as_bytes())
            .await
            .map_err(unavailable)?
            .ok_or(Refusal::UnknownToken)?;
        if token.used_at.is_some() {
            tracing::warn!(host = %request.host, peer = %request.peer, "enrollment token replayed");
            return Err(Refusal::AlreadyUsed);
        }
        if token.revoked_at.is_some() {
            return Err(Refusal::UnknownToken);
        }
        if token.expires_at <= OffsetDateTime::now_utc() {
            return Err(Refusal::Expired);
        }
        if token.host_name != request.host.as_str() {
            return Err(Refusal::NameMismatch {
                token_host: token.host_name,
            });
        }
        Ok(())
    }
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "enrollment failed on the database");
    Refusal::Unavailable("database unavailable".into())
}

#[async_trait]
impl EnrollmentAuthority for DbAuthority {
    async fn enroll(&self, request: &Enrollment) -> Result<Issued, Refusal> {
        self.check_token(request).await?;
        // Issue before consuming, so a bad CSR does not burn the operator's token.
        let issued = self
            .ca
            .issue_from_csr(&request.csr_pem, &request.host, AGENT_CERT_VALIDITY)
            .map_err(|e| Refusal::BadCsr(e.to_string()))?;
        if let Some(existing) = hosts::by_name(&self.store, request.host.as_str())
            .await
            .map_err(unavailable)?
            && existing.status != HostStatus::Revoked
        {
            return Err(Refusal::Unavailable(format!(
                "a host named {} is already enrolled; revoke it first",
                request.host
            )));
        }
        let hash = request.secret.hash();
        if hosts::consume_token(&self.store, hash.as_bytes())
            .await
            .map_err(unavailable)?
            .is_none()
        {
            // Lost a race with another use of the same token.
            tracing::warn!(host = %request.host, peer = %request.peer, "enrollment token replayed");
            return Err(Refusal::AlreadyUsed);
        }
        let fingerprint = issued.fingerprint.to_hex();
        hosts::enroll(
            &self.store,
            request.host.as_str(),
            &fingerprint,
            Some(&request.agent_version),
            Some(&request.peer.ip().to_string()),
        )
        .await
        .map_err(unavailable)?;
        self.registry
            .allow(&request.host, issued.fingerprint)
            .map_err(|e| Refusal::Unavailable(e.to_string()))?;
        Ok(Issued {
            cert_pem: issued.pem,
            ca_pem: self.ca.cert_pem().to_owned(),
            mesh_addrs: self.mesh_addrs.clone(),
        })
    }
}
