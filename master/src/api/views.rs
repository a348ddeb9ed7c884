//! Response shapes of the read routes, documented for OpenAPI, converted from store rows.
//!
//! Times are RFC 3339 strings; addresses are strings.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::artifacts::Artifact;
use crate::store::attackers::Attacker;
use crate::store::credentials::{Credential, Principal, Secret};
use crate::store::sessions::Session;

/// RFC 3339 rendering for optional times.
mod opt_time {
    use serde::Serializer;
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(
        v: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => time::serde::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }
}

/// One attacker (per source address).
#[derive(Debug, Serialize, ToSchema)]
pub struct AttackerView {
    /// Identifier.
    pub id: Uuid,
    /// Source address.
    pub ip: String,
    /// First event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    /// Latest event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
    /// Events.
    pub event_count: i64,
    /// Services touched.
    pub services: Vec<String>,
    /// Deckies touched.
    pub deckies: Vec<String>,
    /// Distinct credentials tried.
    pub credential_count: i64,
    /// Sessions.
    pub session_count: i64,
}

impl From<Attacker> for AttackerView {
    fn from(a: Attacker) -> Self {
        Self {
            id: a.id,
            ip: a.ip.to_string(),
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            event_count: a.event_count,
            services: a.services,
            deckies: a.deckies,
            credential_count: a.credential_count,
            session_count: a.session_count,
        }
    }
}

/// One credential as tried by one attacker on one target.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// Row id.
    pub id: i64,
    /// Who tried it.
    pub attacker_ip: String,
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
    /// User or account (empty when none).
    pub principal: String,
    /// Kind of secret.
    pub secret_kind: String,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    /// The secret, base64.
    pub secret_b64: String,
    /// The secret for display.
    pub secret_printable: String,
    /// Outcome of the latest attempt.
    pub last_outcome: Option<String>,
    /// Successful attempts.
    pub success_count: i64,
    /// Attempts.
    pub attempt_count: i64,
    /// First attempt.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    /// Latest attempt.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
}

impl From<Credential> for CredentialView {
    fn from(c: Credential) -> Self {
        Self {
            id: c.id,
            attacker_ip: c.attacker_ip.to_string(),
            decky: c.decky,
            service: c.service,
            principal: c.principal,
            secret_kind: c.secret_kind,
            secret_sha256: c.secret_sha256,
            secret_b64: c.secret_b64,
            secret_printable: c.secret_printable,
            last_outcome: c.last_outcome,
            success_count: c.success_count,
            attempt_count: c.attempt_count,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
        }
    }
}

/// A `(decky, service)` pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
}

/// One secret across every attacker and target.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    /// SHA-256, hex.
    pub sha256: String,
    /// Kind.
    pub kind: String,
    /// The secret, base64.
    pub b64: String,
    /// The secret for display.
    pub printable: String,
    /// Principals tried with it.
    pub principals: Vec<String>,
    /// Targets tried on.
    pub targets: Vec<TargetView>,
    /// Number of targets (two or more: reuse).
    pub target_count: i32,
    /// Attempts.
    pub attempt_count: i64,
    /// First attempt.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    /// Latest attempt.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
}

impl From<Secret> for SecretView {
    fn from(s: Secret) -> Self {
        Self {
            sha256: s.sha256,
            kind: s.kind,
            b64: s.b64,
            printable: s.printable,
            principals: s.principals,
            targets: s
                .targets
                .into_iter()
                .map(|t| TargetView {
                    decky: t.decky,
                    service: t.service,
                })
                .collect(),
            target_count: s.target_count,
            attempt_count: s.attempt_count,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
        }
    }
}

/// How often one principal was tried.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrincipalView {
    /// User or account.
    pub principal: String,
    /// Attempts.
    pub attempt_count: i64,
    /// First attempt.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    /// Latest attempt.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
}

impl From<Principal> for PrincipalView {
    fn from(p: Principal) -> Self {
        Self {
            principal: p.principal,
            attempt_count: p.attempt_count,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
        }
    }
}

/// One session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub sid: String,
    /// Sensor host.
    pub host: String,
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
    /// Attacker address.
    pub src_ip: String,
    /// Attacker port.
    pub src_port: u16,
    /// First event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    /// Latest event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_event_at: OffsetDateTime,
    /// End, if ended.
    #[serde(serialize_with = "opt_time::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// Events.
    pub event_count: i64,
    /// Whether a recording exists (`GET /sessions/{sid}/cast`).
    pub recorded: bool,
    /// Recording size in bytes.
    pub transcript_bytes: Option<i64>,
    /// Whether the recording hit its size cap.
    pub truncated: bool,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            sid: s.sid,
            host: s.host,
            decky: s.decky,
            service: s.service,
            src_ip: s.src_ip.to_string(),
            src_port: s.src_port,
            started_at: s.started_at,
            last_event_at: s.last_event_at,
            ended_at: s.ended_at,
            event_count: s.event_count,
            recorded: s.transcript_location.is_some(),
            transcript_bytes: s.transcript_bytes,
            truncated: s.truncated,
        }
    }
}

/// One captured file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactView {
    /// Row id.
    pub id: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Decky.
    pub decky: String,
    /// Service.
    pub service: String,
    /// Who put it there.
    pub src_ip: String,
    /// Path on the decky.
    pub origin: String,
    /// Name under which the agent stored it.
    pub stored_as: Option<String>,
    /// Session.
    pub session_id: Option<String>,
    /// Captures of the same file.
    pub seen_count: i64,
    /// First capture.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    /// Latest capture.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
}

impl From<Artifact> for ArtifactView {
    fn from(a: Artifact) -> Self {
        Self {
            id: a.id,
            sha256: a.sha256,
            size: a.size,
            decky: a.decky,
            service: a.service,
            src_ip: a.src_ip.to_string(),
            origin: a.origin,
            stored_as: a.stored_as,
            session_id: a.session_id,
            seen_count: a.seen_count,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
        }
    }
}

/// Counts per key (e.g. deckies per state).
pub type Counts = BTreeMap<String, i64>;
