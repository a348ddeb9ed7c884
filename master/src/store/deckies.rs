//! Deckies and their services, as last reported by their agent.
//!
//! API: [`upsert_state`] ([`DeckyReport`] in, the stored [`Decky`] out; services are replaced
//! as a whole), [`set_state`], [`list`] (optionally one host), [`detail`], [`remove`],
//! [`count_by_state`].

use std::collections::BTreeMap;
use std::net::IpAddr;

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{Store, StoreError};

/// Whether `name` is a valid decky name (`^[a-z0-9-]{1,64}$`).
pub fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// Lifecycle state of a decky.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeckyState {
    /// Requested, not yet picked up by its agent.
    Pending,
    /// Being created.
    Deploying,
    /// Every service up.
    Running,
    /// Up with some service down.
    Degraded,
    /// Deployment or a service failed (see `last_error`).
    Failed,
    /// Stopped.
    Stopped,
    /// Being removed.
    TearingDown,
    /// Removed.
    TornDown,
}

impl DeckyState {
    /// Every state.
    pub const ALL: [DeckyState; 8] = [
        DeckyState::Pending,
        DeckyState::Deploying,
        DeckyState::Running,
        DeckyState::Degraded,
        DeckyState::Failed,
        DeckyState::Stopped,
        DeckyState::TearingDown,
        DeckyState::TornDown,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeckyState::Pending => "pending",
            DeckyState::Deploying => "deploying",
            DeckyState::Running => "running",
            DeckyState::Degraded => "degraded",
            DeckyState::Failed => "failed",
            DeckyState::Stopped => "stopped",
            DeckyState::TearingDown => "tearing_down",
            DeckyState::TornDown => "torn_down",
        }
    }

    /// The state with this stored name.
    pub fn parse(s: &str) -> Option<DeckyState> {
        DeckyState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One service of a decky.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeckyService {
    /// Service slug.
    pub service: String,
    /// Port it listens on.
    pub port: Option<u16>,
    /// Its own state (`running`, `failed`, ...).
    pub state: String,
}

/// A state report for one decky.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeckyReport {
    /// Decky name.
    pub name: String,
    /// Host running it.
    pub host: String,
    /// Its address.
    pub ip: Option<IpAddr>,
    /// Persona (what it pretends to be).
    pub persona: Option<String>,
    /// Operating system it imitates.
    pub os: Option<String>,
    /// Lifecycle state.
    pub state: DeckyState,
    /// Latest error, if any.
    pub last_error: Option<String>,
    /// Hash of the spec it runs.
    pub spec_hash: Option<String>,
    /// Its services (replacing those stored).
    pub services: Vec<DeckyService>,
}

/// A stored decky.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decky {
    /// Decky name.
    pub name: String,
    /// Host running it.
    pub host: String,
    /// Its address.
    pub ip: Option<IpAddr>,
    /// Persona.
    pub persona: Option<String>,
    /// Operating system it imitates.
    pub os: Option<String>,
    /// Lifecycle state.
    pub state: DeckyState,
    /// Latest error, if any.
    pub last_error: Option<String>,
    /// Hash of the spec it runs.
    pub spec_hash: Option<String>,
    /// Its services, by name.
    pub services: Vec<DeckyService>,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// Errors of [`upsert_state`].
