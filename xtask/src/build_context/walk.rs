//! The context lister: which entries land in the image for `COPY . /x`.
//!
//! The walk reproduces the engine's context walk: a path is tested with the parent's match
//! results; an excluded file is dropped; an excluded directory is skipped whole unless an
//! exception's text starts with `dir/`, in which case the walk descends without adding the
//! directory itself (it only appears if something inside it is added, or empty when nothing
//! is). Symlinks are kept, not followed; sockets are dropped.
//!
//! The classic builder then adds two steps: the client re-includes the Dockerfile and
//! `.dockerignore` with appended `!` exceptions so that the daemon receives them, and the
//! daemon deletes each of the two again if the original patterns exclude it (using the
//! engine's older single-parent test). A directory that only held a deleted Dockerfile stays
//! behind, empty. A Dockerfile outside the context is sent under a random name and deleted:
//! the client appends that name to the context's `.dockerignore`, which then stays (with
//! content that differs on every build: [`EntryKind::Generated`]) unless its own patterns
//! exclude it; without a `.dockerignore` the client writes one that excludes itself.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use anyhow::{bail, Context as _};
use camino::{Utf8Path, Utf8PathBuf};
use walkdir::WalkDir;

use super::ignore::{select_ignore_file, Builder, IgnoreRules, ParentMatches};

/// What a context entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    /// A symbolic link, stored as a link (its target text is in `link_target`).
    Symlink,
    Dir,
    /// A FIFO or device node: sent as a header without content.
    Special,
    /// A file the client writes into the context itself (see the module docs); its content
    /// changes on every build.
    Generated,
}

/// The metadata the content-hash cache is keyed by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
}

/// One entry of the build context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextEntry {
    /// Relative to the context directory, `/`-separated, no leading `./`.
    pub path: String,
    pub kind: EntryKind,
    /// Owner execute bit (files only).
    pub executable: bool,
    /// The link text of a symlink.
    pub link_target: Option<String>,
    /// Zero for directories the walk did not visit itself.
    pub stamp: FileStamp,
}

/// What to list: the context directory, the Dockerfile as given to the engine (relative to
/// the current directory or absolute), and the builder that reads them.
#[derive(Clone, Copy, Debug)]
pub struct ContextSpec<'a> {
    pub context_dir: &'a Utf8Path,
    pub dockerfile: &'a Utf8Path,
    pub builder: Builder,
}

/// The listed build context.
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// The context directory, canonical.
    pub context_dir: Utf8PathBuf,
    /// The ignore file that applied, if any.
    pub ignore_file: Option<Utf8PathBuf>,
    /// Its patterns (empty without a file).
    pub rules: IgnoreRules,
    /// The Dockerfile's path inside the context, if it lies inside.
    pub dockerfile_in_context: Option<String>,
    /// Every entry, sorted by path (byte order).
    pub entries: Vec<ContextEntry>,
}

impl BuildContext {
    /// One line per entry for `--list-context`: files, symlinks and special files by path,
    /// directories only when empty, with a trailing `/`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for entry in &self.entries {
            if entry.kind != EntryKind::Dir {
                lines.push(entry.path.clone());
            } else if self.entries_under(&entry.path).nth(1).is_none() {
                lines.push(format!("{}/", entry.path));
            }
        }
        lines
    }

    /// The entry at `path`, if the context holds it.
    pub fn entry(&self, path: &str) -> Option<&ContextEntry> {
        self.entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|index| &self.entries[index])
    }

    /// The entries at or under `path` (a file, or a directory and all it holds).
    pub fn entries_under<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a ContextEntry> + 'a {
        // Byte order keeps `path/...` contiguous, right after `path` itself.
        let prefix = format!("{path}/");
        let own = self.entry(path).into_iter();
        let start = self.entries.partition_point(|e| e.path.as_str() < prefix.as_str());
        let children =
            self.entries[start..].iter().take_while(move |e| e.path.starts_with(&prefix));
        own.chain(children)
    }
}

/// Lists the build context the engine would send for `spec`.
///
/// ```no_run
/// # use camino::Utf8Path;
/// # use xtask::build_context::{list_context, Builder, ContextSpec};
/// let spec = ContextSpec {
///     context_dir: Utf8Path::new("."),
///     dockerfile: Utf8Path::new("docker/Dockerfile"),
///     builder: Builder::Classic,
/// };
/// for line in list_context(&spec)?.lines() {
///     println!("{line}");
/// }
/// # anyhow::Ok(())
/// ```
pub fn list_context(spec: &ContextSpec<'_>) -> anyhow::Result<BuildContext> {
    let context_dir = canonical(spec.context_dir, "context directory")?;
    if !context_dir.is_dir() {
        bail!("the context {} is not a directory", spec.context_dir);
    }
    let dockerfile = canonical(spec.dockerfile, "Dockerfile")?;
    let dockerfile_in_context = dockerfile
        .strip_prefix(&context_dir)
        .ok()
        .map(|rel| rel.as_str().to_owned())
        .filter(|rel| !rel.is_empty());
    let ignore_file = select_ignore_file(spec.context_dir, spec.dockerfile, spec.builder);
    let rules = match &ignore_file {
        Some(path) => IgnoreRules::read(path)?,
        None => IgnoreRules::default(),
    };
    let mut context = BuildContext {
        context_dir,
        ignore_file,
        rules,
        dockerfile_in_context,
        entries: Vec::new(),
    };
    match spec.builder {
        Builder::Classic => list_classic(&mut context)?,
        Builder::BuildKit => {
            let entries = walk(&context.context_dir, &context.rules)?;
            context.entries = with_implied_dirs(entries);
        }
    }
    Ok(context)
}

