//! The dashboard summary (`GET /stats`), from the ingest's hourly tallies: no query here
//! counts the events table.
//!
//! API: [`summary`] → [`Summary`].

use std::collections::BTreeMap;
use std::sync::Arc;

use super::deckies::{self, DeckyState};
use super::{Store, StoreError};

/// Totals for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Events stored.
    pub events_total: i64,
    /// Events whose time is in the last 24 hours, counted by whole hours: the window starts
    /// at the top of the hour 24 hours ago.
    pub events_last_24h: i64,
    /// Distinct source addresses.
    pub attackers_total: i64,
    /// Source addresses first seen in the last 24 hours (same window).
    pub attackers_last_24h: i64,
    /// Distinct credentials (per attacker, target, principal and secret).
    pub credentials_total: i64,
    /// Sessions.
    pub sessions_total: i64,
    /// Distinct captured files (per content, target, source and path).
    pub artifacts_total: i64,
    /// Deckies per state; states with none are absent.
    pub deckies_by_state: BTreeMap<DeckyState, i64>,
}

/// The current summary (cached until the next commit or decky change, at most 0.5 s).
pub async fn summary(store: &Store) -> Result<Summary, StoreError> {
    let generation = store.cache().generation();
    if let Some(s) = store.cache().stats.get(&(), generation) {
        return Ok(Arc::unwrap_or_clone(s));
    }
    let s = query(store).await?;
    store.cache().stats.put((), generation, Arc::new(s.clone()));
    Ok(s)
}

async fn query(store: &Store) -> Result<Summary, StoreError> {
    let totals = async {
        let client = store.pool().get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT coalesce(sum(events), 0)::bigint, \
                 coalesce(sum(events) FILTER (WHERE hour >= date_trunc('hour', now() - interval '24 hours')), 0)::bigint, \
                 coalesce(sum(attackers), 0)::bigint, \
                 coalesce(sum(attackers) FILTER (WHERE hour >= date_trunc('hour', now() - interval '24 hours')), 0)::bigint, \
                 coalesce(sum(credentials), 0)::bigint, \
                 coalesce(sum(sessions), 0)::bigint, \
                 coalesce(sum(artifacts), 0)::bigint \
                 FROM ingest_hourly",
            )
            .await?;
        Ok::<_, StoreError>(client.query_one(&stmt, &[]).await?)
    };
    let (row, deckies_by_state) = tokio::try_join!(totals, deckies::count_by_state(store))?;
    Ok(Summary {
        events_total: row.try_get(0)?,
        events_last_24h: row.try_get(1)?,
        attackers_total: row.try_get(2)?,
        attackers_last_24h: row.try_get(3)?,
        credentials_total: row.try_get(4)?,
        sessions_total: row.try_get(5)?,
        artifacts_total: row.try_get(6)?,
        deckies_by_state,
    })
}
