//! `cargo xtask run-experiment [options] -- [experiment args]`: runs
//! `python scripts/run_e2e_experiment.py ARGS` in ONE fresh container of the
//! current image and returns its exit code as the task's own.
//!
//! Flags become a [`RunPlan`] (pure, printable); `execute` then creates the
//! container, starts it attached, streams the secrets into its tmpfs while the
//! entrypoint waits for them, and on Ctrl-C or SIGTERM stops and removes it
//! before exiting 130 / 143. A Claude credentials file refreshed in the
//! container is written back on every one of these paths (`container::refresh`).

pub(crate) mod plan;
pub mod swarm;

use anyhow::Result;
pub use plan::{Launch, RunPlan, RunRequest};

use crate::container::guard::{self, ContainerGuard};
use crate::container::options::ContainerOptions;
use crate::container::refresh::Keeper;
use crate::container::secrets::{CredentialsStatus, SecretBundle, CREDENTIALS_FILE};
use crate::container::{self, deliver_secrets, wait_until_running};
use crate::context::Context;
use crate::engine::exec::{self, Launched, Signal, SignalWatch};
use crate::engine::{Engine, EngineCommand};
use crate::error::{usage, Outcome};
use crate::{image, output};
// Swarm reaches these through its parent module.
pub use crate::container::auth::{self, warn_about_credentials, Purpose};

/// Run one experiment in a fresh scylla-runner container.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    cargo xtask run-experiment -- --tiers T0\n  \
    cargo xtask run-experiment --memory 16g -- --tiers T0 T1 --runs 3\n  \
    cargo xtask run-experiment --env GITHUB_TOKEN --env MY_SETTING=1 -- --tiers T2\n  \
    ANTHROPIC_BASE_URL=http://172.17.0.1:8080 \
    cargo xtask run-experiment --network lab -- --tiers T0\n  \
    cargo xtask --dry-run run-experiment -- --tiers T0\n  \
    cargo xtask run-experiment --swarm --shards 8 --max-concurrent 4 -- --tiers T0 T1\n\n\
    Exit code: the experiment's own; 130/143 after Ctrl-C/SIGTERM; 2 for usage errors.\n\
    With --swarm: 0 when every shard succeeded, \
    1 when a shard failed (the others' results are kept).")]
pub struct Args {
    #[command(flatten)]
    pub container: ContainerOptions,
    /// Experiment id, passed to the runner; re-running with the same id resumes
    /// [default: the runner's, <fixture>-<tiers>]
    #[arg(long, value_name = "ID")]
    pub experiment_id: Option<String>,
    /// Redo runs that already completed (passed to the runner)
    #[arg(long)]
    pub fresh: bool,
    /// Arguments for scripts/run_e2e_experiment.py, after `--`
    #[arg(last = true, value_name = "EXPERIMENT_ARGS")]
    pub experiment_args: Vec<String>,
    // Last: its help heading would otherwise apply to the fields after it.
    #[command(flatten)]
    pub swarm: swarm::SwarmArgs,
}

impl Args {
    pub fn run(self, ctx: &Context) -> Result<Outcome> {
        if self.swarm.swarm {
            return swarm::run(ctx, &self);
        }
        // Flags first: a bad value is reported before any engine is looked for.
        let request = RunRequest::from_args(&self, ctx)?;
        let engine = Engine::from_context(ctx)?;
        container::require_network(ctx, &engine, request.network.as_deref())?;
        let watch = SignalWatch::install()?;
        let image =
            image::image_for_run(ctx, &engine, &self.container.image, self.container.no_build)?;
        if let Some(signal) = watch.received() {
            return Ok(Outcome::Code(signal.exit_code()));
        }
        let secrets = collect_secrets(ctx, &request)?;
        let plan = RunPlan::new(&request, &engine, &image)
            .with_secrets(!secrets.bundle.is_empty(), secrets.hand_back.is_some());
        execute(ctx, &engine, &plan, &secrets, &watch)
    }

    /// The runner's arguments with `--experiment-id` given before `--` too: what
    /// the report written after the run reads the experiment's id from.
    pub fn runner_args_with_id(&self) -> Vec<String> {
        let mut experiment_args = self.experiment_args.clone();
        if let Some(id) = &self.experiment_id {
            experiment_args.extend(["--experiment-id".to_string(), id.clone()]);
        }
        experiment_args
    }
}

/// The secrets of a run, and what to tell the user about them.
struct Secrets {
    bundle: SecretBundle,
    status: CredentialsStatus,
    /// Secret files that could not be read: what was asked for, and why not.
    unusable_files: Vec<(String, String)>,
    /// The credentials file to write back when the CLI refreshes it in the container.
    hand_back: Option<(camino::Utf8PathBuf, Vec<u8>)>,
}

fn collect_secrets(ctx: &Context, request: &RunRequest) -> Result<Secrets> {
    let (mut bundle, status) = SecretBundle::collect(
        &ctx.env,
        &request.forwarding.secret_names,
        request.credentials.as_deref(),
    )?;
    let unusable_files = bundle.add_files(&request.forwarding.secret_files);
    let hand_back = match (&status, bundle.file(CREDENTIALS_FILE)) {
        (CredentialsStatus::Found(path), Some(bytes)) => Some((path.clone(), bytes.to_vec())),
        _ => None,
    };
    Ok(Secrets { bundle, status, unusable_files, hand_back })
}

