//! What a batch of newly stored events adds to the derived tables, computed without I/O.
//!
//! Every map is ordered by its key, and the statements write rows in that order, so two
//! concurrent commits lock rows in the same order and cannot deadlock on them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use decnet_event::Event;
use decnet_event::credential::{OUTCOME, PRINCIPAL, SECRET_B64, SECRET_KIND, SECRET_PRINTABLE};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Event types that end a session; the earliest one is its end.
pub const SESSION_END_TYPES: [&str; 4] = [
    "disconnect",
    "session_end",
    "session_closed",
    "session_recorded",
];
/// Event type of a session recording's summary (fields `shard`, `bytes`, `truncated`).
pub const SESSION_RECORDED: &str = "session_recorded";
/// Event type of a captured file (fields `sha256`, `size`, `orig_path`, `stored_as`).
pub const FILE_CAPTURED: &str = "file_captured";
/// Principals kept per secret; the list is for display, the count is exact elsewhere.
pub const MAX_PRINCIPALS_PER_SECRET: usize = 100;

/// Per source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackerDelta {
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
    pub events: i64,
    pub services: BTreeSet<String>,
    pub deckies: BTreeSet<String>,
    /// Decky and service of the earliest event, for the first-sighting notice.
    pub first_decky: String,
    pub first_service: String,
}

/// Identity of a credential row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialKey {
    pub ip: IpAddr,
    pub decky: String,
    pub service: String,
    pub principal: String,
    pub kind: String,
    pub sha256: [u8; 32],
}

/// Attempts of one credential in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDelta {
    pub b64: String,
    pub printable: String,
    pub attempts: i64,
    pub successes: i64,
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
    pub last_outcome: Option<String>,
}

/// Attempts of one secret in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDelta {
    pub b64: String,
    pub printable: String,
    pub principals: BTreeSet<String>,
    /// `"decky service"` pairs.
    pub targets: BTreeSet<String>,
    pub attempts: i64,
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
}

/// Attempts of one principal in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalDelta {
    pub attempts: i64,
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
}

/// Events of one session in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDelta {
    pub decky: String,
    pub service: String,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
    pub events: i64,
    pub ended: Option<OffsetDateTime>,
    pub shard: Option<String>,
    pub bytes: Option<i64>,
    pub truncated: bool,
}

/// Identity of an artifact row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArtifactKey {
    pub sha256: [u8; 32],
    pub decky: String,
    pub service: String,
    pub src_ip: IpAddr,
    pub origin: String,
}

/// Captures of one artifact in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDelta {
    pub size: Option<i64>,
    pub stored_as: Option<String>,
    pub session_id: Option<String>,
    pub seen: i64,
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
}

/// Everything the derived tables gain from a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    pub attackers: BTreeMap<IpAddr, AttackerDelta>,
    pub credentials: BTreeMap<CredentialKey, CredentialDelta>,
    pub secrets: BTreeMap<([u8; 32], String), SecretDelta>,
    pub principals: BTreeMap<String, PrincipalDelta>,
    pub sessions: BTreeMap<String, SessionDelta>,
    pub artifacts: BTreeMap<ArtifactKey, ArtifactDelta>,
    /// Events per hour (unix seconds of the hour start).
    pub hourly_events: BTreeMap<i64, i64>,
    /// Credential fields that could not be used (invalid base64).
    pub bad_credentials: usize,
}

/// Unix seconds of the start of the hour holding `ts`.
pub fn hour_of(ts: OffsetDateTime) -> i64 {
    ts.unix_timestamp().div_euclid(3600) * 3600
}

fn widen(first: &mut OffsetDateTime, last: &mut OffsetDateTime, ts: OffsetDateTime) {
    *first = (*first).min(ts);
    *last = (*last).max(ts);
}

/// The secret of a credential event: its SHA-256 and bytes, if `secret_b64` is valid.
fn secret(event: &Event) -> Option<Option<([u8; 32], Vec<u8>)>> {
    let b64 = event.fields.get(SECRET_B64)?;
    Some(B64.decode(b64.as_bytes()).ok().map(|bytes| {
        let sha: [u8; 32] = Sha256::digest(&bytes).into();
        (sha, bytes)
    }))
}

/// Folds newly stored events into table deltas.
pub fn derive<'a>(events: impl IntoIterator<Item = &'a Event>) -> Derived {
    let mut d = Derived::default();
    for e in events {
        *d.hourly_events.entry(hour_of(e.ts)).or_default() += 1;
        attacker(&mut d, e);
        credential(&mut d, e);
        session(&mut d, e);
        artifact(&mut d, e);
    }
    d
}

fn attacker(d: &mut Derived, e: &Event) {
    let a = d
        .attackers
        .entry(e.src_ip)
        .or_insert_with(|| AttackerDelta {
            first: e.ts,
            last: e.ts,
            events: 0,
            services: BTreeSet::new(),
            deckies: BTreeSet::new(),
            first_decky: e.decky.clone(),
            first_service: e.service.clone(),
        });
    if e.ts < a.first {
        a.first_decky.clone_from(&e.decky);
        a.first_service.clone_from(&e.service);
    }
    widen(&mut a.first, &mut a.last, e.ts);
    a.events += 1;
    if !a.services.contains(&e.service) {
        a.services.insert(e.service.clone());
    }
    if !a.deckies.contains(&e.decky) {
        a.deckies.insert(e.decky.clone());
    }
}

