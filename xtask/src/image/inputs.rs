//! Everything a build depends on, read and checked before the engine is asked
//! anything: the Dockerfile (parsed), effective build args, pinned bases, the
//! context as the engine will see it, its source hash and the step records.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::pins::{self, BaseImage};
use super::steps::{self, CopyInputs, StepRecord};
use crate::build_context::{self as bc, BuildContext, Builder, ContentDigests, SourceHashInput};
use crate::dockerfile::{self, Dockerfile, SourceKind};
use crate::error::usage;

/// What the user asked to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRequest {
    pub context_dir: Utf8PathBuf,
    pub dockerfile: Utf8PathBuf,
    pub tag: String,
    /// Effective build args: `.xtask/build-args` defaults, then `--build-arg`, then `--extras`.
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub allow_unpinned: bool,
}

/// The checked inputs of one build.
#[derive(Debug)]
pub struct BuildInputs {
    pub request: BuildRequest,
    pub parsed: Dockerfile,
    pub bases: Vec<BaseImage>,
    pub context: BuildContext,
    pub source_hash: String,
    pub steps: Vec<StepRecord>,
    /// Files whose content hash came from the cache / were read.
    pub reused: usize,
    pub hashed: usize,
    /// Why the hash cache could not be saved, if it could not.
    pub cache_error: Option<String>,
}

/// Reads `KEY=VALUE` lines (comments and blanks skipped) of a build-args file.
pub fn read_build_args_file(path: &Utf8Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let mut args = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| {
            usage(format!("{path}:{}: expected KEY=VALUE, got `{line}`", number + 1))
        })?;
        args.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(args)
}

/// The optional-dependency groups declared in a pyproject.toml (section
/// `[project.optional-dependencies]`, keys up to the next section).
pub fn pyproject_extras(text: &str) -> Vec<String> {
    let mut in_section = false;
    let mut groups = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[')
            && !trimmed.starts_with("[[")
            && trimmed.ends_with(']')
            && !line.starts_with(' ')
        {
            in_section = trimmed == "[project.optional-dependencies]";
            continue;
        }
        if in_section && !line.starts_with([' ', '\t', '"', ']']) {
            if let Some((key, _)) = trimmed.split_once('=') {
                groups.push(key.trim().trim_matches('"').to_string());
            }
        }
    }
    groups
}

/// Checks `--extras` against the context's pyproject.toml; unknown → exit 2.
pub fn check_extras(context_dir: &Utf8Path, extras: &[String]) -> Result<()> {
    if extras.is_empty() {
        return Ok(());
    }
    let path = context_dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| usage(format!("--extras needs {path}, which cannot be read: {e}")))?;
    let known = pyproject_extras(&text);
    let declared = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    if extras.iter().any(|e| e.trim().is_empty()) {
        return Err(usage(format!(
            "--extras takes group names separated by commas, and one is empty \
             (--extras dev,test; leave the flag out for none)\n  {path} declares: {declared}"
        )));
    }
    let unknown: Vec<&String> = extras.iter().filter(|e| !known.contains(e)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "unknown --extras group(s): {}\n  {path} declares: {}",
        unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
        declared
    )))
}

fn read_dockerfile(path: &Utf8Path) -> Result<(Vec<u8>, Dockerfile)> {
    let bytes = std::fs::read(path).map_err(|e| {
        usage(format!(
            "cannot read the Dockerfile {path}: {e}\n  pass the right one with --file PATH"
        ))
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let parsed = dockerfile::parse(&text);
    if let Some(error) = parsed.errors.first() {
        return Err(usage(format!(
            "{path}:{}:{}: {}\n  the engine would reject this Dockerfile; fix that line",
            error.line, error.column, error.message
        )));
    }
    if parsed.stages.is_empty() {
        return Err(usage(format!("{path} has no FROM instruction")));
    }
    Ok((bytes, parsed))
}

/// Reads and checks everything; `cache_dir` keeps content hashes between runs.
pub fn gather(
    request: BuildRequest,
    builder: Builder,
    cache_dir: &Utf8Path,
) -> Result<BuildInputs> {
    if !request.context_dir.is_dir() {
        return Err(usage(format!(
            "the build context {} is not a directory\n  pass it with --context DIR",
            request.context_dir
        )));
    }
    let (bytes, parsed) = read_dockerfile(&request.dockerfile)?;
    if let Some(target) = &request.target {
        if parsed.stage_named(target).is_none() {
            return Err(usage(format!(
                "--target {target}: {} has no such stage",
                request.dockerfile
            )));
        }
    }
    let bases = pins::external_bases(&request.dockerfile, &parsed, &request.build_args)?;
    if !request.allow_unpinned {
        pins::require_pinned(&request.dockerfile, &bases)?;
    }
    let spec = bc::ContextSpec {
        context_dir: &request.context_dir,
        dockerfile: &request.dockerfile,
        builder,
    };
    let context = bc::list_context(&spec).map_err(|e| usage(format!("{e:#}")))?;
    let digests = ContentDigests::compute(&context, Some(cache_dir))?;
    let copy_inputs = copy_inputs(&request.dockerfile, &parsed, &context, &digests)?;
    let input = SourceHashInput {
        dockerfile: &bytes,
        build_args: &request.build_args,
        target: request.target.as_deref(),
        platform: None,
    };
    let source_hash = bc::source_hash(&context, &digests, &input)?;
    let steps = steps::records(&parsed, &request.build_args, &copy_inputs);
    Ok(BuildInputs {
        request,
        parsed,
        bases,
        context,
        source_hash,
        steps,
        reused: digests.reused,
        hashed: digests.hashed,
        cache_error: digests.cache_error,
    })
}

/// Step inputs of every context COPY/ADD; a missing or excluded source is an
/// error naming the line, before any build.
fn copy_inputs(
    file: &Utf8Path,
    parsed: &Dockerfile,
    context: &BuildContext,
    digests: &ContentDigests,
) -> Result<BTreeMap<usize, CopyInputs>> {
    let mut result = BTreeMap::new();
    let mut problems = Vec::new();
    for copy in parsed.context_copies().into_iter().filter(|c| !c.onbuild) {
        let sources: Vec<&str> = copy
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Path)
            .map(|s| s.text.as_str())
            .collect();
        if sources.is_empty() {
            continue;
        }
        let step = bc::step_inputs(context, digests, &sources)?;
        for problem in step.problems() {
            let why = match &problem.status {
                bc::SourceStatus::Excluded { .. } => "is excluded by the .dockerignore",
                _ => "does not exist in the build context",
            };
            problems.push(format!(
                "  {file}:{}: {} {} `{}` {why}",
                copy.line, copy.keyword, "source", problem.source
            ));
        }
        let files = step
            .paths
            .iter()
            .filter_map(|path| {
                digests.by_path.get(path).map(|d| {
                    (path.clone(), crate::output::short_digest(&bc::hex(d.as_ref())).to_string())
                })
            })
            .collect();
        result.insert(copy.instruction_index, CopyInputs { hash: step.hash, files });
    }
    if problems.is_empty() {
        Ok(result)
    } else {
        Err(usage(format!(
            "COPY/ADD sources the engine will not find:\n{}\n  \
             add them to the context, or re-include them in the .dockerignore with `!path`",
            problems.join("\n")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_optional_dependency_groups() {
        let text = "[project]\nname = \"scylla\"\n\n[project.optional-dependencies]\n\
                    dev = [\"pytest>=7\"]\nanalysis = [\n  \"x\",\n]\n\n[tool.x]\ny = 1\n";
        assert_eq!(pyproject_extras(text), ["dev", "analysis"]);
    }
}
