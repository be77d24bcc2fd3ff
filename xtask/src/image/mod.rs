//! The project's image, below the tasks that need it: the build inputs (context,
//! Dockerfile, build args, pinned bases), the source hash and per-step records
//! stored in its labels, and "build it unless it is up to date". docker-build is
//! the task that drives this in full; run-experiment and shell call
//! [`image_for_run`] before they start a container.

pub mod inputs;
pub mod pins;
pub mod progress;
pub mod registry;
pub mod steps;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use camino::Utf8PathBuf;

pub use inputs::{pyproject_extras, read_build_args_file, BuildInputs, BuildRequest};
pub use steps::{first_invalidated, Invalidation, StepRecord};

use crate::build_context::Builder;
use crate::context::{Context, Verbosity};
use crate::engine::exec::{self, Ran, SignalWatch};
use crate::engine::{inspect, push_pair, Engine, EngineCommand, EngineKind};
use crate::error::{self, usage};
use crate::output;

/// Label holding the source hash.
pub const SOURCE_HASH_LABEL: &str = "org.scylla.xtask.source-hash";
/// Project-local build-arg defaults (written by tests/offline/prepare.sh).
pub const BUILD_ARGS_FILE: &str = ".xtask/build-args";

/// A local image ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageState {
    pub reference: String,
    pub id: String,
    pub source_hash: Option<String>,
}

/// Checks an image name given with `flag` (`--image`, `--tag`) before any engine
/// call: the engine's own refusal comes only after the context is hashed and sent.
pub fn check_reference(flag: &str, value: &str) -> Result<()> {
    let problem = match crate::dockerfile::ImageRef::parse(value) {
        Ok(reference) if flag == "--tag" && reference.digest.is_some() => {
            "a tag names an image to build, so it cannot hold a digest".to_string()
        }
        Ok(_) => return Ok(()),
        Err(problem) => problem,
    };
    Err(usage(format!(
        "{flag} takes an image name like scylla-runner:latest, got `{value}`: {problem}"
    )))
}

impl BuildRequest {
    /// The project's own build of `tag`: the project root as context,
    /// docker/Dockerfile, the build args of .xtask/build-args, the last stage.
    pub fn project(ctx: &Context, tag: &str) -> Result<BuildRequest> {
        Ok(BuildRequest {
            context_dir: ctx.root.clone(),
            dockerfile: ctx.path("docker/Dockerfile"),
            tag: tag.to_string(),
            build_args: default_build_args(ctx)?,
            target: None,
            allow_unpinned: false,
        })
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
pub fn gather_inputs(
    ctx: &Context,
    request: BuildRequest,
    builder: Builder,
) -> Result<BuildInputs> {
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
    /// The build command was only printed (`--dry-run`): nothing was built.
    pub printed: bool,
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
            let invalidated = Vec::new();
            return Ok(Built { inputs, image: state, skipped: true, printed: false, invalidated });
        }
    }
    let command = build_command(&inputs, engine.kind, builder, no_cache);
    let ran = run_build(ctx, engine, &command, &inputs.request.tag)?;
    let id = match ran {
        Ran::Printed => String::new(),
        Ran::Exited(_) => {
            inspect::image(ctx, engine, &inputs.request.tag)?.map(|i| i.id).unwrap_or_default()
        }
    };
    let printed = ran == Ran::Printed;
    let state = ImageState {
        reference: inputs.request.tag.clone(),
        id,
        source_hash: Some(inputs.source_hash.clone()),
    };
    Ok(Built { inputs, image: state, skipped: false, printed, invalidated })
}

/// Lines of a failed build's output shown with its error.
const FAILED_BUILD_TAIL: usize = 20;

/// Runs the builder: with `-v` its whole output streams to stderr; otherwise
/// one line per finished step, the whole output in a log file (opened at the
/// first line, so a dry run writes nothing), and on failure the log's last
/// lines and its path.
fn run_build(ctx: &Context, engine: &Engine, command: &EngineCommand, tag: &str) -> Result<Ran> {
    // Ctrl-C reaches the builder too, which stops; this process waits for it and
    // then says so, instead of dying before the builder has ended.
    let watch = SignalWatch::install()?;
    let ran = run_builder(ctx, engine, command, tag, &watch);
    match watch.received() {
        Some(signal) => Err(error::interrupted(
            signal.exit_code(),
            format!(
                "{}: the build of {tag} was stopped; the image is unchanged",
                signal.past_tense()
            ),
        )),
        None => ran,
    }
}

