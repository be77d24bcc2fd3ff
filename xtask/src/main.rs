//! `cargo xtask`: parse the command line, build the task context, run one task,
//! print its error once and map it to an exit code. Task bodies live in their
//! own modules (see `lib.rs`).

use std::process::ExitCode;

use anyhow::Result;
use camino::Utf8PathBuf;
use clap::{Parser, Subcommand};

use xtask::context::{Context, Verbosity, ENGINE_CHOICES};
use xtask::error::{exit_code_for, Outcome, EXIT_USAGE};
use xtask::{docker_build, healthcheck, lint_dockerfile, report, run_experiment, shell};

/// The help heading of the options every task takes.
const GLOBAL: &str = "Global options";

/// Build, run and check the scylla-runner container.
#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    propagate_version = true,
    after_help = "Examples:\n  \
        cargo xtask run-experiment -- --tiers T0\n  \
        cargo xtask shell\n  \
        cargo xtask docker-build\n  \
        cargo xtask healthcheck\n  \
        cargo xtask lint-dockerfile\n  \
        cargo xtask report\n\n\
        Exit codes: 0 success, 1 the task's own failure, 2 usage or environment error,\n\
        130 / 143 stopped by Ctrl-C / SIGTERM; run-experiment and shell pass the\n\
        container's exit code through."
)]
pub struct Cli {
    /// Container engine to drive [env: CONTAINER_ENGINE] [default: docker, else podman]
    // CONTAINER_ENGINE is read by the context, not by clap: clap would blame
    // `--engine` for a bad value and treat an empty one as a missing value.
    #[arg(long, global = true, value_parser = ENGINE_CHOICES, help_heading = GLOBAL)]
    engine: Option<String>,
    /// Print what would change something (engine commands with secrets redacted, files
    /// to write) and change nothing
    #[arg(long, global = true, help_heading = GLOBAL)]
    dry_run: bool,
    /// Say more: the engine commands as they run, cache decisions, timings
    #[arg(short, long, global = true, conflicts_with = "quiet", help_heading = GLOBAL)]
    verbose: bool,
    /// Say less: errors, warnings and results only
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    quiet: bool,
    /// Project directory mounted at /workspace and used as the build context root
    /// [env: SCYLLA_PROJECT_DIR] [default: this workspace]
    // SCYLLA_PROJECT_DIR is read by the context, where an empty value means unset.
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    project_dir: Option<Utf8PathBuf>,
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Build the scylla-runner image from digest-pinned bases; skip it when nothing changed
    DockerBuild(docker_build::Args),
    /// Run one experiment in a fresh scylla-runner container
    RunExperiment(run_experiment::Args),
    /// Open an interactive shell in a scylla-runner container (attach, start or create)
    Shell(shell::Args),
    /// Check that an image or a running container is healthy with its own HEALTHCHECK
    Healthcheck(healthcheck::Args),
    /// Lint Dockerfiles: hadolint's rules plus this project's
    LintDockerfile(lint_dockerfile::Args),
    /// Write an experiment's report with charts, or export it to ProjectScylla's analysis layout
    Report(report::Args),
}

fn workspace_root() -> Utf8PathBuf {
    // xtask/ sits directly under the workspace root.
    let manifest_dir = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(Utf8PathBuf::from).unwrap_or(manifest_dir)
}

fn run(cli: Cli) -> Result<Outcome> {
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let mut ctx = Context::new(workspace_root(), verbosity, cli.dry_run, cli.engine);
    ctx.root = xtask::context::project_dir(cli.project_dir, &ctx.env, workspace_root())?;
    match cli.task {
        Task::DockerBuild(args) => args.run(&ctx),
        Task::RunExperiment(args) => {
            // The report follows the experiment; tasks do not call each other.
            let started = std::time::SystemTime::now();
            let experiment_args = args.runner_args_with_id();
            let outcome = args.run(&ctx)?;
            report::after_experiment(&ctx, started, &experiment_args);
            Ok(outcome)
        }
        Task::Shell(args) => args.run(&ctx),
        Task::Healthcheck(args) => args.run(&ctx),
        Task::LintDockerfile(args) => args.run(&ctx),
        Task::Report(args) => args.run(&ctx),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_USAGE as u8 } else { 0 });
        }
    };
    let color = xtask::output::stderr_color_from_env();
    match run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code().clamp(0, 255) as u8),
        Err(error) => {
            xtask::output::error(color, &error);
            ExitCode::from(exit_code_for(&error) as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn experiment_args_pass_through_after_double_dash() {
        let cli =
            Cli::try_parse_from(["xtask", "run-experiment", "--", "--tiers", "T0", "T1"]).unwrap();
        let Task::RunExperiment(args) = cli.task else { panic!("wrong task") };
        assert_eq!(args.experiment_args, vec!["--tiers", "T0", "T1"]);
    }

    #[test]
    fn global_flags_work_after_the_task() {
        let cli =
            Cli::try_parse_from(["xtask", "shell", "--dry-run", "--engine", "podman"]).unwrap();
        assert!(cli.dry_run);
        assert_eq!(cli.engine.as_deref(), Some("podman"));
    }

    #[test]
    fn report_takes_ids_and_an_export_directory() {
        let cli =
            Cli::try_parse_from(["xtask", "report", "--export-analysis", "out", "a", "b"]).unwrap();
        let Task::Report(args) = cli.task else { panic!("wrong task") };
        assert_eq!(args.experiments, ["a", "b"]);
        assert_eq!(args.export_analysis.as_deref(), Some("out".into()));
    }

    #[test]
    fn unknown_engine_is_rejected_by_the_parser() {
        assert!(Cli::try_parse_from(["xtask", "shell", "--engine", "lxc"]).is_err());
    }
}
