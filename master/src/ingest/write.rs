//! The statements of one commit, all in one transaction.
//!
//! Events go in first with `ON CONFLICT DO NOTHING RETURNING id`; only the rows actually
//! inserted feed the derived tables, so a replayed batch changes nothing. Every statement
//! takes whole columns as arrays (`unnest`), so a batch costs a fixed number of round trips.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use deadpool_postgres::Transaction;
use decnet_event::Event;
use time::OffsetDateTime;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::derive::{self, Derived, hour_of};
use super::{
    CapturedCredential, CommitOutcome, NewAttacker, Rejected, ReuseDetected, SessionEnded,
    SessionStarted,
};
use crate::store::credentials::parse_target;

const INSERT_EVENTS: &str = "INSERT INTO events \
    (ts, id, src_port, dst_port, src_ip, host, decky, service, event_type, session_id, msg, fields) \
    SELECT u.ts, u.id, u.sp, u.dp, u.ip, $6, u.decky, u.service, u.et, u.sid, u.msg, u.fields \
    FROM unnest($1::timestamptz[], $2::uuid[], $3::int4[], $4::int4[], $5::inet[], $7::text[], \
                $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[]) \
         AS u(ts, id, sp, dp, ip, decky, service, et, sid, msg, fields) \
    ON CONFLICT DO NOTHING RETURNING id";

const INSERT_REJECTED: &str = "INSERT INTO rejected_events (host, seq, raw, reason) \
    SELECT $1, * FROM unnest($2::int8[], $3::bytea[], $4::text[]) \
    ON CONFLICT (host, sha256(raw)) DO NOTHING";

const UPSERT_CREDENTIALS: &str = "INSERT INTO credentials AS c (attacker_ip, decky, service, \
    principal, secret_kind, secret_sha256, secret_b64, secret_printable, last_outcome, \
    success_count, attempt_count, first_seen, last_seen) \
    SELECT * FROM unnest($1::inet[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], \
                         $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], \
                         $12::timestamptz[], $13::timestamptz[]) \
    ON CONFLICT (attacker_ip, decky, service, principal, secret_kind, secret_sha256) DO UPDATE SET \
      attempt_count = c.attempt_count + excluded.attempt_count, \
      success_count = c.success_count + excluded.success_count, \
      first_seen = least(c.first_seen, excluded.first_seen), \
      last_outcome = CASE WHEN excluded.last_seen >= c.last_seen \
                          THEN coalesce(excluded.last_outcome, c.last_outcome) \
                          ELSE c.last_outcome END, \
      last_seen = greatest(c.last_seen, excluded.last_seen) \
    RETURNING attacker_ip, decky, service, principal, secret_kind, secret_sha256, (xmax = 0)";

// `old` reads the snapshot taken before the statement: the target counts before this
// commit, for reuse detection. A concurrent commit adding the same target can make both
// report it (a duplicate notice); none is ever missed, and the rows merge correctly.
const UPSERT_SECRETS: &str = "WITH old AS (SELECT s.secret_sha256, s.secret_kind, s.target_count \
      FROM unnest($1::bytea[], $2::text[]) AS k(sha, kind) \
      JOIN credential_secrets s ON s.secret_sha256 = k.sha AND s.secret_kind = k.kind), \
    up AS (INSERT INTO credential_secrets AS s (secret_sha256, secret_kind, \
    secret_b64, secret_printable, principals, targets, target_count, attempt_count, first_seen, \
    last_seen) \
    SELECT u.sha, u.kind, u.b64, u.printable, \
           ARRAY(SELECT jsonb_array_elements_text(u.principals)), \
           ARRAY(SELECT jsonb_array_elements_text(u.targets)), \
           jsonb_array_length(u.targets), u.attempts, u.first, u.last \
    FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], \
                $7::int8[], $8::timestamptz[], $9::timestamptz[]) \
         AS u(sha, kind, b64, printable, principals, targets, attempts, first, last) \
    ON CONFLICT (secret_sha256, secret_kind) DO UPDATE SET \
      principals = CASE WHEN s.principals @> excluded.principals \
                          OR cardinality(s.principals) >= 100 THEN s.principals ELSE \
                   (SELECT coalesce(array_agg(p ORDER BY p), '{}') FROM \
                    (SELECT DISTINCT p FROM unnest(s.principals || excluded.principals) p \
                     ORDER BY p LIMIT 100) x) END, \
      targets = CASE WHEN s.targets @> excluded.targets THEN s.targets ELSE \
                (SELECT array_agg(DISTINCT t ORDER BY t) \
                 FROM unnest(s.targets || excluded.targets) t) END, \
      target_count = CASE WHEN s.targets @> excluded.targets THEN s.target_count ELSE \
                     (SELECT count(DISTINCT t) FROM unnest(s.targets || excluded.targets) t) END, \
      attempt_count = s.attempt_count + excluded.attempt_count, \
      first_seen = least(s.first_seen, excluded.first_seen), \
      last_seen = greatest(s.last_seen, excluded.last_seen) \
    RETURNING secret_sha256, secret_kind, secret_printable, targets, target_count, attempt_count) \
    SELECT up.secret_sha256, up.secret_kind, up.secret_printable, up.targets, up.target_count, \
           up.attempt_count, coalesce(old.target_count, 0) \
    FROM up LEFT JOIN old ON old.secret_sha256 = up.secret_sha256 AND old.secret_kind = up.secret_kind";

