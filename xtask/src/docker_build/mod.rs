//! `cargo xtask docker-build`: build the scylla-runner image from digest-pinned
//! bases, and skip the build when nothing it depends on changed.
//!
//! The source hash (context files as the engine sends them, Dockerfile bytes,
//! build args, target) is stored in an image label; equal hash → `up to date`
//! without calling the builder. Per-step records in a second label let
//! `--explain` say which step a change invalidates first and by which files.

mod claude_code;
mod modes;
mod report;

use std::time::{Duration, Instant};

use anyhow::Result;
use camino::Utf8PathBuf;

use crate::build_context::Builder;
use crate::context::Context;
use crate::engine::Engine;
use crate::error::{usage, Outcome};
use crate::image::inputs::check_extras;
use crate::image::{build_if_needed, builder_for, check_reference, gather_inputs, BuildRequest};
use crate::output;
// Swarm still reaches the image through this task (see tests/tidy.rs).

/// Build the scylla-runner image; skip it when nothing changed.
#[derive(clap::Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    cargo xtask docker-build                      # build or say `up to date`\n  \
    cargo xtask docker-build --explain            # which step a change invalidates\n  \
    cargo xtask docker-build --check-pins         # are the base digests \
                                                    and Claude Code current?\n  \
    cargo xtask docker-build --update-pins        # rewrite stale pins in place\n  \
    cargo xtask docker-build --list-context       # files the engine would receive\n  \
    cargo xtask docker-build --extras dev --format json\n\n\
    Build-arg defaults are read from .xtask/build-args when it exists.\n\
    Exit codes: 0 built or up to date (or pins current), 1 build failed or pins stale,\n\
    2 bad input (Dockerfile, context, pins, extras) or unreachable registry.")]
pub struct Args {
    /// Build context directory [default: the project root]
    #[arg(long, value_name = "DIR")]
    pub context: Option<Utf8PathBuf>,
    /// Dockerfile [default: docker/Dockerfile under the project root]
    #[arg(long, value_name = "PATH")]
    pub file: Option<Utf8PathBuf>,
    /// Image name and tag
    #[arg(long, default_value = "scylla-runner:latest", value_name = "NAME:TAG")]
    pub tag: String,
    /// A build argument (repeatable); overrides .xtask/build-args
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Optional-dependency groups of pyproject.toml to bake into the dependency layer
    #[arg(long, value_delimiter = ',', value_name = "GROUP,...")]
    pub extras: Vec<String>,
    /// Build this stage instead of the last one
    #[arg(long)]
    pub target: Option<String>,
    /// Build even when the image is up to date
    #[arg(long)]
    pub force: bool,
    /// Build without the engine's layer cache (implies --force)
    #[arg(long)]
    pub no_cache: bool,
    /// Allow bases that are not pinned by digest
    #[arg(long)]
    pub allow_unpinned: bool,
    /// Result format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print the files the engine would put in the build context, one per line
    #[arg(long, group = "mode")]
    pub list_context: bool,
    /// Say which step a change invalidates first, and by which files; build nothing
    #[arg(long, group = "mode")]
    pub explain: bool,
    /// Ask each base's registry, and npm for Claude Code, whether the pins are
    /// current (exit 1 if any is stale)
    #[arg(long, group = "mode")]
    pub check_pins: bool,
    /// Rewrite stale pins in the Dockerfile: base digests (unpinned bases get one)
    /// and the Claude Code version with its integrity, all or nothing
    #[arg(long, group = "mode")]
    pub update_pins: bool,
    /// Registry timeout for --check-pins/--update-pins, in seconds
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub registry_timeout: u64,
    /// npm registry asked about Claude Code by --check-pins/--update-pins
    /// [default: $SCYLLA_NPM_REGISTRY, else https://registry.npmjs.org]
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
}

/// Text for people, JSON for scripts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
}

impl Args {
    /// The request these flags describe, with build args merged and extras checked.
    pub fn request(&self, ctx: &Context) -> Result<BuildRequest> {
        check_reference("--tag", &self.tag)?;
        let mut request = BuildRequest::project(ctx, &self.tag)?;
        if let Some(context_dir) = &self.context {
            request.context_dir = context_dir.clone();
        }
        if let Some(dockerfile) = &self.file {
            request.dockerfile = dockerfile.clone();
        }
        for pair in &self.build_args {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| usage(format!("--build-arg takes KEY=VALUE, got `{pair}`")))?;
            request.build_args.insert(key.to_string(), value.to_string());
        }
        check_extras(&request.context_dir, &self.extras)?;
        if !self.extras.is_empty() {
            request.build_args.insert("EXTRAS".to_string(), self.extras.join(","));
        }
        request.target = self.target.clone();
        request.allow_unpinned = self.allow_unpinned;
        Ok(request)
    }

    pub fn run(self, ctx: &Context) -> Result<Outcome> {
        let request = self.request(ctx)?;
        let timeout = Duration::from_secs(self.registry_timeout.max(1));
        if self.check_pins || self.update_pins {
            let npm_registry = claude_code::registry_url(
                self.npm_registry.as_deref(),
                ctx.env.get(claude_code::REGISTRY_ENV),
            )?;
            let mode = modes::PinsMode { update: self.update_pins, timeout, npm_registry };
            return modes::pins_mode(ctx, &request, &mode, self.format);
        }
        if self.list_context {
            let engine = Engine::from_context(ctx).ok();
            let builder = engine.map(|e| builder_for(ctx, &e)).unwrap_or(Builder::Classic);
            let inputs = gather_inputs(ctx, request, builder)?;
            for line in inputs.context.lines() {
                output::result_line(&line);
            }
            return Ok(Outcome::Success);
        }
        let engine = Engine::from_context(ctx)?;
        if self.explain {
            report::explain(&modes::explain(ctx, &engine, request)?, self.format);
            return Ok(Outcome::Success);
        }
        let started = Instant::now();
        let built =
            build_if_needed(ctx, &engine, request, self.force || self.no_cache, self.no_cache)?;
        report::build_result(ctx, &built, started.elapsed(), self.format);
        Ok(Outcome::Success)
    }
}
