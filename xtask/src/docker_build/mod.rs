//! `cargo xtask docker-build`: build the scylla-runner image from digest-pinned
//! bases, and skip the build when nothing it depends on changed.
//!
//! The source hash (context files as the engine sends them, Dockerfile bytes,
//! build args, target) is stored in an image label; equal hash → `up to date`
//! without calling the builder. Per-step records in a second label let
//! `--explain` say which step a change invalidates first and by which files.

mod claude_code;
mod inputs;
mod pins;
mod registry;
mod report;
mod steps;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use camino::Utf8PathBuf;

pub use inputs::{pyproject_extras, read_build_args_file, BuildInputs, BuildRequest};
pub use steps::{first_invalidated, Invalidation, StepRecord};

use crate::build_context::Builder;
use crate::context::Context;
use crate::engine::{exec, inspect, Engine, EngineCommand, EngineKind};
use crate::error::{usage, Outcome};
use crate::output;

/// Label holding the source hash.
pub const SOURCE_HASH_LABEL: &str = "org.scylla.xtask.source-hash";
/// Project-local build-arg defaults (written by tests/offline/prepare.sh).
pub const BUILD_ARGS_FILE: &str = ".xtask/build-args";

/// Build the scylla-runner image; skip it when nothing changed.
#[derive(clap::Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    cargo xtask docker-build                      # build or say `up to date`\n  \
    cargo xtask docker-build --explain            # which step a change invalidates\n  \
    cargo xtask docker-build --check-pins         # are the base digests and Claude Code current?\n  \
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
    #[arg(long, default_value = "scylla-runner:latest")]
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

/// A local image ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageState {
    pub reference: String,
    pub id: String,
    pub source_hash: Option<String>,
}

impl Args {
    /// The request these flags describe, with build args merged and extras checked.
    pub fn request(&self, ctx: &Context) -> Result<BuildRequest> {
        let context_dir = self.context.clone().unwrap_or_else(|| ctx.root.clone());
        let dockerfile = self.file.clone().unwrap_or_else(|| ctx.path("docker/Dockerfile"));
        let mut build_args = default_build_args(ctx)?;
        for pair in &self.build_args {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| usage(format!("--build-arg takes KEY=VALUE, got `{pair}`")))?;
            build_args.insert(key.to_string(), value.to_string());
        }
        inputs::check_extras(&context_dir, &self.extras)?;
        if !self.extras.is_empty() {
            build_args.insert("EXTRAS".to_string(), self.extras.join(","));
        }
        Ok(BuildRequest {
            context_dir,
            dockerfile,
            tag: self.tag.clone(),
            build_args,
            target: self.target.clone(),
            allow_unpinned: self.allow_unpinned,
        })
    }

    pub fn run(self, ctx: &Context) -> Result<Outcome> {
        let request = self.request(ctx)?;
        let timeout = Duration::from_secs(self.registry_timeout.max(1));
        if self.check_pins || self.update_pins {
            let npm_registry = claude_code::registry_url(
                self.npm_registry.as_deref(),
                ctx.env.get(claude_code::REGISTRY_ENV),
            )?;
            let mode = report::PinsMode { update: self.update_pins, timeout, npm_registry };
            return report::pins_mode(ctx, &request, &mode, self.format);
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
            return report::explain(ctx, &engine, request, self.format);
        }
        let started = Instant::now();
        let built =
            build_if_needed(ctx, &engine, request, self.force || self.no_cache, self.no_cache)?;
        report::build_result(ctx, &built, started.elapsed(), self.format);
        Ok(Outcome::Success)
    }
}

fn default_build_args(ctx: &Context) -> Result<BTreeMap<String, String>> {
    let path = ctx.path(BUILD_ARGS_FILE);
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let args = read_build_args_file(&path)?;
    output::detail(
        ctx,
        &format!("build args from {path}: {}", args.keys().cloned().collect::<Vec<_>>().join(", ")),
    );
    Ok(args)
}