const UPSERT_PRINCIPALS: &str = "INSERT INTO credential_principals AS p \
    (principal, attempt_count, first_seen, last_seen) \
    SELECT * FROM unnest($1::text[], $2::int8[], $3::timestamptz[], $4::timestamptz[]) \
    ON CONFLICT (principal) DO UPDATE SET \
      attempt_count = p.attempt_count + excluded.attempt_count, \
      first_seen = least(p.first_seen, excluded.first_seen), \
      last_seen = greatest(p.last_seen, excluded.last_seen)";

// The earliest end wins, so a session's `ended_at` is set once: it ended in this commit
// exactly when the stored end is this batch's end (compared by the caller).
const UPSERT_SESSIONS: &str = "INSERT INTO sessions AS s (sid, host, decky, service, src_ip, \
    src_port, started_at, last_event_at, ended_at, event_count, transcript_shard, \
    transcript_bytes, truncated) \
    SELECT u.sid, $13, u.decky, u.service, u.ip, u.port, u.first, u.last, u.ended, u.events, \
           u.shard, u.bytes, u.truncated \
    FROM unnest($1::text[], $2::text[], $3::text[], $4::inet[], $5::int4[], $6::timestamptz[], \
                $7::timestamptz[], $8::timestamptz[], $9::int8[], $10::text[], $11::int8[], \
                $12::bool[]) \
         AS u(sid, decky, service, ip, port, first, last, ended, events, shard, bytes, truncated) \
    ON CONFLICT (sid) DO UPDATE SET \
      started_at = least(s.started_at, excluded.started_at), \
      last_event_at = greatest(s.last_event_at, excluded.last_event_at), \
      ended_at = least(s.ended_at, excluded.ended_at), \
      event_count = s.event_count + excluded.event_count, \
      transcript_shard = coalesce(excluded.transcript_shard, s.transcript_shard), \
      transcript_bytes = coalesce(excluded.transcript_bytes, s.transcript_bytes), \
      truncated = s.truncated OR excluded.truncated \
    RETURNING sid, (xmax = 0), started_at, ended_at, transcript_shard";

const UPSERT_ARTIFACTS: &str = "INSERT INTO artifacts AS a (sha256, size, decky, service, src_ip, \
    origin, stored_as, session_id, seen_count, first_seen, last_seen) \
    SELECT * FROM unnest($1::bytea[], $2::int8[], $3::text[], $4::text[], $5::inet[], $6::text[], \
                         $7::text[], $8::text[], $9::int8[], $10::timestamptz[], \
                         $11::timestamptz[]) \
    ON CONFLICT (sha256, decky, service, src_ip, origin) DO UPDATE SET \
      size = coalesce(excluded.size, a.size), \
      stored_as = coalesce(excluded.stored_as, a.stored_as), \
      session_id = coalesce(excluded.session_id, a.session_id), \
      seen_count = a.seen_count + excluded.seen_count, \
      first_seen = least(a.first_seen, excluded.first_seen), \
      last_seen = greatest(a.last_seen, excluded.last_seen) \
    RETURNING first_seen, (xmax = 0)";

