//! `cargo xtask run-experiment [options] -- [experiment args]`: runs
//! `python scripts/run_e2e_experiment.py ARGS` in ONE fresh container of the
//! current image and returns its exit code as the task's own.
//!
//! Flags become a [`RunPlan`] (pure, printable); `execute` then creates the
//! container, streams secrets into it, starts it attached, and on Ctrl-C or
//! SIGTERM stops and removes it before exiting 130 / 143.

mod plan;
pub mod swarm;

use anyhow::Result;
pub use plan::{RunPlan, RunRequest};

use crate::container::deliver_secrets;
use crate::container::guard::{self, ContainerGuard};
use crate::container::options::ContainerOptions;
use crate::container::secrets::{CredentialsStatus, SecretBundle};
use crate::context::Context;
use crate::engine::exec::{self, Signal, SignalWatch};
use crate::engine::{Engine, EngineCommand};
use crate::error::{usage, Outcome};
use crate::{docker_build, output};

/// Run one experiment in a fresh scylla-runner container.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    cargo xtask run-experiment -- --tiers T0\n  \
    cargo xtask run-experiment --memory 16g -- --tiers T0 T1 --runs 3\n  \
    cargo xtask run-experiment --env GITHUB_TOKEN --no-build -- --tiers T2\n  \
    cargo xtask --dry-run run-experiment -- --tiers T0\n  \
    cargo xtask run-experiment --swarm --shards 8 --max-concurrent 4 -- --tiers T0 T1\n\n\
    Exit code: the experiment's own; 130/143 after Ctrl-C/SIGTERM; 2 for usage errors.\n\
    With --swarm: 0 when every shard succeeded, 1 when a shard failed (the others' results are kept).")]
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
            let started = std::time::SystemTime::now();
            let outcome = swarm::run(ctx, &self)?;
            report_after(ctx, &self, started);
            return Ok(outcome);
        }
        // Flags first: a bad value is reported before any engine is looked for.
        let request = RunRequest::from_args(&self, ctx)?;
        let engine = Engine::from_context(ctx)?;
        let watch = SignalWatch::install()?;
        guard::sweep_leftovers(ctx, &engine, plan::ROLE)?;
        let image = docker_build::image_for_run(
            ctx,
            &engine,
            &self.container.image,
            self.container.no_build,
        )?;
        if let Some(signal) = watch.received() {
            return Ok(Outcome::Code(signal.exit_code()));
        }
        let plan = RunPlan::new(&request, &engine, &image);
        let started = std::time::SystemTime::now();
        let outcome = execute(ctx, &engine, &plan, &watch)?;
        report_after(ctx, &self, started);
        Ok(outcome)
    }
}

/// Once the experiment has run: its report, and the report's path on stderr.
fn report_after(ctx: &Context, args: &Args, started: std::time::SystemTime) {
    if ctx.dry_run {
        return;
    }
    let mut experiment_args = args.experiment_args.clone();
    if let Some(id) = &args.experiment_id {
        experiment_args.extend(["--experiment-id".to_string(), id.clone()]);
    }
    crate::report::after_experiment(ctx, started, &experiment_args);
}

/// Warns about missing credentials; both ways to authenticate are named.
pub fn warn_about_credentials(ctx: &Context, status: &CredentialsStatus, bundle: &SecretBundle) {
    let has_key = bundle.env_names().contains(&"ANTHROPIC_API_KEY");
    match status {
        CredentialsStatus::Found(path) => output::detail(ctx, &format!("Claude credentials: {path}")),
        CredentialsStatus::Missing(path) if has_key => output::warn(
            ctx,
            &format!("no Claude credentials at {path}; using ANTHROPIC_API_KEY"),
        ),
        CredentialsStatus::NoHome if has_key => {
            output::warn(ctx, "HOME is not set, so no Claude credentials; using ANTHROPIC_API_KEY")
        }
        _ => output::warn(
            ctx,
            "no Claude credentials and no ANTHROPIC_API_KEY, so the experiment falls back to the oracle agent\n  \
             to use Claude Code: log in once with `claude` on this machine (creates ~/.claude/.credentials.json),\n  \
             or export ANTHROPIC_API_KEY=... before running",
        ),
    }
}

/// Creates the container, delivers its secrets, runs it attached and cleans up.
pub fn execute(
    ctx: &Context,
    engine: &Engine,
    plan: &RunPlan,
    watch: &SignalWatch,
) -> Result<Outcome> {
    let (bundle, status) =
        SecretBundle::collect(&ctx.env, &plan.secret_env_names, plan.credentials.as_deref())?;
    std::fs::create_dir_all(plan.results_dir.as_std_path())
        .map_err(|e| usage(format!("cannot create {}: {e}", plan.results_dir)))?;

    let mut container = ContainerGuard::new(ctx, engine, &plan.spec.name);
    let launch = if bundle.is_empty() {
        // Nothing to deliver before the start: one engine process creates and
        // runs the same container (one engine round trip less).
        EngineCommand::action(plan.spec.run_argv())
    } else {
        let created = exec::output(ctx, engine, &EngineCommand::action(plan.spec.create_argv()))?;
        if !created.status.success() {
            return Err(create_failed(plan, &created.stderr));
        }
        deliver_secrets(ctx, engine, &plan.spec.name, &plan.spec.user, &bundle)?;
        if let Some(signal) = watch.received() {
            return Ok(Outcome::Code(signal.exit_code()));
        }
        EngineCommand::action(plan.start_argv())
    };
    let mut stop = |signal: Signal| stop_container(ctx, engine, &plan.spec.name, signal);
    let (code, signal) =
        exec::supervised(ctx, engine, &launch, plan.spec.interactive, watch, &mut stop)?;
    // After the experiment's own output, so that a usage error of the runner's
    // arguments is the first thing on the screen (the runner itself says at
    // its start which agent runs and why).
    warn_about_credentials(ctx, &status, &bundle);
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

fn stop_container(ctx: &Context, engine: &Engine, name: &str, signal: Signal) {
    let what = if signal == Signal::Interrupt { "interrupted" } else { "terminated" };
    output::warn(ctx, &format!("{what}: stopping container {name}"));
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
