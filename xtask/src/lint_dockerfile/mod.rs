//! `cargo xtask lint-dockerfile`: a fast Dockerfile linter that speaks hadolint's
//! language (rule codes, `# hadolint ignore=` pragmas, `.hadolint.yaml`) and also
//! checks this project's own invariants (`SCY` rules).
//!
//! It parses with [`crate::dockerfile`] and reads `RUN` scripts with a small shell
//! reader ([`shell`]); when `shellcheck` is installed it also runs it over the
//! scripts, once per invocation. Exit codes: 0 when no finding reaches the failure
//! threshold, 1 when one does, 2 for usage and I/O errors. The user documentation
//! with every rule is `docs/lint-dockerfile.md`.
//!
//! The modules, leaves first: [`finding`] (severities, findings, options),
//! [`catalog`] (every rule), `facts` (what rules read) and `findings` (what they
//! write), the `rules`, then [`pipeline`], the one place they run in order. This
//! file does the task's I/O: configuration, files, context listings, ShellCheck.

pub mod catalog;
pub mod config;
mod context_check;
mod facts;
pub mod finding;
mod findings;
pub mod output;
pub mod pipeline;
mod pragma;
mod rules;
pub mod shell;
pub mod shellcheck;
mod shellcheck_run;

use anyhow::Context as _;
use camino::{Utf8Path, Utf8PathBuf};

use crate::build_context::Builder;
use crate::context::Context;
use crate::error::{usage, Outcome};

pub use catalog::{rule, Rule, RULES};
pub use config::{Config, Threshold};
pub use context_check::{ContextCache, ContextView};
pub use finding::{Finding, LabelType, Options, Severity};
pub use output::{FileReport, Format};
pub use pipeline::{lint, lint_all, Input};

/// Lint Dockerfiles with hadolint's rule codes and this project's rules.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    cargo xtask lint-dockerfile                              # every Dockerfile of the project\n  \
    cargo xtask lint-dockerfile docker/Dockerfile --failure-threshold warning\n  \
    cargo xtask lint-dockerfile --ignore DL3008 --format json\n  \
    cargo xtask lint-dockerfile --format sarif > lint.sarif  # for GitHub code scanning\n  \
    cargo xtask lint-dockerfile --list-rules\n\n\
    Stdout holds the findings only; a count of files and findings ends the run on stderr.\n\
    Exit codes: 0 no finding at or above the failure threshold, 1 at least one,\n\
    2 usage or I/O error (a bad flag or configuration, an unreadable file or build context,\n\
    no Dockerfile found).")]
pub struct Args {
    /// Dockerfiles to lint [default: every file of the project named Dockerfile,
    /// Containerfile, *.Dockerfile, *.Containerfile, Dockerfile.* or Containerfile.* (not
    /// *.dockerignore), outside target/, .git/ and node_modules/]
    pub files: Vec<Utf8PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Tty)]
    pub format: Format,

    /// Configuration file in .hadolint.yaml form [default: .hadolint.yaml or
    /// .hadolint.yml at the project root, when present]
    #[arg(long, value_name = "PATH")]
    pub config: Option<Utf8PathBuf>,

    /// Exit 1 only for findings of this severity or above: error, warning, info, style
    /// or none [default: the configuration's, else info]
    #[arg(long, value_name = "LEVEL", value_parser = parse_threshold)]
    pub failure_threshold: Option<Threshold>,

    /// Do not report this rule (repeatable), e.g. --ignore DL3008
    #[arg(long = "ignore", value_name = "CODE")]
    pub ignore: Vec<String>,

    /// Accept FROM images only from this registry (repeatable; turns on DL3026)
    #[arg(long = "trusted-registry", value_name = "HOST")]
    pub trusted_registries: Vec<String>,

    /// The build context for the COPY/ADD source check (SCY008) [default: the project root]
    #[arg(long, value_name = "DIR", conflicts_with = "no_context")]
    pub context: Option<Utf8PathBuf>,

    /// Skip the COPY/ADD source check (SCY008) and do not read the build context
    #[arg(long)]
    pub no_context: bool,

    /// Which builder's .dockerignore rules apply: classic or buildkit [default: buildkit
    /// when DOCKER_BUILDKIT=1, else classic]
    #[arg(long, value_name = "BUILDER", value_parser = parse_builder)]
    pub builder: Option<Builder>,

    /// Do not run ShellCheck over RUN scripts, even when it is installed
    #[arg(long)]
    pub no_shellcheck: bool,

    /// Print every rule (code, default severity, meaning) and lint nothing; SC codes are
    /// ShellCheck's
    #[arg(long, conflicts_with = "files")]
    pub list_rules: bool,
}