// Services and deckies travel space-joined: event validation guarantees neither contains
// whitespace, and a text[] per row cannot be unnested as one element.
const UPSERT_ATTACKERS: &str = "INSERT INTO attackers AS a (id, ip, first_seen, last_seen, \
    event_count, services, deckies, credential_count, session_count) \
    SELECT u.id, u.ip, u.first, u.last, u.events, string_to_array(u.services, ' '), \
           string_to_array(u.deckies, ' '), u.creds, u.sessions \
    FROM unnest($1::uuid[], $2::inet[], $3::timestamptz[], $4::timestamptz[], $5::int8[], \
                $6::text[], $7::text[], $8::int8[], $9::int8[]) \
         AS u(id, ip, first, last, events, services, deckies, creds, sessions) \
    ON CONFLICT (ip) DO UPDATE SET \
      first_seen = least(a.first_seen, excluded.first_seen), \
      last_seen = greatest(a.last_seen, excluded.last_seen), \
      event_count = a.event_count + excluded.event_count, \
      services = CASE WHEN a.services @> excluded.services THEN a.services ELSE \
        (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(a.services || excluded.services) x) END, \
      deckies = CASE WHEN a.deckies @> excluded.deckies THEN a.deckies ELSE \
        (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(a.deckies || excluded.deckies) x) END, \
      credential_count = a.credential_count + excluded.credential_count, \
      session_count = a.session_count + excluded.session_count, \
      updated_at = now() \
    RETURNING id, ip, first_seen, (xmax = 0)";

const UPSERT_HOURLY: &str = "INSERT INTO ingest_hourly AS h \
    (hour, events, attackers, credentials, sessions, artifacts) \
    SELECT to_timestamp(u.hour), u.e, u.a, u.c, u.s, u.r \
    FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) \
         AS u(hour, e, a, c, s, r) \
    ON CONFLICT (hour) DO UPDATE SET \
      events = h.events + excluded.events, attackers = h.attackers + excluded.attackers, \
      credentials = h.credentials + excluded.credentials, \
      sessions = h.sessions + excluded.sessions, artifacts = h.artifacts + excluded.artifacts";

/// Tallies per hour: events, attackers, credentials, sessions, artifacts.
type Hourly = BTreeMap<i64, [i64; 5]>;

/// Per-attacker counts of rows created in this commit.
#[derive(Default)]
struct PerIp {
    credentials: HashMap<IpAddr, i64>,
    sessions: HashMap<IpAddr, i64>,
}

/// Writes `events` (valid, distinct ids) and `rejected`; fills `out` except publishing and
/// `out.events`; returns the ids actually inserted.
pub(super) async fn write(
    tx: &Transaction<'_>,
    host: &str,
    events: &[Event],
    rejected: &[Rejected],
    out: &mut CommitOutcome,
) -> Result<HashSet<Uuid>, tokio_postgres::Error> {
    if !rejected.is_empty() {
        insert_rejected(tx, host, rejected).await?;
    }
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let t0 = std::time::Instant::now();
    let inserted = if std::env::var_os("DECNET_INGEST_COPY").is_some() {
        insert_events_copy(tx, host, events).await?
    } else {
        insert_events(tx, host, events).await?
    };
    let t_ev = t0.elapsed();
    out.duplicates = events.len() - inserted.len();
    out.inserted = inserted.len();
    if inserted.is_empty() {
        return Ok(inserted);
    }
    let d = derive::derive(events.iter().filter(|e| inserted.contains(&e.id)));
    out.bad_credentials = d.bad_credentials;
    let mut hourly: Hourly = d
        .hourly_events
        .iter()
        .map(|(h, n)| (*h, [*n, 0, 0, 0, 0]))
        .collect();
    let mut per_ip = PerIp::default();
    let t1 = std::time::Instant::now();
    // Rows private to this batch first; rows every batch shares (secrets, principals,
    // busy attackers, the current hour) last, so concurrent commits hold those locks only
    // for the last few statements and the commit.
    credentials(tx, &d, &mut hourly, &mut per_ip, out).await?;
    let t2 = std::time::Instant::now();
    sessions(tx, host, &d, &mut hourly, &mut per_ip, out).await?;
    artifacts(tx, &d, &mut hourly).await?;
    let t3 = std::time::Instant::now();
    secrets(tx, &d, out).await?;
    principals(tx, &d).await?;
    let t4 = std::time::Instant::now();
    attackers(tx, &d, &mut hourly, &per_ip, out).await?;
    upsert_hourly(tx, &hourly).await?;
    let t5 = std::time::Instant::now();
    if std::env::var_os("DECNET_INGEST_TIMINGS").is_some() {
        eprintln!(
            "TIMING events={:?} derive={:?} creds={:?} sessions={:?} secrets={:?} attackers={:?}",
            t_ev,
            t1 - t0 - t_ev,
            t2 - t1,
            t3 - t2,
            t4 - t3,
            t5 - t4
        );
    }
    Ok(inserted)
}