/// Where content hashes are cached between runs: the user's cache directory
/// (`$XDG_CACHE_HOME/scylla-xtask`, else `~/.cache/scylla-xtask`), else the
/// project's `target/xtask-cache`. Never a path fixed when the tool was built:
/// another user must not need to write there. Not the project by default: it
/// may be the build context itself, where a cache file would change the hash.
/// Cache files are keyed by the context directory, so projects never mix.
pub fn cache_dir(ctx: &Context) -> Utf8PathBuf {
    let absolute =
        |name: &str| ctx.env.get(name).map(Utf8PathBuf::from).filter(|p| p.is_absolute());
    if let Some(dir) = absolute("XDG_CACHE_HOME") {
        return dir.join("scylla-xtask");
    }
    match absolute("HOME") {
        Some(home) => home.join(".cache/scylla-xtask"),
        None => ctx.path("target/xtask-cache"),
    }
}

/// Reads and checks the build inputs; a hash cache that cannot be saved costs
/// only speed, so it is a `-v` note.
fn gather_inputs(ctx: &Context, request: BuildRequest, builder: Builder) -> Result<BuildInputs> {
    let inputs = inputs::gather(request, builder, &cache_dir(ctx))?;
    if let Some(error) = &inputs.cache_error {
        output::detail(
            ctx,
            &format!("note: hash cache not saved ({error}); the next run hashes the context again"),
        );
    }
    Ok(inputs)
}

/// The builder `build` will use: BuildKit when buildx answers (or is forced
/// with DOCKER_BUILDKIT=1), else the legacy builder. The probe's answer is
/// cached per engine binary (path, size, mtime), so the no-op path does not
/// pay for an extra engine process.
pub fn builder_for(ctx: &Context, engine: &Engine) -> Builder {
    if engine.kind == EngineKind::Podman {
        return Builder::Classic;
    }
    match ctx.env.get("DOCKER_BUILDKIT") {
        Some("0") => return Builder::Classic,
        Some("1") => return Builder::BuildKit,
        _ => {}
    }
    let marker = builder_cache_file(ctx, engine);
    if let Some(cached) = marker.as_ref().and_then(|m| std::fs::read_to_string(m).ok()) {
        match cached.trim() {
            "buildkit" => return Builder::BuildKit,
            "classic" => return Builder::Classic,
            _ => {}
        }
    }
    let probe = EngineCommand::query(["buildx", "version"]);
    let builder = match exec::output(ctx, engine, &probe) {
        Ok(out) if out.status.success() => Builder::BuildKit,
        _ => Builder::Classic,
    };
    if let Some(marker) = marker {
        let text = if builder == Builder::BuildKit { "buildkit" } else { "classic" };
        let _ = std::fs::create_dir_all(cache_dir(ctx)).and_then(|_| std::fs::write(marker, text));
    }
    builder
}

fn builder_cache_file(ctx: &Context, engine: &Engine) -> Option<Utf8PathBuf> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&engine.program).ok()?;
    // The docker CLI finds buildx in ~/.docker/cli-plugins too: key on that as well.
    let plugin_dir =
        ctx.env.get("HOME").map(|home| format!("{home}/.docker/cli-plugins")).unwrap_or_default();
    let plugin_stamp = std::fs::metadata(&plugin_dir).map(|m| m.mtime()).unwrap_or(0);
    let key =
        format!("{}|{}|{}|{plugin_dir}|{plugin_stamp}", engine.program, meta.len(), meta.mtime());
    let digest = Sha256::digest(key.as_bytes());
    let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(cache_dir(ctx).join(format!("builder-{name}")))
}

/// What `build_if_needed` did.
#[derive(Debug)]
pub struct Built {
    pub inputs: BuildInputs,
    pub image: ImageState,
    pub skipped: bool,
    pub invalidated: Vec<Invalidation>,
}

