//! Per-step inputs: which context entries a `COPY`/`ADD` consumes, and their hash.
//!
//! Sources are resolved the way the classic builder does it: a leading `/` and then a
//! leading `./` are dropped; a source with an unescaped `*`, `?` or `[` is a wildcard that
//! is tried with Go's `filepath.Match` against the relative path of every context entry
//! (so `*` never crosses a `/` and `src/*.py` does not reach `src/pkg/a.py`); a matched
//! directory brings everything under it. Any other source is one path, cleaned inside the
//! context (`..` cannot leave it), with symlinks followed inside the context: the link
//! entries and everything under the final target count as inputs.

use std::collections::{BTreeMap, VecDeque};

use camino::Utf8Path;
use walkdir::WalkDir;

use super::digest::ContentDigests;
use super::glob::{go_clean, GoGlob};
use super::source_hash::step_hash;
use super::walk::{BuildContext, ContextEntry, EntryKind};

/// How one source string resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// It names `count` context entries.
    Found { count: usize },
    /// Nothing in the context and nothing on disk matches it.
    Missing,
    /// Nothing in the context matches it, but these paths on disk do: the ignore file (or
    /// the builder's own deletion of the Dockerfile and `.dockerignore`) removed them.
    Excluded { on_disk: Vec<String> },
    /// A URL (`ADD https://...`): not part of the context.
    Remote,
}

/// One source string and its resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReport {
    pub source: String,
    pub status: SourceStatus,
}

/// The inputs of one `COPY`/`ADD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepInputs {
    /// One report per source, in the order given.
    pub sources: Vec<SourceReport>,
    /// Every consumed context path, sorted, without duplicates.
    pub paths: Vec<String>,
    /// The step input hash (format in [`super::source_hash`]).
    pub hash: String,
}

impl StepInputs {
    /// The sources that are missing or excluded; a build with any of them should stop.
    pub fn problems(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources
            .iter()
            .filter(|s| matches!(s.status, SourceStatus::Missing | SourceStatus::Excluded { .. }))
    }
}

/// Resolves the sources of one `COPY`/`ADD` (as written, relative to the context) against
/// the listed context and hashes what they consume.
///
/// ```no_run
/// # use camino::Utf8Path;
/// # use xtask::build_context::*;
/// # let spec = ContextSpec {
/// #     context_dir: Utf8Path::new("."),
/// #     dockerfile: Utf8Path::new("docker/Dockerfile"),
/// #     builder: Builder::Classic,
/// # };
/// # let context = list_context(&spec)?;
/// # let digests = ContentDigests::compute(&context, None)?;
/// let step = step_inputs(&context, &digests, &["pyproject.toml", "src/"])?;
/// for problem in step.problems() {
///     eprintln!("{}: {:?}", problem.source, problem.status);
/// }
/// println!("{} files, hash {}", step.paths.len(), step.hash);
/// # anyhow::Ok(())
/// ```
pub fn step_inputs(
    context: &BuildContext,
    digests: &ContentDigests,
    sources: &[&str],
) -> anyhow::Result<StepInputs> {
    let mut consumed: BTreeMap<&str, &ContextEntry> = BTreeMap::new();
    let mut reports = Vec::new();
    for &source in sources {
        if is_url(source) {
            reports.push(SourceReport { source: source.to_owned(), status: SourceStatus::Remote });
            continue;
        }
        let found = resolve_source(context, source);
        let status = if found.is_empty() {
            match excluded_on_disk(context, source) {
                on_disk if on_disk.is_empty() => SourceStatus::Missing,
                on_disk => SourceStatus::Excluded { on_disk },
            }
        } else {
            SourceStatus::Found { count: found.len() }
        };
        consumed.extend(found.into_iter().map(|entry| (entry.path.as_str(), entry)));
        reports.push(SourceReport { source: source.to_owned(), status });
    }
    let entries: Vec<&ContextEntry> = consumed.values().copied().collect();
    Ok(StepInputs {
        sources: reports,
        paths: entries.iter().map(|e| e.path.clone()).collect(),
        hash: step_hash(&entries, digests)?,
    })
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// The source as the builder looks it up: one leading `/`, then one leading `./`, removed.
fn trimmed(source: &str) -> &str {
    let source = source.strip_prefix('/').unwrap_or(source);
    source.strip_prefix("./").unwrap_or(source)
}

/// The engine's wildcard test: `*`, `?` or `[` not preceded by a backslash.
fn has_wildcards(source: &str) -> bool {
    let mut chars = source.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// The context entries a source consumes (empty when it names nothing).
fn resolve_source<'a>(context: &'a BuildContext, source: &str) -> Vec<&'a ContextEntry> {
    let source = trimmed(source);
    let mut found = Vec::new();
    if has_wildcards(source) {
        // A malformed pattern matches nothing, as in the engine.
        let Ok(glob) = GoGlob::parse(source) else { return found };
        for entry in context.entries.iter().filter(|e| glob.matches(&e.path)) {
            consume(context, &entry.path, &mut found);
        }
    } else {
        consume(context, source, &mut found);
    }
    found
}