async fn insert_rejected(
    tx: &Transaction<'_>,
    host: &str,
    rejected: &[Rejected],
) -> Result<(), tokio_postgres::Error> {
    let seqs: Vec<Option<i64>> = rejected
        .iter()
        .map(|r| r.seq.and_then(|s| i64::try_from(s).ok()))
        .collect();
    let raws: Vec<&[u8]> = rejected.iter().map(|r| r.raw.as_slice()).collect();
    let reasons: Vec<&str> = rejected.iter().map(|r| r.reason.as_str()).collect();
    let stmt = tx.prepare_cached(INSERT_REJECTED).await?;
    tx.execute(&stmt, &[&host, &seqs, &raws, &reasons]).await?;
    Ok(())
}

async fn insert_events(
    tx: &Transaction<'_>,
    host: &str,
    events: &[Event],
) -> Result<HashSet<Uuid>, tokio_postgres::Error> {
    let n = events.len();
    let mut ts = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut sports = Vec::with_capacity(n);
    let mut dports = Vec::with_capacity(n);
    let mut ips = Vec::with_capacity(n);
    let mut deckies = Vec::with_capacity(n);
    let mut services = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut sids = Vec::with_capacity(n);
    let mut msgs = Vec::with_capacity(n);
    let mut fields = Vec::with_capacity(n);
    for e in events {
        ts.push(e.ts);
        ids.push(e.id);
        sports.push(i32::from(e.src_port));
        dports.push(i32::from(e.dst_port));
        ips.push(e.src_ip);
        deckies.push(e.decky.as_str());
        services.push(e.service.as_str());
        types.push(e.event_type.as_str());
        sids.push(e.session_id.as_deref());
        msgs.push(e.msg.as_deref());
        fields.push(Json(&e.fields));
    }
    let stmt = tx.prepare_cached(INSERT_EVENTS).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &ts, &ids, &sports, &dports, &ips, &host, &deckies, &services, &types, &sids,
                &msgs, &fields,
            ],
        )
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

async fn insert_events_copy(
    tx: &Transaction<'_>,
    host: &str,
    events: &[Event],
) -> Result<HashSet<Uuid>, tokio_postgres::Error> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::Type;
    tx.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (LIKE events) ON COMMIT DELETE ROWS",
    )
    .await?;
    let sink = tx
        .copy_in(
            "COPY ingest_stage (ts, id, src_port, dst_port, src_ip, host, decky, service, \
             event_type, session_id, msg, fields) FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::TIMESTAMPTZ,
        Type::UUID,
        Type::INT4,
        Type::INT4,
        Type::INET,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::JSONB,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for e in events {
        writer
            .as_mut()
            .write(&[
                &e.ts,
                &e.id,
                &i32::from(e.src_port),
                &i32::from(e.dst_port),
                &e.src_ip,
                &host,
                &e.decky,
                &e.service,
                &e.event_type,
                &e.session_id,
                &e.msg,
                &Json(&e.fields),
            ])
            .await?;
    }
    writer.finish().await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO events SELECT * FROM ingest_stage ON CONFLICT DO NOTHING RETURNING id",
        )
        .await?;
    let rows = tx.query(&stmt, &[]).await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

