//! The reconciler: converges the engine on `docker/desired.json`, on a timer and whenever
//! the engine reports that one of this host's containers died or vanished. Crashed
//! deckies are restarted with exponential backoff; containers and networks that carry
//! this host's labels but are not desired (a crash mid-deploy, a decky removed while the
//! agent was down) are reaped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::query_parameters::EventsOptions;
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::driver::{ActualContainer, DockerDriver};
use super::network;
use super::plan::{self, DesiredDecky, LABEL_HOST};
use super::store::DesiredStore;

/// How often a full pass runs without engine events.
pub const PERIOD: Duration = Duration::from_secs(10);
/// First restart delay; doubles per consecutive failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest restart delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Container events that start a pass at once.
const REACT_TO: [&str; 5] = ["die", "died", "destroy", "remove", "oom"];
/// Deckies created at once in a pass (the engine does the rest of the queueing).
pub const CREATE_PARALLELISM: usize = 4;

/// One step towards the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The decky has no container: create it.
    Create(String),
    /// Its containers were made from another spec or image: recreate them.
    Recreate(String),
    /// It exists but does not run: restart it (subject to backoff).
    Restart(String),
    /// A container of this host that no desired decky owns: remove it.
    Reap(String),
}

/// The steps from `actual` to `desired` (decky name → spec hash), in a stable order.
pub fn diff(desired: &BTreeMap<String, String>, actual: &[ActualContainer]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut by_decky: BTreeMap<&str, Vec<&ActualContainer>> = BTreeMap::new();
    for c in actual {
        by_decky.entry(c.decky.as_str()).or_default().push(c);
    }
    for (name, hash) in desired {
        match by_decky.get(name.as_str()) {
            None => steps.push(Step::Create(name.clone())),
            Some(cs) if !cs.iter().any(|c| c.name == plan::container_name(name)) => {
                steps.push(Step::Create(name.clone()));
            }
            Some(cs) if cs.iter().any(|c| &c.hash != hash) => {
                steps.push(Step::Recreate(name.clone()));
            }
            Some(cs) if cs.iter().any(|c| !c.running) => steps.push(Step::Restart(name.clone())),
            Some(_) => {}
        }
    }
    for c in actual {
        if !desired.contains_key(&c.decky) {
            steps.push(Step::Reap(c.name.clone()));
        }
    }
    steps
}

/// Consecutive-failure backoff per decky.
#[derive(Debug, Default)]
pub struct Backoff {
    state: HashMap<String, (u32, Instant)>,
}

impl Backoff {
    /// Whether `decky` may be restarted at `now`.
    pub fn ready(&self, decky: &str, now: Instant) -> bool {
        self.state.get(decky).is_none_or(|(_, at)| now >= *at)
    }

    /// Records a restart at `now`; returns the delay before the next one is allowed.
    pub fn record(&mut self, decky: &str, now: Instant) -> Duration {
        let entry = self.state.entry(decky.to_owned()).or_insert((0, now));
        let delay = FIRST_BACKOFF
            .saturating_mul(1u32 << entry.0.min(10))
            .min(MAX_BACKOFF);
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now + delay;
        delay
    }

    /// The decky ran through a pass healthy: forget its failures.
    pub fn reset(&mut self, decky: &str) {
        self.state.remove(decky);
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Deckies created or recreated.
    pub created: Vec<String>,
    /// Deckies restarted.
    pub restarted: Vec<String>,
    /// Containers reaped.
    pub reaped: Vec<String>,
    /// Networks reaped.
    pub networks_reaped: Vec<String>,
    /// Deckies that failed, with why.
    pub failed: Vec<(String, String)>,
}

/// Converges the engine on the desired store.
#[derive(Debug)]
pub struct Reconciler {
    driver: DockerDriver,
    store: DesiredStore,
    backoff: Backoff,
}

impl Reconciler {
    /// A reconciler for `driver`'s host and `store`.
    pub fn new(driver: DockerDriver, store: DesiredStore) -> Self {
        Reconciler {
            driver,
            store,
            backoff: Backoff::default(),
        }
    }

