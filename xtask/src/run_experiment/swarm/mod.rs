//! `run-experiment --swarm`: one experiment split into shards that run as ONE
//! Docker Swarm replicated job (`--mode replicated-job`), so the engine does
//! the scheduling, placement and retries.
//!
//! Flags → plan → execute: [`run`] validates the flags, asks the engine
//! (queries only: the swarm's state, the image) and collects the secrets, all
//! into a [`SwarmPlan`] — pure, unit-tested as data, and what `--dry-run`
//! prints. Only then does `execute` act: it sweeps what dead runs left, pushes
//! the image (with `--registry`), stages the project's inputs in a results
//! volume, turns secrets into swarm secrets, creates and follows the job, and
//! copies `results/<experiment-id>/` back with a short helper container
//! streaming a tar — so the layout and the summary equal a single-machine
//! run's. It follows the engine layer's answers (`Acted::Printed` under
//! `--dry-run`), never the flag. See docs/scale-out.md.

mod cleanup;
mod cluster;
mod execute;
pub(crate) mod passthrough;
mod plan;
mod progress;
mod transfer;

use anyhow::Result;
use camino::Utf8PathBuf;

pub use plan::{ResultsVolume, ServiceImage, SwarmPlan, SwarmRequest, ROLE};

use crate::container::host;
use crate::container::secrets::SecretBundle;
use crate::context::Context;
use crate::engine::exec::SignalWatch;
use crate::engine::Engine;
use crate::error::{usage, Outcome};
use crate::image;

/// Swarm flags of run-experiment.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Swarm options (with --swarm)")]
pub struct SwarmArgs {
    /// Run the experiment as a Docker Swarm replicated job, split into shards
    #[arg(long)]
    pub swarm: bool,
    /// Number of shards (tasks of the job); each runs every N-th unit of the experiment
    #[arg(long, requires = "swarm", value_name = "N", default_value_t = 4)]
    pub shards: u32,
    /// Shards running at once [default: all of them]
    #[arg(long, requires = "swarm", value_name = "K")]
    pub max_concurrent: Option<u32>,
    /// Placement constraint for the shards, as the engine takes it (repeatable)
    #[arg(long = "constraint", requires = "swarm", value_name = "EXPR")]
    pub constraints: Vec<String>,
    /// Times the engine retries a failed shard
    #[arg(long, requires = "swarm", value_name = "R", default_value_t = 1)]
    pub retries: u32,
    /// Registry (HOST:PORT) the image is pushed to and every node pulls it from by digest
    #[arg(long, requires = "swarm", value_name = "HOST:PORT")]
    pub registry: Option<String>,
    /// Volume the shards write to (shared storage on a multi-node swarm)
    /// [default: a local volume made for the run; one-node swarms only]
    #[arg(long, requires = "swarm", value_name = "NAME")]
    pub results_volume: Option<String>,
}

fn validate(args: &SwarmArgs) -> Result<()> {
    if args.shards == 0 {
        return Err(usage("--shards must be at least 1"));
    }
    if args.max_concurrent == Some(0) {
        return Err(usage("--max-concurrent must be at least 1"));
    }
    if let Some(registry) = args.registry.as_deref().filter(|r| !cluster::valid_registry(r)) {
        return Err(usage(format!(
            "--registry takes HOST:PORT (e.g. 127.0.0.1:5000), got `{registry}`"
        )));
    }
    Ok(())
}

/// A `--tiers-dir` outside the staged paths is staged too (relative ones only).
fn extra_paths(tiers_dir: &camino::Utf8Path) -> Vec<Utf8PathBuf> {
    let staged = transfer::STAGED_PATHS.iter().any(|p| tiers_dir.starts_with(p));
    let inside = tiers_dir.is_relative() && !tiers_dir.as_str().split('/').any(|c| c == "..");
    if inside && !staged {
        vec![tiers_dir.to_path_buf()]
    } else {
        Vec::new()
    }
}

fn request(
    ctx: &Context,
    args: &super::Args,
    passthrough: &passthrough::Passthrough,
) -> Result<SwarmRequest> {
    let swarm = &args.swarm;
    let given = match (&args.experiment_id, &passthrough.experiment_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(usage(format!("two experiment ids given: `{a}` and `{b}`; pass one")))
        }
        (a, b) => a.as_ref().or(b.as_ref()),
    };
    let experiment_id =
        passthrough::resolve_experiment_id(&ctx.root, given.map(String::as_str), passthrough)?;
    let run_name = host::unique_name("scylla-swarm");
    let (uid, gid) = host::user_ids();
    let volume = match &swarm.results_volume {
        Some(name) => ResultsVolume { name: name.clone(), created_by_run: false },
        None => ResultsVolume { name: run_name.clone(), created_by_run: true },
    };
    Ok(SwarmRequest {
        run_name,
        owner_tag: host::owner_tag(),
        uid,
        gid,
        shards: swarm.shards,
        max_concurrent: swarm.max_concurrent.unwrap_or(swarm.shards).min(swarm.shards),
        constraints: swarm.constraints.clone(),
        retries: swarm.retries,
        volume,
        experiment_id,
        fresh: args.fresh || passthrough.fresh,
        experiment_args: passthrough.args.clone(),
        limits: args.container.limits(None)?,
        cache_volumes: args.container.cache_volumes,
        project_dir: ctx.root.clone(),
        extra_paths: extra_paths(&passthrough.tiers_dir),
        plain_env: args.container.forwarding(&ctx.env)?.plain,
    })
}