async fn credentials(
    tx: &Transaction<'_>,
    d: &Derived,
    hourly: &mut Hourly,
    per_ip: &mut PerIp,
    out: &mut CommitOutcome,
) -> Result<(), tokio_postgres::Error> {
    if d.credentials.is_empty() {
        return Ok(());
    }
    let (keys, deltas): (Vec<_>, Vec<_>) = d.credentials.iter().unzip();
    let ips: Vec<IpAddr> = keys.iter().map(|k| k.ip).collect();
    let deckies: Vec<&str> = keys.iter().map(|k| k.decky.as_str()).collect();
    let services: Vec<&str> = keys.iter().map(|k| k.service.as_str()).collect();
    let principals: Vec<&str> = keys.iter().map(|k| k.principal.as_str()).collect();
    let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
    let shas: Vec<&[u8]> = keys.iter().map(|k| k.sha256.as_slice()).collect();
    let b64s: Vec<&str> = deltas.iter().map(|c| c.b64.as_str()).collect();
    let printables: Vec<&str> = deltas.iter().map(|c| c.printable.as_str()).collect();
    let outcomes: Vec<Option<&str>> = deltas.iter().map(|c| c.last_outcome.as_deref()).collect();
    let successes: Vec<i64> = deltas.iter().map(|c| c.successes).collect();
    let attempts: Vec<i64> = deltas.iter().map(|c| c.attempts).collect();
    let firsts: Vec<OffsetDateTime> = deltas.iter().map(|c| c.first).collect();
    let lasts: Vec<OffsetDateTime> = deltas.iter().map(|c| c.last).collect();
    let stmt = tx.prepare_cached(UPSERT_CREDENTIALS).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &ips,
                &deckies,
                &services,
                &principals,
                &kinds,
                &shas,
                &b64s,
                &printables,
                &outcomes,
                &successes,
                &attempts,
                &firsts,
                &lasts,
            ],
        )
        .await?;
    let mut created = HashSet::new();
    for row in &rows {
        if row.try_get::<_, bool>(6)? {
            let sha: Vec<u8> = row.try_get(5)?;
            let ip: IpAddr = row.try_get(0)?;
            created.insert((
                ip,
                row.try_get::<_, String>(1)?,
                row.try_get::<_, String>(2)?,
                row.try_get::<_, String>(3)?,
                row.try_get::<_, String>(4)?,
                sha,
            ));
        }
    }
    for (k, c) in &d.credentials {
        let new = created.contains(&(
            k.ip,
            k.decky.clone(),
            k.service.clone(),
            k.principal.clone(),
            k.kind.clone(),
            k.sha256.to_vec(),
        ));
        if new {
            hourly.entry(hour_of(c.first)).or_default()[2] += 1;
            *per_ip.credentials.entry(k.ip).or_default() += 1;
        }
        out.credentials.push(CapturedCredential {
            attacker_ip: k.ip,
            decky: k.decky.clone(),
            service: k.service.clone(),
            principal: k.principal.clone(),
            secret_kind: k.kind.clone(),
            secret_sha256: hex(&k.sha256),
            secret_printable: c.printable.clone(),
            outcome: c.last_outcome.clone(),
            attempts: c.attempts,
            first_capture: new,
            last_seen: c.last,
        });
    }
    Ok(())
}

async fn secrets(
    tx: &Transaction<'_>,
    d: &Derived,
    out: &mut CommitOutcome,
) -> Result<(), tokio_postgres::Error> {
    if d.secrets.is_empty() {
        return Ok(());
    }
    let (keys, deltas): (Vec<_>, Vec<_>) = d.secrets.iter().unzip();
    let shas: Vec<&[u8]> = keys.iter().map(|(s, _)| s.as_slice()).collect();
    let kinds: Vec<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
    let b64s: Vec<&str> = deltas.iter().map(|s| s.b64.as_str()).collect();
    let printables: Vec<&str> = deltas.iter().map(|s| s.printable.as_str()).collect();
    let principals: Vec<Json<&std::collections::BTreeSet<String>>> =
        deltas.iter().map(|s| Json(&s.principals)).collect();
    let targets: Vec<Json<&std::collections::BTreeSet<String>>> =
        deltas.iter().map(|s| Json(&s.targets)).collect();
    let attempts: Vec<i64> = deltas.iter().map(|s| s.attempts).collect();
    let firsts: Vec<OffsetDateTime> = deltas.iter().map(|s| s.first).collect();
    let lasts: Vec<OffsetDateTime> = deltas.iter().map(|s| s.last).collect();
    let stmt = tx.prepare_cached(UPSERT_SECRETS).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &shas,
                &kinds,
                &b64s,
                &printables,
                &principals,
                &targets,
                &attempts,
                &firsts,
                &lasts,
            ],
        )
        .await?;
    for row in &rows {
        let sha: Vec<u8> = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let count: i32 = row.try_get(4)?;
        let prev: i32 = row.try_get(6)?;
        if count >= 2 && count > prev {
            let targets: Vec<String> = row.try_get(3)?;
            out.reuse.push(ReuseDetected {
                secret_sha256: hex(&sha),
                secret_kind: kind,
                secret_printable: row.try_get(2)?,
                targets: targets.iter().map(|t| parse_target(t)).collect(),
                previous_target_count: prev,
                target_count: count,
                attempt_count: row.try_get(5)?,
            });
        }
    }
    Ok(())
}