fn parse_builder(text: &str) -> Result<Builder, String> {
    match text {
        "classic" => Ok(Builder::Classic),
        "buildkit" => Ok(Builder::BuildKit),
        _ => Err(format!("{text:?}: use classic or buildkit")),
    }
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text)
        .ok_or_else(|| format!("{text:?}: use error, warning, info, style or none"))
}

impl Args {
    pub fn run(self, ctx: &Context) -> anyhow::Result<Outcome> {
        if self.list_rules {
            print!("{}", catalog::listing());
            return Ok(Outcome::Success);
        }
        let (config, config_path) = load_config(ctx, self.config.as_deref())?;
        for key in &config.unknown_keys {
            eprintln!("lint-dockerfile: configuration key `{key}` is not used");
        }
        self.report_codes(ctx, &config, config_path.as_deref());
        let threshold = self
            .failure_threshold
            .or(config.failure_threshold)
            .unwrap_or(Threshold::At(Severity::Info));
        let options = self.options(config);
        let files = if self.files.is_empty() { discover(&ctx.root)? } else { self.files.clone() };
        let sources = read_sources(&files)?;
        let views = self.context_views(ctx, &options, &files)?;
        let inputs: Vec<Input<'_>> = sources
            .iter()
            .zip(&views)
            .map(|(source, view)| Input { source, context: view.as_deref() })
            .collect();
        let program = if self.no_shellcheck { None } else { shellcheck_run::find(ctx) };
        let mut run_shellcheck = |batch: &shellcheck::Batch| match &program {
            Some(program) => shellcheck_run::check(ctx, program, batch),
            None => Vec::new(),
        };
        let checker: Option<pipeline::ShellChecker<'_>> =
            program.is_some().then_some(&mut run_shellcheck);
        let findings = lint_all(&inputs, &options, checker);
        let reports: Vec<FileReport> = files
            .iter()
            .zip(sources)
            .zip(findings)
            .map(|((file, source), findings)| FileReport {
                path: display_path(&ctx.root, file),
                source,
                findings,
            })
            .collect();
        print!("{}", output::render(self.format, &reports, ctx.stdout_color()));
        // On stderr, so the machine formats' stdout stays one document.
        let summary = output::summary(&reports);
        if reports.iter().all(|r| r.findings.is_empty()) {
            crate::output::success(ctx, &summary);
        } else {
            crate::output::note(ctx, &summary);
        }
        let failed = reports.iter().flat_map(|r| &r.findings).any(|f| threshold.fails(f.severity));
        Ok(if failed { Outcome::Failure } else { Outcome::Success })
    }

    /// Says, once per code, which codes of `ignored:`, `override:` and `--ignore` no rule
    /// reports: a typo is a warning, a hadolint rule this linter lacks a note.
    fn report_codes(&self, ctx: &Context, config: &Config, config_path: Option<&Utf8Path>) {
        let file = config_path.map(|path| display_path(&ctx.root, path)).unwrap_or_default();
        let (ignored, overridden) =
            (format!("`ignored` of {file}"), format!("`override` of {file}"));
        let named = (config.ignored.iter().map(|code| (code, ignored.as_str())))
            .chain(config.overrides.keys().map(|code| (code, overridden.as_str())))
            .chain(self.ignore.iter().map(|code| (code, "--ignore")));
        let mut seen = std::collections::BTreeSet::new();
        for (code, place) in named {
            if !seen.insert(code.to_ascii_uppercase()) {
                continue;
            }
            match catalog::classify(code) {
                catalog::CodeKind::Unknown { near } => {
                    crate::output::warn(ctx, &catalog::unknown_code_message(code, place, &near));
                }
                catalog::CodeKind::HadolintOnly => crate::output::note(
                    ctx,
                    &format!(
                        "lint-dockerfile: {code} in {place} is a hadolint rule this linter \
                         does not check; it is not used"
                    ),
                ),
                catalog::CodeKind::Rule | catalog::CodeKind::ShellCheck => {}
            }
        }
    }

