//! The docker driver's commands: `deploy --driver docker`, `teardown`, `image build`, and
//! the reconciler and collector `run --driver docker` keeps going.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bollard::Docker;
use decnet_templates::emit::EventSink;
use decnet_templates::emit::rfc5424_stdout::LineSink;
use decnet_templates::fleet::FleetPlan;
use tokio_util::sync::CancellationToken;

use crate::cli::{DeployArgs, EngineArgs, ImageBuildArgs, TeardownArgs};
use crate::docker::collect::Collector;
use crate::docker::driver::{self, DockerDriver};
use crate::docker::engine;
use crate::docker::fleet::ContainerFleet;
use crate::docker::image::{self, BuildOptions};
use crate::docker::plan::{DesiredDecky, HostContext};
use crate::docker::reconcile::Reconciler;
use crate::docker::store::DesiredStore;
use crate::state::StateDir;

/// How long `deploy` waits for every decky to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The engine, the state directory and this host's driver context.
pub struct DockerSetup {
    /// State directory.
    pub state: StateDir,
    /// Host name in labels and events.
    pub host: String,
    /// Engine client.
    pub docker: Docker,
}

impl DockerSetup {
    /// Connects to the engine named by `args`.
    pub async fn open(args: &EngineArgs) -> anyhow::Result<Self> {
        let state = StateDir::new(args.state_dir.clone())?;
        std::fs::create_dir_all(state.root())
            .with_context(|| format!("cannot create {}", state.root().display()))?;
        let host = state.host_name();
        let docker = engine::connect(args.engine.as_deref()).await?;
        Ok(DockerSetup {
            state,
            host,
            docker,
        })
    }

    /// The recorded decky image, built offline-or-not on first use.
    pub async fn image(&self) -> anyhow::Result<String> {
        if let Some(built) = image::recorded(self.state.root())? {
            if self.docker.inspect_image(&built.id).await.is_ok() {
                return Ok(built.id);
            }
            eprintln!(
                "the recorded image {} is gone from the engine; building it again",
                built.id
            );
        }
        let opts = BuildOptions {
            decky_bin: default_decky_bin()?,
            base: image::DEFAULT_BASE.to_owned(),
            offline: false,
        };
        let built = image::build(&self.docker, self.state.root(), &opts, &mut |m| {
            eprintln!("image: {m}")
        })
        .await?;
        Ok(built.id)
    }

    /// The driver with the recorded image.
    pub async fn driver(&self) -> anyhow::Result<DockerDriver> {
        let image = self.image().await?;
        let (user, group_add) = driver::decky_user(&self.state.bus_socket());
        std::fs::create_dir_all(self.state.run_dir())
            .with_context(|| format!("cannot create {}", self.state.run_dir().display()))?;
        Ok(DockerDriver::new(
            self.docker.clone(),
            HostContext {
                host: self.host.clone(),
                image,
                user,
                group_add,
                state_root: self.state.root().to_path_buf(),
            },
        ))
    }

    /// The desired-state store.
    pub fn store(&self) -> DesiredStore {
        DesiredStore::new(self.state.root())
    }
}

fn default_decky_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate decnet-agent")?;
    Ok(exe.with_file_name("decnet-decky"))
}

