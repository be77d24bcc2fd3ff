//! `cargo xtask healthcheck`: is an image or a container healthy, by the
//! engine's own HEALTHCHECK, fast enough for CI?
//!
//! Three modes: `--image` (default `scylla-runner:latest`) starts a throwaway
//! container with the image's probe on a one-second cadence ([`plan`]),
//! `--container` reports on an existing container, and `--static` checks the
//! Dockerfile's HEALTHCHECK without an engine ([`dockerfile_check`]). Exit codes:
//! 0 healthy, 1 unhealthy, 2 could not check. See docs/healthcheck.md.

pub mod dockerfile_check;
pub mod plan;
pub mod probe;
pub mod report;
pub mod timer;

use std::time::Duration;

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;
use clap::builder::NonEmptyStringValueParser;

use crate::context::Context;
use crate::engine::Engine;
use crate::error::{exit_code_for, usage, Outcome, EXIT_USAGE};
use crate::output;
use plan::{parse_timeout, DEFAULT_IMAGE};
use report::{Report, Status};

/// Check that an image or a running container is healthy with its own HEALTHCHECK.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    cargo xtask healthcheck                          # scylla-runner:latest, in a few seconds\n  \
    cargo xtask healthcheck --image scylla-runner:dev --format json\n  \
    cargo xtask healthcheck --container scylla-shell-1700000000-ab12cd34 --timeout 2m\n  \
    cargo xtask healthcheck --static                 # the Dockerfile's HEALTHCHECK, no engine\n\n\
    --image probes every 1s instead of the image's 30s (same probe command, retries and\n\
    timeout) in a container that is removed on every exit path, Ctrl-C included.\n\n\
    Exit codes: 0 healthy, 1 unhealthy (static: findings), 2 could not check (no engine,\n\
    no such image or container, no HEALTHCHECK, no verdict within --timeout);\n\
    130/143 when interrupted.")]
pub struct Args {
    /// Image to check in a throwaway container [default: scylla-runner:latest]
    #[arg(long, value_name = "NAME:TAG", value_parser = NonEmptyStringValueParser::new(),
          conflicts_with_all = ["container", "static_check"])]
    pub image: Option<String>,
    /// Running container to check (exact name or full id)
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new(),
          conflicts_with = "static_check")]
    pub container: Option<String>,
    /// Check the Dockerfile's final-stage HEALTHCHECK instead; needs no engine
    #[arg(long = "static")]
    pub static_check: bool,
    /// Dockerfile for --static, relative to the project directory
    #[arg(long, value_name = "PATH", default_value = "docker/Dockerfile")]
    pub file: Utf8PathBuf,
    /// How long to wait for the engine's verdict: 30s, 2m, 500ms or plain seconds
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// text: result lines on stdout; json: one object on stdout
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How the result is printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// What to check, decided from the flags before anything runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Image(String),
    Container(String),
    Static(Utf8PathBuf),
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Mode::Image(_) => "image",
            Mode::Container(_) => "container",
            Mode::Static(_) => "static",
        }
    }

    fn target(&self) -> String {
        match self {
            Mode::Image(target) | Mode::Container(target) => target.clone(),
            Mode::Static(file) => file.to_string(),
        }
    }
}

impl Args {
    /// The mode the flags ask for; `--static` paths are relative to `root`.
    pub fn mode(&self, root: &camino::Utf8Path) -> Mode {
        if self.static_check {
            Mode::Static(root.join(&self.file))
        } else if let Some(name) = &self.container {
            Mode::Container(name.clone())
        } else {
            Mode::Image(self.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.to_string()))
        }
    }

    /// Runs the check, prints the report and maps it to the exit code.
    pub fn run(self, ctx: &Context) -> Result<Outcome> {
        let mode = self.mode(&ctx.root);
        let mut report = match check(ctx, &mode, self.timeout) {
            Ok(Some(report)) => report,
            Ok(None) => return Ok(Outcome::Success),
            Err(error) => {
                if self.format == Format::Json {
                    output::result_line(
                        &Report::failed(mode.name(), &mode.target(), &error).to_json().to_string(),
                    );
                }
                return Err(could_not_check(error));
            }
        };
        if report.error.is_none() {
            report.error = verdict_error(report.status, self.timeout);
        }
        emit(&report, self.format);
        outcome(ctx, &report)
    }
}

/// Runs the check `mode` describes. `None` under `--dry-run` (commands printed).
pub fn check(ctx: &Context, mode: &Mode, timeout: Duration) -> Result<Option<Report>> {
    match mode {
        Mode::Static(file) => check_static(file).map(Some),
        Mode::Image(image) => {
            let engine = Engine::from_context(ctx)?;
            probe::check_image(ctx, &engine, image, timeout)
        }
        Mode::Container(name) => {
            let engine = Engine::from_context(ctx)?;
            probe::check_container(ctx, &engine, name, timeout).map(Some)
        }
    }
}

/// `--static`: reads the Dockerfile and reports its findings.
pub fn check_static(file: &camino::Utf8Path) -> Result<Report> {
    let src = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {file}"))
        .map_err(|error| usage(format!("{error:#}\n  name the Dockerfile with --file PATH")))?;
    let findings = dockerfile_check::check(&src);
    let status = if findings.is_empty() { Status::Healthy } else { Status::Unhealthy };
    Ok(Report { findings, ..Report::new("static", file.as_str(), status) })
}

fn emit(report: &Report, format: Format) {
    match format {
        Format::Json => output::result_line(&report.to_json().to_string()),
        Format::Text => report.text_lines().iter().for_each(|line| output::result_line(line)),
    }
}

/// Why a check that ran has no verdict.
fn verdict_error(status: Status, timeout: Duration) -> Option<String> {
    match status {
        Status::TimedOut => Some(format!(
            "no health verdict within {}: the engine still reports `starting`\n  \
             wait longer with --timeout (e.g. --timeout 2m); a probe that hangs runs into \
             its own timeout each time",
            plan::human_duration(timeout)
        )),
        Status::Interrupted(signal) => Some(format!("interrupted by {}", signal.name())),
        _ => None,
    }
}

fn outcome(ctx: &Context, report: &Report) -> Result<Outcome> {
    let error = || report.error.clone().unwrap_or_else(|| "the check failed".to_string());
    match report.status {
        Status::Healthy => Ok(Outcome::Success),
        Status::Unhealthy => Ok(Outcome::Failure),
        Status::Interrupted(signal) => {
            output::warn(ctx, &format!("{}; the throwaway container was removed", error()));
            Ok(Outcome::Code(signal.exit_code()))
        }
        Status::TimedOut | Status::Error => Err(usage(error())),
    }
}

/// Every failure to check exits 2, whatever layer it came from.
fn could_not_check(error: anyhow::Error) -> anyhow::Error {
    if exit_code_for(&error) == EXIT_USAGE {
        error
    } else {
        usage(format!("{error:#}"))
    }
}

#[cfg(test)]
mod tests;
