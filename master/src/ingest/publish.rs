//! Notices on the master bus after a commit. Topics come only from the mesh catalogue.

use std::net::IpAddr;

use decnet_mesh::bus::Bus;
use decnet_mesh::topic::{attacker, credential, system};
use decnet_mesh::{BusError, Topic};
use serde::Serialize;
use time::OffsetDateTime;

use super::CommitOutcome;

/// Event type of the `system.log` notice of a commit.
pub const BATCH_COMMITTED: &str = "batch_committed";

fn ts(t: OffsetDateTime) -> String {
    decnet_event::timestamp::format(t)
}

/// `attacker.observed` payload.
#[derive(Debug, Serialize)]
pub struct Observed<'a> {
    /// Attacker id.
    pub attacker_id: String,
    /// Its address.
    pub ip: IpAddr,
    /// Time of its first event (RFC 3339).
    pub first_seen: String,
    /// Decky of its first event.
    pub decky: &'a str,
    /// Service of its first event.
    pub service: &'a str,
}

/// `credential.captured` payload.
#[derive(Debug, Serialize)]
pub struct Captured<'a> {
    /// Who tried it.
    pub attacker_ip: IpAddr,
    /// Where.
    pub decky: &'a str,
    /// On which service.
    pub service: &'a str,
    /// User or account.
    pub principal: &'a str,
    /// What the secret is.
    pub secret_kind: &'a str,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: &'a str,
    /// The secret for display.
    pub secret_printable: &'a str,
    /// Latest outcome.
    pub outcome: Option<&'a str>,
    /// Attempts in the batch.
    pub attempts: i64,
    /// Never stored before.
    pub first_capture: bool,
    /// Latest attempt (RFC 3339).
    pub last_seen: String,
}

/// One target in a reuse notice.
#[derive(Debug, Serialize)]
pub struct TargetPayload<'a> {
    /// Decky.
    pub decky: &'a str,
    /// Service.
    pub service: &'a str,
}

/// `credential.reuse.detected` payload.
#[derive(Debug, Serialize)]
pub struct Reuse<'a> {
    /// SHA-256 of the secret, hex.
    pub secret_sha256: &'a str,
    /// What the secret is.
    pub secret_kind: &'a str,
    /// The secret for display.
    pub secret_printable: &'a str,
    /// Every target it was tried on.
    pub targets: Vec<TargetPayload<'a>>,
    /// Targets before the batch.
    pub previous_target_count: i32,
    /// Targets now.
    pub target_count: i32,
    /// Attempts in total.
    pub attempt_count: i64,
}

/// `attacker.session.started` payload.
#[derive(Debug, Serialize)]
pub struct Started<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// Attacker address.
    pub attacker_ip: IpAddr,
    /// Attacker port.
    pub attacker_port: u16,
    /// Decky.
    pub decky: &'a str,
    /// Service.
    pub service: &'a str,
    /// Start (RFC 3339).
    pub started_at: String,
}

/// `attacker.session.ended` payload.
#[derive(Debug, Serialize)]
pub struct Ended<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// Attacker address.
    pub attacker_ip: IpAddr,
    /// Decky.
    pub decky: &'a str,
    /// Service.
    pub service: &'a str,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub ended_at: String,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Transcript shard, if recorded.
    pub shard_path: Option<&'a str>,
}

/// `system.log` payload of a commit.
#[derive(Debug, Serialize)]
pub struct Committed<'a> {
    /// Always [`BATCH_COMMITTED`].
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Host the batch came from.
    pub host: &'a str,
    /// Records received.
    pub received: usize,
    /// Events newly stored.
    pub inserted: usize,
    /// Replays skipped.
    pub duplicates: usize,
    /// Records rejected.
    pub rejected: usize,
    /// Attackers seen for the first time.
    pub new_attackers: usize,
}

async fn send<T: Serialize>(bus: &Bus, topic: &Topic, kind: &'static str, payload: &T) {
    if let Err(e) = bus.publish(topic, kind, payload).await {
        log_failure(topic, &e);
    }
}

fn log_failure(topic: &Topic, e: &BusError) {
    tracing::warn!(%topic, error = %e, "could not publish an ingest notice; the database has it");
}

/// Publishes every notice of `o`; failures are logged, never returned.
pub(super) async fn publish(bus: &Bus, host: &str, o: &CommitOutcome) {
    if !bus.is_enabled() {
        return;
    }
    let observed = attacker::observed();
    for a in &o.new_attackers {
        let p = Observed {
            attacker_id: a.id.to_string(),
            ip: a.ip,
            first_seen: ts(a.first_seen),
            decky: &a.decky,
            service: &a.service,
        };
        send(bus, &observed, "observed", &p).await;
    }
    let captured = credential::captured();
    for c in &o.credentials {
        let p = Captured {
            attacker_ip: c.attacker_ip,
            decky: &c.decky,
            service: &c.service,
            principal: &c.principal,
            secret_kind: &c.secret_kind,
            secret_sha256: &c.secret_sha256,
            secret_printable: &c.secret_printable,
            outcome: c.outcome.as_deref(),
            attempts: c.attempts,
            first_capture: c.first_capture,
            last_seen: ts(c.last_seen),
        };
        send(bus, &captured, "captured", &p).await;
    }
    let reuse = credential::reuse_detected();
    for r in &o.reuse {
        let p = Reuse {
            secret_sha256: &r.secret_sha256,
            secret_kind: &r.secret_kind,
            secret_printable: &r.secret_printable,
            targets: r
                .targets
                .iter()
                .map(|t| TargetPayload {
                    decky: &t.decky,
                    service: &t.service,
                })
                .collect(),
            previous_target_count: r.previous_target_count,
            target_count: r.target_count,
            attempt_count: r.attempt_count,
        };
        send(bus, &reuse, "reuse_detected", &p).await;
    }
    let started = attacker::session_started();
    for s in &o.sessions_started {
        let p = Started {
            session_id: &s.sid,
            attacker_ip: s.src_ip,
            attacker_port: s.src_port,
            decky: &s.decky,
            service: &s.service,
            started_at: ts(s.started_at),
        };
        send(bus, &started, "session_started", &p).await;
    }
    let ended = attacker::session_ended();
    for s in &o.sessions_ended {
        let p = Ended {
            session_id: &s.sid,
            attacker_ip: s.src_ip,
            decky: &s.decky,
            service: &s.service,
            started_at: ts(s.started_at),
            ended_at: ts(s.ended_at),
            duration_s: s.duration_s,
            shard_path: s.transcript_shard.as_deref(),
        };
        send(bus, &ended, "session_ended", &p).await;
    }
    let p = Committed {
        kind: BATCH_COMMITTED,
        host,
        received: o.received,
        inserted: o.inserted,
        duplicates: o.duplicates,
        rejected: o.rejected,
        new_attackers: o.new_attackers.len(),
    };
    send(bus, &system::log(), BATCH_COMMITTED, &p).await;
}