/// `deploy --driver docker`.
pub async fn deploy(plan: &FleetPlan, source: &str, args: &DeployArgs) -> anyhow::Result<()> {
    plan.check_deployable().with_context(|| source.to_owned())?;
    let setup = DockerSetup::open(&args.engine).await?;
    let deckies = plan
        .deckies
        .iter()
        .map(|d| DesiredDecky::from_planned(d, &plan.network, &setup.host))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| source.to_owned())?;
    let driver = setup.driver().await?;
    let store = setup.store();
    store.upsert(&deckies)?;
    let mut reconciler = Reconciler::new(driver.clone(), store);
    let started = Instant::now();
    let report = reconciler.pass().await?;
    if let Some((name, error)) = report.failed.first() {
        bail!("decky {name}: {error}");
    }
    wait_ready(&deckies).await?;
    tracing::info!(
        deckies = deckies.len(),
        ms = started.elapsed().as_millis() as u64,
        "container deckies up"
    );
    {
        let mut out = std::io::stdout().lock();
        for d in &deckies {
            let spec = d.spec()?;
            let mut services: Vec<String> = spec.services.keys().cloned().collect();
            services.extend(d.custom.iter().map(|c| c.name.clone()));
            writeln!(
                out,
                "{}",
                crate::driver::local::summary_line(&d.name, d.ip()?, &services)
            )?;
        }
        out.flush()?;
    }
    if args.foreground {
        let sink: Arc<dyn EventSink> =
            Arc::new(LineSink::stdout().context("cannot start the event writer")?);
        let cancel = CancellationToken::new();
        let tasks = spawn_workers(&setup, reconciler, sink, &cancel);
        let signal = decnet_runtime::shutdown::signal().await;
        tracing::info!(
            signal,
            "stopping the reconciler and collector; the containers keep running"
        );
        cancel.cancel();
        for t in tasks {
            let _ = t.await;
        }
    }
    Ok(())
}

/// Starts the reconciler and the collector (events into `sink`).
pub fn spawn_workers(
    setup: &DockerSetup,
    reconciler: Reconciler,
    sink: Arc<dyn EventSink>,
    cancel: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let collector = Collector::new(setup.docker.clone(), &setup.host, sink, setup.state.root());
    vec![
        tokio::spawn(reconciler.run(cancel.clone())),
        tokio::spawn(collector.run(cancel.clone())),
    ]
}

/// Waits until every TCP service of every decky accepts a connection.
async fn wait_ready(deckies: &[DesiredDecky]) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    for d in deckies {
        for addr in d.spec()?.tcp_endpoints() {
            loop {
                let attempt = tokio::time::timeout(
                    Duration::from_millis(500),
                    tokio::net::TcpStream::connect(addr),
                )
                .await;
                if matches!(attempt, Ok(Ok(_))) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "decky {}: {addr} does not answer after {} s (see `docker logs decnet-{}`; without root the host has no route to macvlan deckies)",
                        d.name,
                        READY_TIMEOUT.as_secs(),
                        d.name
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(())
}

/// `teardown --decky NAME | --all`.
pub async fn teardown(args: TeardownArgs) -> anyhow::Result<()> {
    let setup = DockerSetup::open(&args.engine).await?;
    let fleet = ContainerFleet::new(
        DockerDriver::new(setup.docker.clone(), bare_context(&setup)),
        setup.store(),
    );
    let names = if args.all {
        fleet.names().await?
    } else {
        let desired = fleet.desired_names()?;
        if let Some(name) = args.decky.iter().find(|n| !desired.contains(n)) {
            bail!(
                "no decky {name} is deployed here (deployed: {})",
                desired.join(", ")
            );
        }
        args.decky.clone()
    };
    for name in &names {
        fleet.remove(name).await?;
        println!("removed {name}");
    }
    for n in fleet.reap_networks().await? {
        println!("removed network {n}");
    }
    Ok(())
}

/// A context for listing and removing (no image needed).
fn bare_context(setup: &DockerSetup) -> HostContext {
    HostContext {
        host: setup.host.clone(),
        image: String::new(),
        user: String::new(),
        group_add: Vec::new(),
        state_root: setup.state.root().to_path_buf(),
    }
}

/// `image build`.
pub async fn image_build(args: ImageBuildArgs) -> anyhow::Result<()> {
    let setup = DockerSetup::open(&args.engine).await?;
    let opts = BuildOptions {
        decky_bin: match args.decky_bin {
            Some(p) => p,
            None => default_decky_bin()?,
        },
        base: args.base,
        offline: args.offline,
    };
    let started = Instant::now();
    let built = image::build(&setup.docker, setup.state.root(), &opts, &mut |m| {
        eprintln!("[{:>5.1}s] {m}", started.elapsed().as_secs_f64());
    })
    .await?;
    println!("{} {} {}", built.tag, built.id, built.method);
    Ok(())
}