fn credential(d: &mut Derived, e: &Event) {
    let Some(secret) = secret(e) else { return };
    let Some((sha256, bytes)) = secret else {
        d.bad_credentials += 1;
        return;
    };
    let field = |k: &str| e.fields.get(k).cloned();
    let principal = field(PRINCIPAL).unwrap_or_default();
    let kind = field(SECRET_KIND).unwrap_or_else(|| "unknown".to_owned());
    let b64 = field(SECRET_B64).unwrap_or_default();
    let printable =
        field(SECRET_PRINTABLE).unwrap_or_else(|| decnet_event::credential::printable(&bytes));
    let outcome = field(OUTCOME);
    let success = i64::from(outcome.as_deref() == Some("success"));

    let key = CredentialKey {
        ip: e.src_ip,
        decky: e.decky.clone(),
        service: e.service.clone(),
        principal: principal.clone(),
        kind: kind.clone(),
        sha256,
    };
    let c = d.credentials.entry(key).or_insert_with(|| CredentialDelta {
        b64: b64.clone(),
        printable: printable.clone(),
        attempts: 0,
        successes: 0,
        first: e.ts,
        last: e.ts,
        last_outcome: None,
    });
    if e.ts >= c.last || c.attempts == 0 {
        c.last_outcome.clone_from(&outcome);
    }
    widen(&mut c.first, &mut c.last, e.ts);
    c.attempts += 1;
    c.successes += success;

    let s = d
        .secrets
        .entry((sha256, kind))
        .or_insert_with(|| SecretDelta {
            b64,
            printable,
            principals: BTreeSet::new(),
            targets: BTreeSet::new(),
            attempts: 0,
            first: e.ts,
            last: e.ts,
        });
    if s.principals.len() < MAX_PRINCIPALS_PER_SECRET {
        s.principals.insert(principal.clone());
    }
    s.targets.insert(format!("{} {}", e.decky, e.service));
    s.attempts += 1;
    widen(&mut s.first, &mut s.last, e.ts);

    let p = d.principals.entry(principal).or_insert(PrincipalDelta {
        attempts: 0,
        first: e.ts,
        last: e.ts,
    });
    p.attempts += 1;
    widen(&mut p.first, &mut p.last, e.ts);
}

fn session(d: &mut Derived, e: &Event) {
    let Some(sid) = &e.session_id else { return };
    let s = d
        .sessions
        .entry(sid.clone())
        .or_insert_with(|| SessionDelta {
            decky: e.decky.clone(),
            service: e.service.clone(),
            src_ip: e.src_ip,
            src_port: e.src_port,
            first: e.ts,
            last: e.ts,
            events: 0,
            ended: None,
            shard: None,
            bytes: None,
            truncated: false,
        });
    widen(&mut s.first, &mut s.last, e.ts);
    s.events += 1;
    if SESSION_END_TYPES.contains(&e.event_type.as_str()) {
        s.ended = Some(s.ended.map_or(e.ts, |t| t.min(e.ts)));
    }
    if e.event_type == SESSION_RECORDED {
        let f = |k: &str| e.fields.get(k);
        if let Some(shard) = f("shard").or_else(|| f("shard_path")) {
            s.shard = Some(shard.clone());
        }
        if let Some(bytes) = f("bytes").and_then(|b| b.parse().ok()) {
            s.bytes = Some(bytes);
        }
        s.truncated |= f("truncated").is_some_and(|t| matches!(t.as_str(), "true" | "1"));
    }
}

fn artifact(d: &mut Derived, e: &Event) {
    if e.event_type != FILE_CAPTURED {
        return;
    }
    let f = |k: &str| e.fields.get(k);
    let Some(sha256) = f("sha256").and_then(|h| parse_sha256(h)) else {
        return;
    };
    let origin = f("orig_path")
        .or_else(|| f("path"))
        .cloned()
        .unwrap_or_default();
    let key = ArtifactKey {
        sha256,
        decky: e.decky.clone(),
        service: e.service.clone(),
        src_ip: e.src_ip,
        origin,
    };
    let a = d.artifacts.entry(key).or_insert_with(|| ArtifactDelta {
        size: None,
        stored_as: None,
        session_id: None,
        seen: 0,
        first: e.ts,
        last: e.ts,
    });
    a.seen += 1;
    widen(&mut a.first, &mut a.last, e.ts);
    if let Some(size) = f("size").and_then(|s| s.parse().ok()) {
        a.size = Some(size);
    }
    if let Some(stored) = f("stored_as") {
        a.stored_as = Some(stored.clone());
    }
    if e.session_id.is_some() {
        a.session_id.clone_from(&e.session_id);
    }
}

/// 32 bytes from exactly 64 hex digits.
pub fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let v = crate::store::credentials::decode_hex32(hex)?;
    v.try_into().ok()
}
