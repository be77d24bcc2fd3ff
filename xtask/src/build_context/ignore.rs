//! `.dockerignore` files: which one applies, how its lines become patterns, and how a list of
//! patterns decides that a path is excluded (the last matching pattern wins, `!` re-includes).

use anyhow::{bail, Context as _};
use camino::{Utf8Path, Utf8PathBuf};

use super::glob::go_clean;
use super::pattern::Pattern;

/// Which builder reads the context; they pick the ignore file differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builder {
    /// The classic builder (`docker build` without BuildKit, Docker 20.10 here): the client
    /// reads only `<context>/.dockerignore`, always sends the Dockerfile and the ignore file,
    /// and the daemon then deletes them from the context if the patterns exclude them.
    Classic,
    /// BuildKit: `<Dockerfile>.dockerignore` next to the Dockerfile wins over
    /// `<context>/.dockerignore`; the Dockerfile travels separately.
    BuildKit,
}

/// The ignore file that applies to a build, if any.
///
/// ```no_run
/// # use camino::Utf8Path;
/// # use xtask::build_context::{select_ignore_file, Builder};
/// let file = select_ignore_file(
///     Utf8Path::new("."),
///     Utf8Path::new("docker/Dockerfile"),
///     Builder::BuildKit,
/// );
/// // Some("docker/Dockerfile.dockerignore") if that file exists,
/// // else Some("./.dockerignore") or None.
/// ```
pub fn select_ignore_file(
    context_dir: &Utf8Path,
    dockerfile: &Utf8Path,
    builder: Builder,
) -> Option<Utf8PathBuf> {
    if builder == Builder::BuildKit {
        if let Some(name) = dockerfile.file_name() {
            let specific = dockerfile.with_file_name(format!("{name}.dockerignore"));
            if specific.exists() {
                return Some(specific);
            }
        }
    }
    let shared = context_dir.join(".dockerignore");
    shared.exists().then_some(shared)
}

/// Parsed patterns, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

/// Which patterns matched a directory; handed down to its children during a walk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParentMatches(Vec<bool>);

impl IgnoreRules {
    /// Reads an ignore file from disk.
    pub fn read(path: &Utf8Path) -> anyhow::Result<IgnoreRules> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("cannot read {path}: it is not UTF-8"))?;
        IgnoreRules::parse(&text).with_context(|| format!("invalid ignore file {path}"))
    }

    /// Parses ignore-file text: a UTF-8 BOM is dropped, lines that start with `#` (before
    /// any trimming) are comments, the rest are trimmed, blank ones skipped, cleaned like
    /// paths (`/a`, `./a` and `a/` all mean `a`), and compiled.
    pub fn parse(text: &str) -> anyhow::Result<IgnoreRules> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let Some(normalized) = normalize_line(line) else { continue };
            match Pattern::parse(&normalized) {
                Ok(Some(pattern)) => patterns.push(pattern),
                Ok(None) => {}
                Err(reason) => bail!("line {}: {reason}", index + 1),
            }
        }
        Ok(IgnoreRules { patterns })
    }

    /// The patterns, in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any pattern is a `!` exception.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(Pattern::is_exclusion)
    }

    /// These rules plus a final `!path` exception (what the classic client appends so that
    /// the Dockerfile and the ignore file always reach the daemon).
    pub fn with_exception(&self, path: &str) -> anyhow::Result<IgnoreRules> {
        let mut patterns = self.patterns.clone();
        if let Some(pattern) = Pattern::parse(&format!("!{path}")).map_err(anyhow::Error::msg)? {
            patterns.push(pattern);
        }
        Ok(IgnoreRules { patterns })
    }

    /// Whether `path` is excluded, checking the path and each of its parent directories
    /// against every pattern (the engine's reference semantics).
    pub fn is_excluded(&self, path: &str) -> bool {
        self.decide(|pattern| {
            pattern.matches(path) || parents(path).any(|parent| pattern.matches(parent))
        })
    }

    /// Whether `path` is excluded, given what matched its parent directory during a walk
    /// (`None` for a top-level path). This is the form the engine's context walk uses; it can
    /// differ from [`Self::is_excluded`] when an exception was skipped at the parent level.
    pub fn is_excluded_below(
        &self,
        path: &str,
        parent: Option<&ParentMatches>,
    ) -> (bool, ParentMatches) {
        let mut excluded = false;
        let mut matched_here = vec![false; self.patterns.len()];
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut hit = parent.is_some_and(|p| p.0.get(index) == Some(&true));
            if !hit {
                if pattern.is_exclusion() != excluded {
                    continue;
                }
                hit = pattern.matches(path)
                    || (parent.is_none() && parents(path).any(|dir| pattern.matches(dir)));
            }
            matched_here[index] = hit;
            if hit {
                excluded = !pattern.is_exclusion();
            }
        }
        (excluded, ParentMatches(matched_here))
    }

    /// The engine's older single-level check, still used to decide whether the Dockerfile and
    /// `.dockerignore` are excluded: a pattern of N elements is tried on the path and on the
    /// first N elements of its parent directory only.
    pub fn is_excluded_shallow(&self, path: &str) -> bool {
        let path = go_clean(path);
        if path == "." {
            return false;
        }
        let parent: Vec<&str> = match path.rsplit_once('/') {
            Some((dir, _)) => dir.split('/').collect(),
            None => Vec::new(),
        };
        self.decide(|pattern| {
            pattern.matches(&path)
                || (!parent.is_empty()
                    && pattern.depth() <= parent.len()
                    && pattern.matches(&parent[..pattern.depth()].join("/")))
        })
    }

    /// Whether some exception's text starts with `dir/`, which makes the engine walk into an
    /// excluded directory instead of skipping it (a plain text test: `!a/*/f` does not
    /// reopen `a/b` because `a/*/f/` does not start with `a/b/`).
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.is_exclusion())
            .any(|p| format!("{}/", p.text()).starts_with(&dir_slash))
    }

    /// Last-match-wins over the patterns; a pattern is only tried when it could flip the
    /// current answer (an exclusion pattern while excluded, an exception while included).
    fn decide(&self, mut hit: impl FnMut(&Pattern) -> bool) -> bool {
        let mut excluded = false;
        for pattern in &self.patterns {
            if pattern.is_exclusion() != excluded {
                continue;
            }
            if hit(pattern) {
                excluded = !pattern.is_exclusion();
            }
        }
        excluded
    }
}

/// One line as the engine's ignore-file reader turns it into a pattern string.
fn normalize_line(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let mut pattern = line.trim();
    if pattern.is_empty() {
        return None;
    }
    let invert = pattern.starts_with('!');
    if invert {
        pattern = pattern[1..].trim();
    }
    let mut cleaned = String::new();
    if !pattern.is_empty() {
        cleaned = go_clean(pattern);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
    }
    Some(if invert { format!("!{cleaned}") } else { cleaned })
}

/// `a/b/c` → `a`, `a/b`.
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(index, _)| &path[..index])
}
