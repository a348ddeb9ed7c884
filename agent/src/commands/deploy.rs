//! `decnet-agent deploy`: plan a fleet from flags or an INI file, print the
//! plan (`--dry-run`), run it with the local driver (`--foreground`), or hand it to the
//! docker driver.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use decnet_templates::emit::EventSink;
use decnet_templates::emit::rfc5424_stdout::LineSink;
use decnet_templates::fleet::{self, FleetFlags, FleetPlan, SpecOptions};
use decnet_templates::spec::SpecError;

use crate::cli::{DeployArgs, Driver};
use crate::driver::local::{LocalDriver, LocalError};

/// How long stopping deckies waits for open connections.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Plans and deploys a fleet.
pub async fn run(args: DeployArgs) -> anyhow::Result<()> {
    let (plan, source) = plan(&args)?;
    if args.dry_run {
        return print_plan(&plan, args.json);
    }
    if args.json {
        bail!("--json only applies to --dry-run");
    }
    match args.driver {
        Driver::Docker => super::docker::deploy(&plan, &source, &args).await,
        Driver::Local if !args.foreground => bail!(
            "the local driver runs deckies inside this process: add --foreground (they stop with it)"
        ),
        Driver::Local => run_local(&plan, &source, args.data_dir).await,
    }
}

/// The plan and a label of where it came from (for error messages).
fn plan(args: &DeployArgs) -> anyhow::Result<(FleetPlan, String)> {
    if let Some(path) = &args.config {
        let shaping = args.deckies.is_some()
            || args.services.is_some()
            || args.randomize_services
            || args.archetype.is_some()
            || args.distro.is_some()
            || args.randomize_distros
            || args.subnet.is_some()
            || args.ip_start.is_some();
        if shaping {
            bail!(
                "--config cannot be combined with --deckies, --services, --randomize-services, --archetype, --distro, --randomize-distros, --subnet or --ip-start"
            );
        }
        let source = path.display().to_string();
        let mut plan = fleet::load_ini(path).with_context(|| source.clone())?;
        if args.interface.is_some() {
            plan.network.interface.clone_from(&args.interface);
        }
        plan.network.ipvlan |= args.ipvlan;
        return Ok((plan, source));
    }
    let Some(deckies) = args.deckies else {
        bail!("give a fleet file (--config FILE.ini) or a number of deckies (--deckies N)");
    };
    let flags = FleetFlags {
        deckies,
        services: args.services.clone(),
        randomize_services: args.randomize_services,
        archetype: args.archetype.clone(),
        distro: args.distro.clone(),
        randomize_distros: args.randomize_distros,
        subnet: args.subnet.clone(),
        ip_start: args.ip_start.clone(),
        interface: args.interface.clone(),
        ipvlan: args.ipvlan,
        seed: args.seed.unwrap_or_else(rand::random),
    };
    Ok((fleet::from_flags(&flags)?, "flags".to_owned()))
}

fn print_plan(plan: &FleetPlan, json: bool) -> anyhow::Result<()> {
    if let Err(e) = plan.check_deployable() {
        eprintln!("warning: this plan would be refused at deploy: {e}");
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, plan)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "subnet {}", plan.network.subnet)?;
    for d in &plan.deckies {
        let services: Vec<String> = d
            .services
            .iter()
            .map(|s| {
                let flag = if s.implemented {
                    ""
                } else {
                    " (not implemented)"
                };
                format!("{}:{}{flag}", s.slug, s.port)
            })
            .chain(
                d.custom
                    .iter()
                    .map(|c| format!("{} (custom {})", c.name, c.binary)),
            )
            .collect();
        writeln!(
            out,
            "{} {} {} {} {}/{} {}",
            d.name,
            d.ip,
            d.hostname,
            d.archetype.as_deref().unwrap_or("-"),
            d.os.as_str(),
            d.distro,
            services.join(",")
        )?;
    }
    Ok(())
}

async fn run_local(
    plan: &FleetPlan,
    source: &str,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    plan.check_deployable().with_context(|| source.to_owned())?;
    if let Some(d) = plan.deckies.iter().find(|d| !d.custom.is_empty()) {
        let names: Vec<&str> = d.custom.iter().map(|c| c.name.as_str()).collect();
        bail!(
            "{source}: decky {}: custom services ({}) run their own container images and need --driver docker",
            d.name,
            names.join(", ")
        );
    }
    let data_root = match data_dir {
        Some(d) if d.is_absolute() => d,
        Some(d) => std::env::current_dir()
            .context("cannot resolve --data-dir")?
            .join(d),
        None => std::env::temp_dir().join("decnet-local"),
    };
    let specs = plan
        .specs(&SpecOptions {
            data_root,
            host: None,
        })
        .with_context(|| source.to_owned())?;
    let sink: Arc<dyn EventSink> =
        Arc::new(LineSink::stdout().context("cannot start the event writer")?);
    let fleet = match LocalDriver::deploy(specs, Arc::clone(&sink)).await {
        Ok(f) => f,
        Err(LocalError::Start {
            decky,
            source: decnet_templates::decky::StartError::Spec(SpecError::Invalid { key, reason }),
        }) => {
            let located = match plan.decky(&decky) {
                Some(d) => d.locate(&key, reason).to_string(),
                None => format!("decky {decky}: {key}: {reason}"),
            };
            bail!("{source}: {located}");
        }
        Err(e) => return Err(anyhow::Error::new(e).context(source.to_owned())),
    };
    {
        let mut out = std::io::stdout().lock();
        for d in fleet.deckies() {
            writeln!(out, "{}", d.summary_line())?;
        }
        out.flush()?;
    }
    for d in fleet.deckies() {
        for (service, addr) in d.listening() {
            tracing::info!(decky = %d.name, service, %addr, "listening");
        }
    }
    let signal = decnet_runtime::shutdown::signal().await;
    tracing::info!(
        signal,
        deckies = fleet.deckies().len(),
        "stopping the fleet"
    );
    fleet.stop(STOP_GRACE).await;
    if sink.dropped() > 0 {
        tracing::warn!(dropped = sink.dropped(), "events were dropped under load");
    }
    Ok(())
}