async fn principals(tx: &Transaction<'_>, d: &Derived) -> Result<(), tokio_postgres::Error> {
    if d.principals.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = d.principals.keys().map(String::as_str).collect();
    let attempts: Vec<i64> = d.principals.values().map(|p| p.attempts).collect();
    let firsts: Vec<OffsetDateTime> = d.principals.values().map(|p| p.first).collect();
    let lasts: Vec<OffsetDateTime> = d.principals.values().map(|p| p.last).collect();
    let stmt = tx.prepare_cached(UPSERT_PRINCIPALS).await?;
    tx.execute(&stmt, &[&names, &attempts, &firsts, &lasts])
        .await?;
    Ok(())
}

async fn sessions(
    tx: &Transaction<'_>,
    host: &str,
    d: &Derived,
    hourly: &mut Hourly,
    per_ip: &mut PerIp,
    out: &mut CommitOutcome,
) -> Result<(), tokio_postgres::Error> {
    if d.sessions.is_empty() {
        return Ok(());
    }
    let sids: Vec<&str> = d.sessions.keys().map(String::as_str).collect();
    let s: Vec<_> = d.sessions.values().collect();
    let deckies: Vec<&str> = s.iter().map(|s| s.decky.as_str()).collect();
    let services: Vec<&str> = s.iter().map(|s| s.service.as_str()).collect();
    let ips: Vec<IpAddr> = s.iter().map(|s| s.src_ip).collect();
    let ports: Vec<i32> = s.iter().map(|s| i32::from(s.src_port)).collect();
    let firsts: Vec<OffsetDateTime> = s.iter().map(|s| s.first).collect();
    let lasts: Vec<OffsetDateTime> = s.iter().map(|s| s.last).collect();
    let ended: Vec<Option<OffsetDateTime>> = s.iter().map(|s| s.ended).collect();
    let counts: Vec<i64> = s.iter().map(|s| s.events).collect();
    let shards: Vec<Option<&str>> = s.iter().map(|s| s.shard.as_deref()).collect();
    let bytes: Vec<Option<i64>> = s.iter().map(|s| s.bytes).collect();
    let truncated: Vec<bool> = s.iter().map(|s| s.truncated).collect();
    let stmt = tx.prepare_cached(UPSERT_SESSIONS).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &sids, &deckies, &services, &ips, &ports, &firsts, &lasts, &ended, &counts,
                &shards, &bytes, &truncated, &host,
            ],
        )
        .await?;
    for row in &rows {
        let sid: String = row.try_get(0)?;
        let Some(delta) = d.sessions.get(&sid) else {
            continue;
        };
        let started_at: OffsetDateTime = row.try_get(2)?;
        let ended_at: Option<OffsetDateTime> = row.try_get(3)?;
        if row.try_get::<_, bool>(1)? {
            hourly.entry(hour_of(started_at)).or_default()[3] += 1;
            *per_ip.sessions.entry(delta.src_ip).or_default() += 1;
            out.sessions_started.push(SessionStarted {
                sid: sid.clone(),
                decky: delta.decky.clone(),
                service: delta.service.clone(),
                src_ip: delta.src_ip,
                src_port: delta.src_port,
                started_at,
            });
        }
        if let Some(ended_at) = ended_at.filter(|e| delta.ended == Some(*e)) {
            out.sessions_ended.push(SessionEnded {
                sid,
                decky: delta.decky.clone(),
                service: delta.service.clone(),
                src_ip: delta.src_ip,
                started_at,
                ended_at,
                duration_s: (ended_at - started_at).as_seconds_f64(),
                transcript_shard: row.try_get(4)?,
            });
        }
    }
    Ok(())
}