fn canonical(path: &Utf8Path, what: &str) -> anyhow::Result<Utf8PathBuf> {
    let real =
        path.canonicalize_utf8().with_context(|| format!("cannot find the {what} {path}"))?;
    Ok(real)
}

/// The classic builder: force-send the Dockerfile and `.dockerignore`, then let the daemon
/// delete whichever of them the original patterns exclude.
fn list_classic(context: &mut BuildContext) -> anyhow::Result<()> {
    let rules = &context.rules;
    let mut walk_rules = rules.clone();
    if rules.is_excluded_shallow(".dockerignore") {
        walk_rules = walk_rules.with_exception(".dockerignore")?;
    }
    if let Some(rel) = &context.dockerfile_in_context {
        if rules.is_excluded_shallow(rel) {
            walk_rules = walk_rules.with_exception(rel)?;
        }
    }
    let mut entries = with_implied_dirs(walk(&context.context_dir, &walk_rules)?);
    let outside = context.dockerfile_in_context.is_none();
    if outside {
        // The client appends the random Dockerfile name to `.dockerignore`; without one it
        // writes a fresh file that lists itself, which the daemon then deletes.
        entries.retain(|e| e.path != ".dockerignore");
        if context.ignore_file.is_some() {
            entries.push(ContextEntry {
                path: ".dockerignore".to_owned(),
                kind: EntryKind::Generated,
                executable: false,
                link_target: None,
                stamp: FileStamp::default(),
            });
            entries.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
    let ignore_file_sent = entries.iter().any(|e| e.path == ".dockerignore");
    // The daemon only deletes anything when it finds a .dockerignore in the context.
    if ignore_file_sent {
        let mut doomed = vec![".dockerignore".to_owned()];
        doomed.extend(context.dockerfile_in_context.clone());
        doomed.retain(|path| rules.is_excluded_shallow(path));
        entries.retain(|e| !doomed.contains(&e.path));
    }
    context.entries = entries;
    Ok(())
}

/// Walks `root` applying `rules` exactly as the engine's context walk does.
fn walk(root: &Utf8Path, rules: &IgnoreRules) -> anyhow::Result<Vec<ContextEntry>> {
    let has_exclusions = rules.has_exclusions();
    let mut parents: Vec<(String, ParentMatches)> = Vec::new();
    let mut entries = Vec::new();
    let mut iter = WalkDir::new(root).min_depth(1).sort_by_file_name().into_iter();
    while let Some(next) = iter.next() {
        let dir_entry = next.with_context(|| format!("cannot list the context {root}"))?;
        let rel = relative_path(root, dir_entry.path())?;
        while parents.last().is_some_and(|(dir, _)| !is_below(&rel, dir)) {
            parents.pop();
        }
        let (excluded, matches) = rules.is_excluded_below(&rel, parents.last().map(|(_, m)| m));
        let is_dir = dir_entry.file_type().is_dir();
        if is_dir {
            parents.push((rel.clone(), matches));
        }
        if excluded {
            if is_dir && !(has_exclusions && rules.may_reinclude_under(&rel)) {
                iter.skip_current_dir();
            }
            continue;
        }
        if let Some(entry) = make_entry(dir_entry.path(), rel)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn is_below(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

fn relative_path(root: &Utf8Path, path: &std::path::Path) -> anyhow::Result<String> {
    let rel = path.strip_prefix(root).with_context(|| format!("cannot list the context {root}"))?;
    let rel = rel.to_str().with_context(|| {
        format!("cannot list the context {root}: {} is not a UTF-8 name", rel.display())
    })?;
    Ok(rel.to_owned())
}

fn make_entry(path: &std::path::Path, rel: String) -> anyhow::Result<Option<ContextEntry>> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot stat {}", path.display()))?;
    let file_type = meta.file_type();
    let kind = if file_type.is_file() {
        EntryKind::File
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_socket() {
        return Ok(None);
    } else {
        EntryKind::Special
    };
    let link_target = if kind == EntryKind::Symlink {
        let target = std::fs::read_link(path)
            .with_context(|| format!("cannot read link {}", path.display()))?;
        let text = target.into_os_string().into_string().map_err(|_| {
            anyhow::anyhow!("cannot read link {}: target is not UTF-8", path.display())
        })?;
        Some(text)
    } else {
        None
    };
    Ok(Some(ContextEntry {
        path: rel,
        kind,
        executable: kind == EntryKind::File && meta.mode() & 0o100 != 0,
        link_target,
        stamp: stamp(&meta),
    }))
}

/// The cache key fields of a file's metadata.
pub(crate) fn stamp(meta: &std::fs::Metadata) -> FileStamp {
    let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    FileStamp {
        size: meta.size(),
        mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
        ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        inode: meta.ino(),
    }
}

/// Adds every missing ancestor directory (the archive creates them when unpacking) and
/// sorts by path.
fn with_implied_dirs(entries: Vec<ContextEntry>) -> Vec<ContextEntry> {
    let mut by_path: BTreeMap<String, ContextEntry> =
        entries.into_iter().map(|e| (e.path.clone(), e)).collect();
    let paths: Vec<String> = by_path.keys().cloned().collect();
    for path in paths {
        for (index, _) in path.match_indices('/') {
            let dir = &path[..index];
            by_path.entry(dir.to_owned()).or_insert_with(|| ContextEntry {
                path: dir.to_owned(),
                kind: EntryKind::Dir,
                executable: false,
                link_target: None,
                stamp: FileStamp::default(),
            });
        }
    }
    by_path.into_values().collect()
}