fn run_builder(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
    tag: &str,
    watch: &SignalWatch,
) -> Result<Ran> {
    use std::io::Write as _;
    let program = engine.program_str();
    if ctx.verbosity >= Verbosity::Verbose {
        let ran = exec::stream(ctx, engine, command, watch)?;
        if !ran.succeeded() {
            let code = ran.code();
            anyhow::bail!(
                "`{program} build` failed with exit code {code}; its output above says why"
            );
        }
        return Ok(ran);
    }
    let log_path = build_log_path(ctx, tag);
    let mut log: Option<Option<std::io::BufWriter<std::fs::File>>> = None;
    let mut recent = std::collections::VecDeque::new();
    let mut steps = progress::Progress::default();
    let started = Instant::now();
    let mut on_line = |line: &str| {
        let file = log.get_or_insert_with(|| {
            let created = std::fs::create_dir_all(cache_dir(ctx))
                .and_then(|_| std::fs::File::create(&log_path));
            created.map(std::io::BufWriter::new).ok()
        });
        if let Some(file) = file {
            let _ = writeln!(file, "{line}");
        }
        if recent.len() == FAILED_BUILD_TAIL {
            recent.pop_front();
        }
        recent.push_back(line.to_string());
        if let Some(step) = steps.line(line) {
            output::note(ctx, &step.line(started.elapsed().as_secs_f64()));
        }
    };
    let ran = exec::lines(ctx, engine, command, watch, &mut on_line)?;
    if let Some(step) = steps.finish(!ran.succeeded()) {
        output::note(ctx, &step.line(started.elapsed().as_secs_f64()));
    }
    let saved = log.flatten().is_some_and(|mut file| file.flush().is_ok());
    if ran.succeeded() {
        return Ok(ran);
    }
    // In the error itself, so that `-q` (which hides notes) still shows why.
    let last_lines: String = recent.iter().map(|line| format!("\n  | {line}")).collect();
    let code = ran.code();
    let whole =
        if saved { format!("\n  the whole output is in {log_path}") } else { String::new() };
    anyhow::bail!(
        "`{program} build` failed with exit code {code}; its last lines:{last_lines}{whole}"
    )
}

/// Where the output of the last build of `tag` is kept.
pub fn build_log_path(ctx: &Context, tag: &str) -> Utf8PathBuf {
    let name: String =
        tag.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    cache_dir(ctx).join(format!("build-{name}.log"))
}

/// The `build` command: labels carry the source hash and step records.
pub fn build_command(
    inputs: &BuildInputs,
    kind: EngineKind,
    builder: Builder,
    no_cache: bool,
) -> EngineCommand {
    let request = &inputs.request;
    let mut argv = vec!["build".to_string()];
    push_pair(&mut argv, "--file", request.dockerfile.as_str());
    if kind == EngineKind::Podman {
        // Podman writes OCI images by default, and the OCI format has no place for
        // HEALTHCHECK: podman drops it with a warning. The docker format keeps it.
        push_pair(&mut argv, "--format", "docker");
    }
    push_pair(&mut argv, "--tag", &request.tag);
    push_pair(&mut argv, "--label", format!("{SOURCE_HASH_LABEL}={}", inputs.source_hash));
    let steps_label = steps::to_label(&inputs.steps);
    push_pair(&mut argv, "--label", format!("{}={steps_label}", steps::STEPS_LABEL));
    for (key, value) in &request.build_args {
        push_pair(&mut argv, "--build-arg", format!("{key}={value}"));
    }
    if let Some(target) = &request.target {
        push_pair(&mut argv, "--target", target);
    }
    if no_cache {
        argv.push("--no-cache".to_string());
    }
    argv.push(request.context_dir.to_string());
    let command = EngineCommand::action(argv);
    match (kind, builder) {
        (EngineKind::Podman, _) | (_, Builder::BuildKit) => command,
        // Say it explicitly: a newer CLI without buildx otherwise refuses to build.
        (EngineKind::Docker, Builder::Classic) => command.with_env("DOCKER_BUILDKIT", "0"),
    }
}

/// The project's image, rebuilt first when missing or stale (run-experiment, shell).
pub fn ensure_current(ctx: &Context, engine: &Engine, tag: &str) -> Result<ImageState> {
    let request = BuildRequest::project(ctx, tag)?;
    let started = Instant::now();
    let built = build_if_needed(ctx, engine, request, false, false)?;
    if built.skipped {
        output::detail(
            ctx,
            &format!(
                "image {tag} is up to date ({})",
                output::short_digest(&built.inputs.source_hash)
            ),
        );
    } else if built.printed {
        output::note(ctx, &format!("would build {tag} (--dry-run: the command above)"));
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
            "image {tag} does not exist locally\n  \
             build it with: cargo xtask docker-build --tag {tag}\n  \
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