/// Runs the experiment as a swarm job.
pub fn run(ctx: &Context, args: &super::Args) -> Result<Outcome> {
    let swarm = &args.swarm;
    validate(swarm)?;
    args.container.image()?;
    let engine = Engine::from_context(ctx)?;
    let passthrough = passthrough::parse(&args.experiment_args)?;
    let request = request(ctx, args, &passthrough)?;
    let watch = SignalWatch::install()?;
    let state = cluster::swarm_state(ctx, &engine)?;
    cluster::require_manager(&state)?;
    cluster::require_multi_node_inputs(
        state.nodes,
        swarm.registry.as_deref(),
        swarm.results_volume.as_deref(),
    )?;
    let options = &args.container;
    let image = image::image_for_run(ctx, &engine, &options.image, options.no_build)?;
    if let Some(signal) = watch.received() {
        return Ok(Outcome::Code(signal.exit_code()));
    }
    let image = ServiceImage::new(&image.id, image.source_hash, swarm.registry.as_deref());
    let forwarding = options.forwarding(&ctx.env)?;
    let (mut bundle, status) =
        SecretBundle::collect(&ctx.env, &forwarding.secret_names, options.credentials.as_deref())?;
    super::auth::warn_about_files(ctx, &bundle.add_files(&forwarding.secret_files));
    let agent = super::plan::requested_agent(&args.experiment_args);
    let purpose = super::Purpose::Experiment { agent: agent.as_deref() };
    super::warn_about_credentials(ctx, &status, &bundle, &forwarding, purpose);
    let plan = SwarmPlan::new(request, image, &bundle.file_names());
    execute::execute(ctx, &engine, &plan, &bundle, &watch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        args: crate::run_experiment::Args,
    }

    #[test]
    fn swarm_flags_parse_and_need_swarm() {
        Probe::command().debug_assert();
        let probe = Probe::try_parse_from([
            "p",
            "--swarm",
            "--shards",
            "3",
            "--constraint",
            "node.role==worker",
            "--constraint",
            "node.labels.a==b",
            "--retries",
            "0",
            "--",
            "--tiers",
            "T0",
        ])
        .unwrap();
        let swarm = &probe.args.swarm;
        assert!(swarm.swarm);
        assert_eq!((swarm.shards, swarm.retries, swarm.max_concurrent), (3, 0, None));
        assert_eq!(swarm.constraints, ["node.role==worker", "node.labels.a==b"]);
        assert_eq!(probe.args.experiment_args, ["--tiers", "T0"]);
        let defaults = Probe::try_parse_from(["p", "--swarm"]).unwrap();
        assert_eq!((defaults.args.swarm.shards, defaults.args.swarm.retries), (4, 1));
        assert!(Probe::try_parse_from(["p", "--shards", "3"]).is_err());
        assert!(Probe::try_parse_from(["p", "--registry", "r:5000"]).is_err());
        assert!(!Probe::try_parse_from(["p"]).unwrap().args.swarm.swarm);
    }

    #[test]
    fn tiers_dirs_outside_the_staged_paths_are_staged() {
        assert!(extra_paths("tests/fixtures/tests/test-002".into()).is_empty());
        assert_eq!(extra_paths("fixtures/x".into()), vec![Utf8PathBuf::from("fixtures/x")]);
        assert!(extra_paths("../elsewhere".into()).is_empty());
        assert!(extra_paths("/abs/x".into()).is_empty());
    }

    #[test]
    fn counts_and_registries_are_checked() {
        let bad = SwarmArgs { swarm: true, shards: 0, ..SwarmArgs::default() };
        assert!(validate(&bad).unwrap_err().to_string().contains("--shards"));
        let bad =
            SwarmArgs { swarm: true, shards: 2, max_concurrent: Some(0), ..SwarmArgs::default() };
        assert!(validate(&bad).is_err());
        let bad = SwarmArgs {
            swarm: true,
            shards: 2,
            registry: Some("http://x".into()),
            ..SwarmArgs::default()
        };
        assert!(validate(&bad).unwrap_err().to_string().contains("HOST:PORT"));
    }
}