/// Adds what copying `path` reads: links on the way, then everything under the target.
fn consume<'a>(context: &'a BuildContext, path: &str, found: &mut Vec<&'a ContextEntry>) {
    let Some(target) = resolve_in_scope(context, path, found) else { return };
    if target.is_empty() {
        found.extend(context.entries.iter());
    } else {
        found.extend(context.entries_under(&target));
    }
}

/// Resolves `path` inside the context, following symlinks (at most 255) and keeping `..`
/// from leaving it, as the engine's scoped path resolution does. Returns the final path
/// (empty for the context root) and records the links it went through.
fn resolve_in_scope<'a>(
    context: &'a BuildContext,
    path: &str,
    links: &mut Vec<&'a ContextEntry>,
) -> Option<String> {
    let mut pending: VecDeque<String> = path.split('/').map(str::to_owned).collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => resolved.push(part),
        }
        let current = resolved.join("/");
        let entry = context.entry(&current)?;
        if entry.kind != EntryKind::Symlink {
            continue;
        }
        hops += 1;
        if hops > 255 {
            return None;
        }
        links.push(entry);
        resolved.pop();
        let target = entry.link_target.as_deref().unwrap_or("");
        if target.starts_with('/') {
            resolved.clear();
        }
        for part in target.split('/').rev() {
            pending.push_front(part.to_owned());
        }
    }
    Some(resolved.join("/"))
}

/// Paths on disk (at most five) that the source would name if nothing were excluded.
fn excluded_on_disk(context: &BuildContext, source: &str) -> Vec<String> {
    let source = trimmed(source);
    let root = &context.context_dir;
    if !has_wildcards(source) {
        let rel = go_clean(&format!("/{source}"));
        let rel = rel.trim_start_matches('/');
        let exists = !rel.is_empty() && root.join(rel).symlink_metadata().is_ok();
        return if exists { vec![rel.to_owned()] } else { Vec::new() };
    }
    let Ok(glob) = GoGlob::parse(source) else { return Vec::new() };
    disk_paths(root).filter(|rel| glob.matches(rel)).take(5).collect()
}

fn disk_paths(root: &Utf8Path) -> impl Iterator<Item = String> + '_ {
    WalkDir::new(root).min_depth(1).sort_by_file_name().into_iter().filter_map(move |entry| {
        let entry = entry.ok()?;
        let rel = entry.path().strip_prefix(root).ok()?;
        rel.to_str().map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcard_detection_respects_escapes() {
        assert!(super::has_wildcards("src/*.py"));
        assert!(super::has_wildcards("a[bc]"));
        assert!(super::has_wildcards("a?"));
        assert!(!super::has_wildcards("a\\*b"));
        assert!(!super::has_wildcards("plain/path.txt"));
    }
}