#[derive(Debug, thiserror::Error)]
pub enum DeckyError {
    /// The name does not match `^[a-z0-9-]{1,64}$`.
    #[error("invalid decky name {0:?}")]
    InvalidName(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const COLUMNS: &str = "d.name, d.host, d.ip, d.persona, d.os, d.state, d.last_error, d.spec_hash, \
    d.updated_at, coalesce((SELECT array_agg(s.service ORDER BY s.service) FROM decky_services s \
    WHERE s.decky = d.name), '{}') AS svc_names, coalesce((SELECT array_agg(s.port ORDER BY \
    s.service) FROM decky_services s WHERE s.decky = d.name), '{}') AS svc_ports, \
    coalesce((SELECT array_agg(s.state ORDER BY s.service) FROM decky_services s \
    WHERE s.decky = d.name), '{}') AS svc_states";

/// Stores a state report: the decky row and its full service list, in one transaction.
pub async fn upsert_state(store: &Store, report: &DeckyReport) -> Result<Decky, DeckyError> {
    if !is_valid_name(&report.name) {
        return Err(DeckyError::InvalidName(report.name.clone()));
    }
    let mut client = store.pool().get().await.map_err(StoreError::from)?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO deckies (name, host, ip, persona, os, state, last_error, spec_hash, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) \
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, ip = excluded.ip, \
         persona = excluded.persona, os = excluded.os, state = excluded.state, \
         last_error = excluded.last_error, spec_hash = excluded.spec_hash, updated_at = now()",
        &[
            &report.name,
            &report.host,
            &report.ip,
            &report.persona,
            &report.os,
            &report.state.as_str(),
            &report.last_error,
            &report.spec_hash,
        ],
    )
    .await
    .map_err(StoreError::from)?;
    let names: Vec<&str> = report.services.iter().map(|s| s.service.as_str()).collect();
    let ports: Vec<Option<i32>> = report
        .services
        .iter()
        .map(|s| s.port.map(i32::from))
        .collect();
    let states: Vec<&str> = report.services.iter().map(|s| s.state.as_str()).collect();
    tx.execute(
        "DELETE FROM decky_services WHERE decky = $1 AND NOT (service = ANY($2))",
        &[&report.name, &names],
    )
    .await
    .map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO decky_services (decky, service, port, state) \
         SELECT $1, * FROM unnest($2::text[], $3::int4[], $4::text[]) \
         ON CONFLICT (decky, service) DO UPDATE SET port = excluded.port, state = excluded.state",
        &[&report.name, &names, &ports, &states],
    )
    .await
    .map_err(StoreError::from)?;
    let row = tx
        .query_one(
            &format!("SELECT {COLUMNS} FROM deckies d WHERE d.name = $1"),
            &[&report.name],
        )
        .await
        .map_err(StoreError::from)?;
    tx.commit().await.map_err(StoreError::from)?;
    store.invalidate();
    Ok(from_row(&row)?)
}

/// Sets the state (and error) of a decky; false when there is none.
pub async fn set_state(
    store: &Store,
    name: &str,
    state: DeckyState,
    last_error: Option<&str>,
) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute(
            "UPDATE deckies SET state = $2, last_error = $3, updated_at = now() WHERE name = $1",
            &[&name, &state.as_str(), &last_error],
        )
        .await?;
    store.invalidate();
    Ok(n == 1)
}

/// Every decky (of one host when given), by name.
pub async fn list(store: &Store, host: Option<&str>) -> Result<Vec<Decky>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM deckies d WHERE ($1::text IS NULL OR d.host = $1) \
             ORDER BY d.name"
        ))
        .await?;
    client
        .query(&stmt, &[&host])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The decky with this name.
pub async fn detail(store: &Store, name: &str) -> Result<Option<Decky>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM deckies d WHERE d.name = $1"
        ))
        .await?;
    client
        .query_opt(&stmt, &[&name])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Forgets a decky and its services; false when there is none.
pub async fn remove(store: &Store, name: &str) -> Result<bool, StoreError> {
    let client = store.pool().get().await?;
    let n = client
        .execute("DELETE FROM deckies WHERE name = $1", &[&name])
        .await?;
    store.invalidate();
    Ok(n == 1)
}

/// How many deckies are in each state (states with none are absent).
pub async fn count_by_state(store: &Store) -> Result<BTreeMap<DeckyState, i64>, StoreError> {
    let client = store.pool().get().await?;
    let stmt = client
        .prepare_cached("SELECT state, count(*) FROM deckies GROUP BY state")
        .await?;
    let mut out = BTreeMap::new();
    for row in client.query(&stmt, &[]).await? {
        out.insert(parse_state(row.try_get(0)?)?, row.try_get(1)?);
    }
    Ok(out)
}

fn parse_state(s: &str) -> Result<DeckyState, StoreError> {
    DeckyState::parse(s).ok_or_else(|| StoreError::Corrupt {
        column: "deckies.state",
        value: s.to_owned(),
    })
}

fn from_row(row: &Row) -> Result<Decky, StoreError> {
    let names: Vec<String> = row.try_get("svc_names")?;
    let ports: Vec<Option<i32>> = row.try_get("svc_ports")?;
    let states: Vec<String> = row.try_get("svc_states")?;
    let services = names
        .into_iter()
        .zip(ports)
        .zip(states)
        .map(|((service, port), state)| DeckyService {
            service,
            port: port.and_then(|p| u16::try_from(p).ok()),
            state,
        })
        .collect();
    Ok(Decky {
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        ip: row.try_get("ip")?,
        persona: row.try_get("persona")?,
        os: row.try_get("os")?,
        state: parse_state(row.try_get("state")?)?,
        last_error: row.try_get("last_error")?,
        spec_hash: row.try_get("spec_hash")?,
        services,
        updated_at: row.try_get("updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_names_validate() {
        for s in DeckyState::ALL {
            assert_eq!(DeckyState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeckyState::parse("exploded"), None);
        assert!(is_valid_name("decky-01"));
        assert!(!is_valid_name("Decky"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"a".repeat(65)));
    }
}