    /// One pass: create, recreate, restart (when backoff allows) and reap.
    pub async fn pass(&mut self) -> anyhow::Result<PassReport> {
        let desired: BTreeMap<String, DesiredDecky> = self.store.read()?;
        let image = self.driver.context().image.clone();
        let hashes = desired
            .iter()
            .map(|(n, d)| (n.clone(), d.hash(&image)))
            .collect();
        let actual = self.driver.actual().await?;
        let mut report = PassReport::default();
        let steps = diff(&hashes, &actual);
        let now = Instant::now();
        let creating: Vec<DesiredDecky> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Create(n) | Step::Recreate(n) => desired.get(n).cloned(),
                _ => None,
            })
            .collect();
        if let Err(e) = self.driver.ensure_networks(&creating).await {
            tracing::error!(error = %e, "cannot create a decky network");
        }
        let mut created = futures::stream::iter(creating)
            .map(|d| {
                let driver = self.driver.clone();
                async move {
                    let result = driver.create(&d).await;
                    (d.name, result)
                }
            })
            .buffer_unordered(CREATE_PARALLELISM);
        while let Some((name, result)) = created.next().await {
            match result {
                Ok(()) => report.created.push(name),
                Err(e) => report.failed.push((name, e.to_string())),
            }
        }
        drop(created);
        report.created.sort();
        for step in &steps {
            match step {
                Step::Create(_) | Step::Recreate(_) => {}
                Step::Restart(name) => {
                    if !self.backoff.ready(name, now) {
                        continue;
                    }
                    let delay = self.backoff.record(name, now);
                    tracing::warn!(decky = %name, next_restart_in = ?delay, "decky is not running; restarting");
                    let mut result = Ok(());
                    for c in actual.iter().filter(|c| &c.decky == name && !c.running) {
                        // The decky container first: custom services join its namespace.
                        if c.byos.is_none() {
                            result = result.and(self.driver.start(&c.name).await);
                        }
                    }
                    for c in actual.iter().filter(|c| &c.decky == name && !c.running) {
                        if c.byos.is_some() {
                            result = result.and(self.driver.start(&c.name).await);
                        }
                    }
                    match result {
                        Ok(()) => report.restarted.push(name.clone()),
                        Err(e) => report.failed.push((name.clone(), e.to_string())),
                    }
                }
                Step::Reap(container) => match self.driver.remove_container(container).await {
                    Ok(()) => report.reaped.push(container.clone()),
                    Err(e) => report.failed.push((container.clone(), e.to_string())),
                },
            }
        }
        for name in desired.keys() {
            if !steps
                .iter()
                .any(|s| matches!(s, Step::Restart(n) if n == name))
            {
                self.backoff.reset(name);
            }
        }
        // Routes vanish when the shim is re-created or the host rebooted: restore the
        // missing ones (one `ip route show` per parent, not three commands per decky).
        let mut routed = HashMap::new();
        for (name, d) in &desired {
            let (Some(parent), Ok(ip)) = (&d.network.parent, d.ip()) else {
                continue;
            };
            let present = routed
                .entry(parent.clone())
                .or_insert_with(|| network::routed(parent));
            if !present.contains(&ip)
                && let Err(e) = network::route_to(&d.network, ip)
            {
                tracing::debug!(decky = %name, error = %e, "no host route to the decky");
            }
        }
        let needed: BTreeSet<String> = desired.values().map(|d| d.network.network_name()).collect();
        report.networks_reaped = self.driver.reap_networks(&needed).await?;
        for (name, error) in &report.failed {
            tracing::error!(decky = %name, %error, "reconcile step failed");
        }
        Ok(report)
    }

    /// Runs passes every [`PERIOD`] and on this host's container events until `cancel`.
    pub async fn run(mut self, cancel: CancellationToken) {
        let filters = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "label".to_owned(),
                vec![format!("{LABEL_HOST}={}", self.driver.context().host)],
            ),
        ]);
        let docker = self.driver.docker().clone();
        let subscribe = || {
            docker
                .events(Some(EventsOptions {
                    filters: Some(filters.clone()),
                    ..Default::default()
                }))
                .boxed()
        };
        let mut events = subscribe();
        let mut subscribed = true;
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {
                    // The engine restarted or dropped the stream: listen again, and let
                    // this pass catch up on whatever happened meanwhile.
                    if !subscribed {
                        events = subscribe();
                        subscribed = true;
                    }
                }
                ev = events.next() => match ev {
                    Some(Ok(ev)) => {
                        // Filtered here, not by the engine: Podman's `event` filter never
                        // matches `die` (it calls it `died` inside).
                        if !ev.action.as_deref().is_some_and(|a| REACT_TO.contains(&a)) {
                            continue;
                        }
                        tracing::info!(action = ?ev.action, actor = ?ev.actor.and_then(|a| a.attributes).and_then(|a| a.get("name").cloned()), "container event");
                        // Let a burst of events settle into one pass.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "engine event stream failed; polling until it is back");
                        events = futures::stream::pending().boxed();
                        subscribed = false;
                    }
                    None => {
                        events = futures::stream::pending().boxed();
                        subscribed = false;
                    }
                },
            }
            match self.pass().await {
                Ok(r) if r != PassReport::default() => tracing::info!(report = ?r, "reconciled"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reconcile pass failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(decky: &str, byos: Option<&str>, hash: &str, running: bool) -> ActualContainer {
        ActualContainer {
            name: match byos {
                None => plan::container_name(decky),
                Some(b) => plan::byos_container_name(decky, b),
            },
            decky: decky.into(),
            byos: byos.map(str::to_owned),
            hash: hash.into(),
            running,
        }
    }

    #[test]
    fn diff_creates_recreates_restarts_and_reaps() {
        let desired: BTreeMap<String, String> = [
            ("new", "h1"),
            ("same", "h2"),
            ("changed", "h3"),
            ("dead", "h4"),
            ("orphan-byos", "h5"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let actual = vec![
            c("same", None, "h2", true),
            c("same", Some("x"), "h2", true),
            c("changed", None, "old", true),
            c("dead", None, "h4", false),
            c("orphan-byos", Some("x"), "h5", true),
            c("gone", None, "h9", true),
        ];
        assert_eq!(
            diff(&desired, &actual),
            vec![
                Step::Recreate("changed".into()),
                Step::Restart("dead".into()),
                Step::Create("new".into()),
                Step::Create("orphan-byos".into()),
                Step::Reap("decnet-gone".into()),
            ]
        );
        assert!(diff(&BTreeMap::new(), &[]).is_empty());
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(b.ready("d", t0));
        assert_eq!(b.record("d", t0), Duration::from_secs(1));
        assert!(!b.ready("d", t0));
        assert!(b.ready("d", t0 + Duration::from_secs(1)));
        assert_eq!(b.record("d", t0), Duration::from_secs(2));
        assert_eq!(b.record("d", t0), Duration::from_secs(4));
        for _ in 0..10 {
            b.record("d", t0);
        }
        assert_eq!(b.record("d", t0), MAX_BACKOFF);
        b.reset("d");
        assert!(b.ready("d", t0));
        assert_eq!(b.record("d", t0), FIRST_BACKOFF);
    }
}