/// Launches the container as planned, delivers its secrets, runs it attached
/// and cleans up.
fn execute(
    ctx: &Context,
    engine: &Engine,
    plan: &RunPlan,
    secrets: &Secrets,
    watch: &SignalWatch,
) -> Result<Outcome> {
    guard::sweep_leftovers(ctx, engine, plan::ROLE)?;
    // A launch that is only printed (--dry-run) makes nothing on the host either.
    if exec::will_run(ctx, plan.launch.first_command()) {
        std::fs::create_dir_all(plan.results_dir.as_std_path())
            .map_err(|e| usage(format!("cannot create {}: {e}", plan.results_dir)))?;
    }

    let mut container = ContainerGuard::new(ctx, engine, &plan.spec.name);
    let name = plan.spec.name.as_str();
    let launch = match &plan.launch {
        Launch::Run(run) => run,
        Launch::CreateDeliverStart { create, start, .. } => {
            let created = exec::output(ctx, engine, create)?;
            if !created.status.success() {
                return Err(create_failed(plan, &created.stderr));
            }
            start
        }
    };
    let mut delivery: Option<Result<Option<Keeper>>> = None;
    let mut on_spawn = |launched: Launched| {
        if let Launch::Run(_) = plan.launch {
            return;
        }
        let delivered = deliver_after_start(ctx, engine, plan, secrets, launched, watch);
        if delivered.is_err() {
            stop_container(ctx, engine, name, None);
        }
        delivery = Some(delivered);
    };
    let mut stop = |signal: Signal| stop_container(ctx, engine, name, Some(signal));
    let supervised = exec::supervised(
        ctx,
        engine,
        launch,
        plan.spec.interactive,
        watch,
        &mut on_spawn,
        &mut stop,
    );
    match delivery {
        Some(Err(error)) => {
            container.remove_now();
            return Err(error);
        }
        Some(Ok(Some(keeper))) => keeper.finish(ctx),
        Some(Ok(None)) | None => {}
    }
    let (code, signal) = supervised?;
    // After the experiment's own output, so that a usage error of the runner's
    // arguments is the first thing on the screen (the runner itself says at
    // its start which agent runs and why). Not after Ctrl-C: the user stopped it.
    if signal.is_none() {
        auth::warn_about_files(ctx, &secrets.unusable_files);
        let purpose = Purpose::Experiment { agent: plan.requested_agent.as_deref() };
        warn_about_credentials(ctx, &secrets.status, &secrets.bundle, &plan.forwarding, purpose);
    }
    match signal {
        Some(signal) => {
            container.remove_now();
            Ok(Outcome::Code(signal.exit_code()))
        }
        None => {
            // `--rm` lets the engine remove it; the guard is only for failures.
            container.disarm();
            Ok(Outcome::Code(code))
        }
    }
}

/// Waits for the started container (not when the start was only printed),
/// delivers the bundle, and starts the credentials keeper when there is a
/// file to hand back.
fn deliver_after_start(
    ctx: &Context,
    engine: &Engine,
    plan: &RunPlan,
    secrets: &Secrets,
    launched: Launched,
    watch: &SignalWatch,
) -> Result<Option<Keeper>> {
    let name = &plan.spec.name;
    if launched == Launched::Running && !wait_until_running(ctx, engine, name, watch) {
        // It ended at once or a signal came: the supervised start reports that.
        return Ok(None);
    }
    let hand_back = secrets.hand_back.clone();
    let bundle = &secrets.bundle;
    if let Err(error) =
        deliver_secrets(ctx, engine, name, &plan.spec.user, bundle, hand_back.is_some())
    {
        // Ctrl-C reaches the whole process group: an `exec` that was finishing
        // its delivery dies with it (podman's client takes longer to end than
        // docker's). The experiment is being stopped then, and the keeper still
        // hands back a credentials file refreshed before the signal.
        if watch.received().is_none() {
            return Err(error);
        }
    }
    match hand_back {
        Some((path, delivered)) => {
            Ok(Some(Keeper::start(ctx, engine, name, &plan.spec.user, delivered, path)?))
        }
        None => Ok(None),
    }
}

fn stop_container(ctx: &Context, engine: &Engine, name: &str, signal: Option<Signal>) {
    if let Some(signal) = signal {
        output::warn(ctx, &format!("{}: stopping container {name}", signal.past_tense()));
    }
    // SIGTERM to the init, which forwards it to the experiment; SIGKILL after 3 s.
    let stop = EngineCommand::action(["stop", "--time", "3", name]);
    let _ = exec::output(ctx, engine, &stop);
}

fn create_failed(plan: &RunPlan, stderr: &str) -> anyhow::Error {
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("no such image") || lower.contains("image not known") {
        return usage(format!(
            "image {} does not exist locally\n  build it with: cargo xtask docker-build --tag {}",
            plan.spec.image, plan.spec.image
        ));
    }
    anyhow::anyhow!("cannot create container {}: {}", plan.spec.name, stderr.trim())
}
