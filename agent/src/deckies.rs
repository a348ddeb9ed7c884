//! The `deckies` worker: the desired fleet, started in-process (local driver) and reported
//! on the bus as `decky.{id}.state`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use decnet_mesh::bus::{Broker, LocalClient};
use decnet_mesh::quic::{DeckyStatus, WorkerOutcome};
use decnet_mesh::topic::decky;
use decnet_templates::decky::RunningDecky;
use decnet_templates::emit::EventSink;
use decnet_templates::spec::DeckySpec;
use serde::Serialize;
use tokio::sync::Mutex;

/// Name of the worker in control calls and health topics.
pub const WORKER: &str = "deckies";
/// How long a stopping decky may finish its sessions.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What `decky.{id}.state` carries.
#[derive(Debug, Clone, Serialize)]
pub struct StateNotice<'a> {
    /// Decky name.
    pub decky: &'a str,
    /// Agent host.
    pub host: &'a str,
    /// `running`, `stopped` or `failed`.
    pub state: &'a str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Running {
    spec: DeckySpec,
    decky: Option<RunningDecky>,
    state: &'static str,
    error: Option<String>,
}

/// The fleet of one agent.
pub struct Deckies {
    host: String,
    bus: LocalClient,
    sink: Arc<dyn EventSink>,
    fleet: Mutex<Vec<Running>>,
    running: Mutex<bool>,
}

impl Deckies {
    /// An empty, stopped fleet whose events go to `sink`.
    pub fn new(host: &str, broker: Broker, sink: Arc<dyn EventSink>) -> Self {
        Deckies {
            host: host.to_owned(),
            bus: broker.client(WORKER),
            sink,
            fleet: Mutex::new(Vec::new()),
            running: Mutex::new(false),
        }
    }

    /// Replaces the desired fleet; started at once when the worker runs.
    pub async fn set(&self, specs: Vec<DeckySpec>) -> Vec<String> {
        self.stop_all().await;
        let names = specs.iter().map(|s| s.name.clone()).collect();
        {
            let mut fleet = self.fleet.lock().await;
            *fleet = specs
                .into_iter()
                .map(|mut spec| {
                    spec.host = Some(self.host.clone());
                    Running {
                        spec,
                        decky: None,
                        state: "stopped",
                        error: None,
                    }
                })
                .collect();
        }
        if *self.running.lock().await {
            self.start_all().await;
        }
        names
    }

    /// Adds or replaces the named deckies (others keep running); started at once when the
    /// worker runs. Returns their names.
    pub async fn apply(&self, specs: Vec<DeckySpec>) -> Vec<String> {
        let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        {
            let mut fleet = self.fleet.lock().await;
            for mut spec in specs {
                spec.host = Some(self.host.clone());
                if let Some(i) = fleet.iter().position(|r| r.spec.name == spec.name) {
                    let old = fleet.remove(i);
                    if let Some(decky) = old.decky {
                        decky.stop(STOP_GRACE).await;
                    }
                }
                fleet.push(Running {
                    spec,
                    decky: None,
                    state: "stopped",
                    error: None,
                });
            }
        }
        if *self.running.lock().await {
            self.start_all().await;
        }
        names
    }

    /// Stops and forgets one decky; false when there is none of that name.
    pub async fn remove(&self, name: &str) -> bool {
        let removed = {
            let mut fleet = self.fleet.lock().await;
            fleet
                .iter()
                .position(|r| r.spec.name == name)
                .map(|i| fleet.remove(i))
        };
        let Some(entry) = removed else {
            return false;
        };
        if let Some(decky) = entry.decky {
            decky.stop(STOP_GRACE).await;
        }
        self.announce(name, "torn_down", None);
        true
    }

    /// Starts or stops the worker.
    pub async fn control(&self, start: bool) -> WorkerOutcome {
        let mut running = self.running.lock().await;
        match (start, *running) {
            (true, true) => WorkerOutcome::AlreadyRunning,
            (false, false) => WorkerOutcome::AlreadyStopped,
            (true, false) => {
                *running = true;
                drop(running);
                self.start_all().await;
                WorkerOutcome::Started
            }
            (false, true) => {
                *running = false;
                drop(running);
                self.stop_all().await;
                WorkerOutcome::Stopped
            }
        }
    }

    /// Whether the worker runs.
    pub async fn is_running(&self) -> bool {
        *self.running.lock().await
    }

    /// Each decky and its state.
    pub async fn status(&self) -> Vec<DeckyStatus> {
        self.fleet
            .lock()
            .await
            .iter()
            .map(|r| DeckyStatus {
                ip: r.spec.bind.first().copied(),
                os: Some(r.spec.os.as_str().to_owned()),
                persona: Some(format!("{} ({})", r.spec.hostname, r.spec.distro)),
                services: r
                    .decky
                    .as_ref()
                    .map(|d| {
                        d.listening()
                            .iter()
                            .map(|(name, addr)| ((*name).to_owned(), addr.port()))
                            .collect()
                    })
                    .unwrap_or_default(),
                error: r.error.clone(),
                ..DeckyStatus::new(r.spec.name.clone(), r.state)
            })
            .collect()
    }

    /// `NAME IP service,service,…` for every running decky.
    pub async fn summary(&self) -> Vec<String> {
        self.fleet
            .lock()
            .await
            .iter()
            .filter(|r| r.decky.is_some())
            .map(|r| {
                let ip = r
                    .spec
                    .bind
                    .first()
                    .copied()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
                let services: Vec<String> = r.spec.services.keys().cloned().collect();
                crate::driver::local::summary_line(&r.spec.name, ip, &services)
            })
            .collect()
    }

    async fn start_all(&self) {
        let mut fleet = self.fleet.lock().await;
        for entry in fleet.iter_mut().filter(|r| r.decky.is_none()) {
            match crate::driver::local::start_one(&entry.spec, self.sink.clone()).await {
                Ok(decky) => {
                    entry.decky = Some(decky);
                    entry.state = "running";
                    entry.error = None;
                    tracing::info!(decky = %entry.spec.name, "decky running");
                    self.announce(&entry.spec.name, "running", None);
                }
                Err(e) => {
                    entry.state = "failed";
                    entry.error = Some(e.to_string());
                    tracing::error!(decky = %entry.spec.name, error = %e, "decky failed to start");
                    self.announce(&entry.spec.name, "failed", Some(e.to_string()));
                }
            }
        }
    }

    async fn stop_all(&self) {
        let mut fleet = self.fleet.lock().await;
        for entry in fleet.iter_mut() {
            if let Some(decky) = entry.decky.take() {
                decky.stop(STOP_GRACE).await;
                entry.state = "stopped";
                tracing::info!(decky = %entry.spec.name, "decky stopped");
                self.announce(&entry.spec.name, "stopped", None);
            }
        }
    }

    /// Stops every decky (agent shutdown) and flushes their events.
    pub async fn shutdown(&self) {
        self.stop_all().await;
        self.sink.flush().await;
    }

    fn announce(&self, name: &str, state: &str, error: Option<String>) {
        let Ok(topic) = decky::state(name) else {
            return;
        };
        let notice = StateNotice {
            decky: name,
            host: &self.host,
            state,
            error,
        };
        if let Err(e) = self.bus.publish(&topic, "decky.state", &notice) {
            tracing::debug!(error = %e, "decky state not published");
        }
    }
}
