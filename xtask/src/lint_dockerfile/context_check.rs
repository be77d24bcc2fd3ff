//! SCY008: every `COPY`/`ADD` source must be in the build context the engine sends.
//!
//! The context is listed by [`crate::build_context`] (Docker's `.dockerignore` rules
//! to the letter) and each source is resolved by its `step_inputs`, so the linter and
//! `docker-build` agree on what a source consumes. Listing reads the file system, so
//! the task builds a [`ContextView`] once per context and Dockerfile name, and the
//! rule itself stays pure.

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};

use crate::build_context::{
    list_context, select_ignore_file, step_inputs, BuildContext, Builder, ContentDigests,
    ContextSpec, EntryKind, IgnoreRules, SourceStatus,
};
use crate::dockerfile::SourceKind;

use super::facts::Facts;
use super::findings::Findings;

/// A listed build context, ready for source lookups.
#[derive(Clone, Debug)]
pub struct ContextView {
    context: BuildContext,
    /// A placeholder digest per regular file: `step_inputs` also hashes what a step
    /// consumes, which the lint does not need, so no file is read.
    placeholders: ContentDigests,
}

impl ContextView {
    /// Lists the context `context_dir` as `builder` would send it for `dockerfile`.
    pub fn list(
        context_dir: &Utf8Path,
        dockerfile: &Utf8Path,
        builder: Builder,
    ) -> anyhow::Result<ContextView> {
        let context = list_context(&ContextSpec { context_dir, dockerfile, builder })?;
        let mut placeholders = ContentDigests::default();
        for entry in context.entries.iter().filter(|e| e.kind == EntryKind::File) {
            placeholders.by_path.insert(entry.path.clone(), [0; 32]);
        }
        Ok(ContextView { context, placeholders })
    }

    fn ignore_file(&self) -> String {
        let file = self.context.ignore_file.as_ref();
        let shown = file.map(|f| f.strip_prefix(&self.context.context_dir).unwrap_or(f));
        shown.map_or_else(|| ".dockerignore".to_string(), |f| f.to_string())
    }
}

/// What makes two listings of a context the same: the directory, the builder, the
/// ignore file that applies and, for the classic builder (which force-sends the
/// Dockerfile), whether the Dockerfile lies inside and which one when the ignore
/// file excludes it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListingKey {
    context_dir: Utf8PathBuf,
    builder: Builder,
    ignore_file: Option<Utf8PathBuf>,
    inside: bool,
    excluded_dockerfile: Option<String>,
}

/// The contexts listed so far in one invocation: each is listed once, however
/// many Dockerfiles share it.
#[derive(Default)]
pub struct ContextCache {
    views: Vec<(ListingKey, Arc<ContextView>)>,
}

impl ContextCache {
    /// The listing of `context_dir` for `dockerfile`, made at most once per key.
    pub fn view(
        &mut self,
        context_dir: &Utf8Path,
        dockerfile: &Utf8Path,
        builder: Builder,
    ) -> anyhow::Result<Arc<ContextView>> {
        let key = listing_key(context_dir, dockerfile, builder)?;
        if let Some((_, view)) = self.views.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(view));
        }
        let view = Arc::new(ContextView::list(context_dir, dockerfile, builder)?);
        self.views.push((key, Arc::clone(&view)));
        Ok(view)
    }

    /// How many listings were made.
    pub fn listings(&self) -> usize {
        self.views.len()
    }
}

fn listing_key(
    context_dir: &Utf8Path,
    dockerfile: &Utf8Path,
    builder: Builder,
) -> anyhow::Result<ListingKey> {
    let canonical =
        |p: &Utf8Path| p.canonicalize_utf8().map_err(|e| anyhow::anyhow!("cannot find {p}: {e}"));
    let dir = canonical(context_dir)?;
    let ignore_file = select_ignore_file(context_dir, dockerfile, builder);
    let mut key = ListingKey {
        context_dir: dir,
        builder,
        ignore_file,
        inside: false,
        excluded_dockerfile: None,
    };
    if builder == Builder::Classic {
        let file = canonical(dockerfile)?;
        let relative = file.strip_prefix(&key.context_dir).ok().map(|r| r.as_str().to_owned());
        key.inside = relative.as_deref().is_some_and(|r| !r.is_empty());
        if let (Some(relative), Some(ignore)) = (relative, &key.ignore_file) {
            if IgnoreRules::read(ignore)?.is_excluded_shallow(&relative) {
                key.excluded_dockerfile = Some(relative);
            }
        }
    }
    Ok(key)
}

/// Reports the context sources that are missing or excluded.
pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>, view: &ContextView) {
    for spec in facts.copies.iter().filter(|c| c.from.is_none()) {
        if spec.onbuild {
            continue;
        }
        for source in spec.sources.iter().filter(|s| s.kind == SourceKind::Path) {
            if source.text.contains('$') {
                continue;
            }
            let Ok(inputs) = step_inputs(&view.context, &view.placeholders, &[&source.text]) else {
                continue;
            };
            let message = match inputs.sources.first().map(|r| &r.status) {
                Some(SourceStatus::Missing) => {
                    format!("{} {} is not in the build context", spec.keyword, source.text)
                }
                Some(SourceStatus::Excluded { on_disk }) => format!(
                    "{} {} is excluded from the build context by {} ({} matching path{} on disk)",
                    spec.keyword,
                    source.text,
                    view.ignore_file(),
                    on_disk.len(),
                    if on_disk.len() == 1 { "" } else { "s" }
                ),
                _ => continue,
            };
            out.report("SCY008", Some(spec.instruction_index), source.position, message);
        }
    }
}