    /// The listed build context of each file (for SCY008), each context listed once.
    fn context_views(
        &self,
        ctx: &Context,
        options: &Options,
        files: &[Utf8PathBuf],
    ) -> anyhow::Result<Vec<Option<std::sync::Arc<ContextView>>>> {
        let mut cache = ContextCache::default();
        let mut views = Vec::with_capacity(files.len());
        for file in files {
            let view = if checks_context(options) {
                self.context_view(ctx, &mut cache, file)?
            } else {
                None
            };
            views.push(view);
        }
        if cache.listings() > 0 {
            let message = format!(
                "lint-dockerfile: {} build context listing(s) for {} Dockerfile(s)",
                cache.listings(),
                files.len()
            );
            crate::output::detail(ctx, &message);
        }
        Ok(views)
    }

    fn context_view(
        &self,
        ctx: &Context,
        cache: &mut ContextCache,
        dockerfile: &Utf8Path,
    ) -> anyhow::Result<Option<std::sync::Arc<ContextView>>> {
        if self.no_context {
            return Ok(None);
        }
        let dir = self.context.clone().unwrap_or_else(|| ctx.root.clone());
        let builder = self.builder.unwrap_or(match ctx.env.get("DOCKER_BUILDKIT") {
            Some("1") => Builder::BuildKit,
            _ => Builder::Classic,
        });
        let view = cache
            .view(&dir, dockerfile, builder)
            .map_err(|e| usage(format!("cannot list the build context {dir}: {e:#}")))?;
        Ok(Some(view))
    }

    fn options(&self, config: Config) -> Options {
        let mut ignored = config.ignored;
        ignored.extend(self.ignore.iter().map(|c| c.to_ascii_uppercase()));
        let mut trusted_registries = config.trusted_registries;
        trusted_registries.extend(self.trusted_registries.iter().cloned());
        Options {
            trusted_registries,
            ignored,
            overrides: config.overrides,
            disable_pragmas: config.disable_pragmas,
            label_schema: config.label_schema,
            strict_labels: config.strict_labels,
        }
    }
}

/// Each file's text (lossy UTF-8); an unreadable file is a usage error.
fn read_sources(files: &[Utf8PathBuf]) -> anyhow::Result<Vec<String>> {
    files
        .iter()
        .map(|file| {
            std::fs::read(file)
                .map_err(|e| usage(format!("cannot read {file}: {e}")))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

/// Whether SCY008 can report anything, so the context is worth listing.
fn checks_context(options: &Options) -> bool {
    !options.turned_off("SCY008")
}

/// The configuration and the file it came from (none: no file, the defaults).
fn load_config(
    ctx: &Context,
    explicit: Option<&Utf8Path>,
) -> anyhow::Result<(Config, Option<Utf8PathBuf>)> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => match [".hadolint.yaml", ".hadolint.yml"]
            .iter()
            .map(|n| ctx.path(n))
            .find(|p| p.is_file())
        {
            Some(path) => path,
            None => return Ok((Config::default(), None)),
        },
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
    let config = config::parse(&text)
        .map_err(|e| usage(format!("{path}: {e}")))
        .context("invalid lint configuration")?;
    Ok((config, Some(path)))
}

/// Whether a file name is one the default discovery lints.
pub fn is_dockerfile_name(name: &str) -> bool {
    if name.ends_with(".dockerignore") {
        return false;
    }
    ["Dockerfile", "Containerfile"].iter().any(|base| {
        name == *base
            || name.strip_suffix(base).is_some_and(|p| p.ends_with('.') && p.len() > 1)
            || name.strip_prefix(base).is_some_and(|s| s.starts_with('.') && s.len() > 1)
    })
}

/// Every Dockerfile of the project, sorted; a usage error when there is none.
pub fn discover(root: &Utf8Path) -> anyhow::Result<Vec<Utf8PathBuf>> {
    let skip = |name: &str| matches!(name, "target" | ".git" | "node_modules");
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(root).into_iter().filter_entry(|e| {
        e.depth() == 0 || !(e.file_type().is_dir() && e.file_name().to_str().is_some_and(skip))
    });
    for entry in walker {
        let entry = entry.map_err(|e| usage(format!("cannot walk {root}: {e}")))?;
        let is_match = entry.file_type().is_file()
            && entry.file_name().to_str().is_some_and(is_dockerfile_name);
        if let (true, Some(path)) = (is_match, Utf8Path::from_path(entry.path())) {
            found.push(path.to_path_buf());
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(usage(format!("no Dockerfile found under {root}; name the files to lint")));
    }
    Ok(found)
}

fn display_path(root: &Utf8Path, file: &Utf8Path) -> String {
    let shown = file.strip_prefix(root).unwrap_or(file);
    shown.as_str().replace('\\', "/")
}

#[cfg(test)]
mod tests;
