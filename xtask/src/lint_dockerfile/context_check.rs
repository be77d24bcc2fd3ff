//! SCY008: every `COPY`/`ADD` source must be in the build context the engine sends.
//!
//! The context is listed by [`crate::build_context`] (Docker's `.dockerignore` rules
//! to the letter) and each source is resolved by its `step_inputs`, so the linter and
//! `docker-build` agree on what a source consumes. Listing reads the file system, so
//! the task builds a [`ContextView`] once per Dockerfile and the rule itself stays pure.

use camino::Utf8Path;

use crate::build_context::{
    list_context, step_inputs, BuildContext, Builder, ContentDigests, ContextSpec, EntryKind,
    SourceStatus,
};
use crate::dockerfile::SourceKind;

use super::rules::Lint;

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

/// Reports the context sources that are missing or excluded.
pub(crate) fn check(lint: &mut Lint<'_>, view: &ContextView) {
    for spec in lint.dockerfile.context_copies() {
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
            lint.report("SCY008", Some(spec.instruction_index), source.position, message);
        }
    }
}