/// Builds unless the image for the tag carries the same source hash.
pub fn build_if_needed(
    ctx: &Context,
    engine: &Engine,
    request: BuildRequest,
    force: bool,
    no_cache: bool,
) -> Result<Built> {
    let builder = builder_for(ctx, engine);
    let inputs = gather_inputs(ctx, request, builder)?;
    output::detail(
        ctx,
        &format!(
            "source hash {} ({} files hashed, {} from cache)",
            inputs.source_hash, inputs.hashed, inputs.reused
        ),
    );
    let existing = inspect::image(ctx, engine, &inputs.request.tag)?;
    let old_steps = existing
        .as_ref()
        .and_then(|i| i.labels.get(steps::STEPS_LABEL))
        .and_then(|l| steps::from_label(l));
    let invalidated =
        old_steps.map(|old| first_invalidated(&old, &inputs.steps)).unwrap_or_default();
    if let Some(image) = &existing {
        if !force && image.labels.get(SOURCE_HASH_LABEL) == Some(&inputs.source_hash) {
            let state = ImageState {
                reference: inputs.request.tag.clone(),
                id: image.id.clone(),
                source_hash: Some(inputs.source_hash.clone()),
            };
            return Ok(Built { inputs, image: state, skipped: true, invalidated: Vec::new() });
        }
    }
    let command = build_command(&inputs, builder, no_cache);
    let code = exec::stream(ctx, engine, &command)?;
    if code != 0 {
        anyhow::bail!(
            "`{} build` failed with exit code {code}; its output above says why",
            engine.program_str()
        );
    }
    let id = if ctx.dry_run {
        String::from("(dry run)")
    } else {
        inspect::image(ctx, engine, &inputs.request.tag)?.map(|i| i.id).unwrap_or_default()
    };
    let state = ImageState {
        reference: inputs.request.tag.clone(),
        id,
        source_hash: Some(inputs.source_hash.clone()),
    };
    Ok(Built { inputs, image: state, skipped: false, invalidated })
}

/// The `build` command: labels carry the source hash and step records.
pub fn build_command(inputs: &BuildInputs, builder: Builder, no_cache: bool) -> EngineCommand {
    let request = &inputs.request;
    let mut argv = vec!["build".to_string(), "--file".to_string(), request.dockerfile.to_string()];
    argv.extend(["--tag".to_string(), request.tag.clone()]);
    argv.extend(["--label".to_string(), format!("{SOURCE_HASH_LABEL}={}", inputs.source_hash)]);
    argv.extend([
        "--label".to_string(),
        format!("{}={}", steps::STEPS_LABEL, steps::to_label(&inputs.steps)),
    ]);
    for (key, value) in &request.build_args {
        argv.extend(["--build-arg".to_string(), format!("{key}={value}")]);
    }
    if let Some(target) = &request.target {
        argv.extend(["--target".to_string(), target.clone()]);
    }
    if no_cache {
        argv.push("--no-cache".to_string());
    }
    argv.push(request.context_dir.to_string());
    let command = EngineCommand::action(argv);
    match builder {
        // Say it explicitly: a newer CLI without buildx otherwise refuses to build.
        Builder::Classic => command.with_env("DOCKER_BUILDKIT", "0"),
        Builder::BuildKit => command,
    }
}

/// The project's image, rebuilt first when missing or stale (run-experiment, shell).
pub fn ensure_current(ctx: &Context, engine: &Engine, tag: &str) -> Result<ImageState> {
    let args = Args { tag: tag.to_string(), ..Args::default() };
    let request = args.request(ctx)?;
    let started = Instant::now();
    let built = build_if_needed(ctx, engine, request, false, false)?;
    if built.skipped {
        output::detail(
            ctx,
            &format!("image {tag} is up to date ({})", short(&built.inputs.source_hash)),
        );
    } else {
        output::note(ctx, &format!("built {tag} in {:.1} s", started.elapsed().as_secs_f64()));
    }
    Ok(built.image)
}

/// The image as it is (`--no-build`): it must exist.
pub fn existing_image(ctx: &Context, engine: &Engine, tag: &str) -> Result<ImageState> {
    match inspect::image(ctx, engine, tag)? {
        Some(image) => Ok(ImageState {
            reference: tag.to_string(),
            id: image.id,
            source_hash: image.labels.get(SOURCE_HASH_LABEL).cloned(),
        }),
        None => Err(usage(format!(
            "image {tag} does not exist locally\n  build it with: cargo xtask docker-build --tag {tag}\n  \
             (or drop --no-build to build it as needed)"
        ))),
    }
}

/// `--no-build` → the image as it is; otherwise rebuilt when missing or stale.
pub fn image_for_run(
    ctx: &Context,
    engine: &Engine,
    tag: &str,
    no_build: bool,
) -> Result<ImageState> {
    if no_build {
        existing_image(ctx, engine, tag)
    } else {
        ensure_current(ctx, engine, tag)
    }
}

/// The first 12 hex digits, for messages.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