async fn artifacts(
    tx: &Transaction<'_>,
    d: &Derived,
    hourly: &mut Hourly,
) -> Result<(), tokio_postgres::Error> {
    if d.artifacts.is_empty() {
        return Ok(());
    }
    let (keys, deltas): (Vec<_>, Vec<_>) = d.artifacts.iter().unzip();
    let shas: Vec<&[u8]> = keys.iter().map(|k| k.sha256.as_slice()).collect();
    let sizes: Vec<Option<i64>> = deltas.iter().map(|a| a.size).collect();
    let deckies: Vec<&str> = keys.iter().map(|k| k.decky.as_str()).collect();
    let services: Vec<&str> = keys.iter().map(|k| k.service.as_str()).collect();
    let ips: Vec<IpAddr> = keys.iter().map(|k| k.src_ip).collect();
    let origins: Vec<&str> = keys.iter().map(|k| k.origin.as_str()).collect();
    let stored: Vec<Option<&str>> = deltas.iter().map(|a| a.stored_as.as_deref()).collect();
    let sids: Vec<Option<&str>> = deltas.iter().map(|a| a.session_id.as_deref()).collect();
    let seen: Vec<i64> = deltas.iter().map(|a| a.seen).collect();
    let firsts: Vec<OffsetDateTime> = deltas.iter().map(|a| a.first).collect();
    let lasts: Vec<OffsetDateTime> = deltas.iter().map(|a| a.last).collect();
    let stmt = tx.prepare_cached(UPSERT_ARTIFACTS).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &shas, &sizes, &deckies, &services, &ips, &origins, &stored, &sids, &seen, &firsts,
                &lasts,
            ],
        )
        .await?;
    for row in &rows {
        if row.try_get::<_, bool>(1)? {
            hourly.entry(hour_of(row.try_get(0)?)).or_default()[4] += 1;
        }
    }
    Ok(())
}

async fn attackers(
    tx: &Transaction<'_>,
    d: &Derived,
    hourly: &mut Hourly,
    per_ip: &PerIp,
    out: &mut CommitOutcome,
) -> Result<(), tokio_postgres::Error> {
    let a: Vec<(&IpAddr, &derive::AttackerDelta)> = d.attackers.iter().collect();
    let ids: Vec<Uuid> = a.iter().map(|_| Uuid::now_v7()).collect();
    let ips: Vec<IpAddr> = a.iter().map(|(ip, _)| **ip).collect();
    let firsts: Vec<OffsetDateTime> = a.iter().map(|(_, x)| x.first).collect();
    let lasts: Vec<OffsetDateTime> = a.iter().map(|(_, x)| x.last).collect();
    let counts: Vec<i64> = a.iter().map(|(_, x)| x.events).collect();
    let join = |set: &std::collections::BTreeSet<String>| {
        set.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
    };
    let services: Vec<String> = a.iter().map(|(_, x)| join(&x.services)).collect();
    let deckies: Vec<String> = a.iter().map(|(_, x)| join(&x.deckies)).collect();
    let creds: Vec<i64> = ips
        .iter()
        .map(|ip| per_ip.credentials.get(ip).copied().unwrap_or(0))
        .collect();
    let sess: Vec<i64> = ips
        .iter()
        .map(|ip| per_ip.sessions.get(ip).copied().unwrap_or(0))
        .collect();
    let stmt = tx.prepare_cached(UPSERT_ATTACKERS).await?;
    let rows = tx
        .query(
            &stmt,
            &[
                &ids, &ips, &firsts, &lasts, &counts, &services, &deckies, &creds, &sess,
            ],
        )
        .await?;
    for row in &rows {
        if !row.try_get::<_, bool>(3)? {
            continue;
        }
        let ip: IpAddr = row.try_get(1)?;
        let first_seen: OffsetDateTime = row.try_get(2)?;
        hourly.entry(hour_of(first_seen)).or_default()[1] += 1;
        if let Some(delta) = d.attackers.get(&ip) {
            out.new_attackers.push(NewAttacker {
                id: row.try_get(0)?,
                ip,
                first_seen,
                decky: delta.first_decky.clone(),
                service: delta.first_service.clone(),
            });
        }
    }
    Ok(())
}

async fn upsert_hourly(tx: &Transaction<'_>, hourly: &Hourly) -> Result<(), tokio_postgres::Error> {
    let hours: Vec<i64> = hourly.keys().copied().collect();
    let col = |i: usize| -> Vec<i64> { hourly.values().map(|v| v[i]).collect() };
    let stmt = tx.prepare_cached(UPSERT_HOURLY).await?;
    tx.execute(
        &stmt,
        &[&hours, &col(0), &col(1), &col(2), &col(3), &col(4)],
    )
    .await?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
