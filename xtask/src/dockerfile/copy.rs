//! The sources and destination of `COPY` and `ADD`.

use super::instruction::Instruction;
use super::{Dockerfile, Flag, Position};

/// Where a `COPY`/`ADD` source comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A path (or pattern) in the build context, or in the `--from` stage or image.
    Path,
    /// An `http(s)://` URL or a git remote (`ADD` only).
    Url,
    /// A heredoc written inline (`COPY <<EOF /dest`).
    Heredoc,
}

/// One source of a `COPY`/`ADD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySource {
    /// The source with quotes removed (variables not expanded); for a heredoc, its name.
    pub text: String,
    pub kind: SourceKind,
    pub position: Position,
}

/// A `COPY` or `ADD` instruction, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySpec {
    /// `COPY` or `ADD`.
    pub keyword: String,
    pub line: usize,
    pub end_line: usize,
    /// Index in [`Dockerfile::instructions`] (of the `ONBUILD` for a trigger).
    pub instruction_index: usize,
    /// The stage it belongs to (`None` only for a malformed file).
    pub stage_index: Option<usize>,
    /// Whether it is an `ONBUILD` trigger (it runs in a later build, not this one).
    pub onbuild: bool,
    pub flags: Vec<Flag>,
    /// The `--from=` value: a stage name or index, or an image.
    pub from: Option<String>,
    pub sources: Vec<CopySource>,
    /// The destination with quotes removed (variables not expanded).
    pub destination: String,
}

pub(crate) fn collect(dockerfile: &Dockerfile) -> Vec<CopySpec> {
    let mut specs = Vec::new();
    for (index, instruction) in dockerfile.instructions.iter().enumerate() {
        let (target, onbuild) = match instruction.onbuild.as_deref() {
            Some(inner) => (inner, true),
            None => (instruction, false),
        };
        if matches!(target.keyword.as_str(), "COPY" | "ADD") {
            if let Some(mut spec) = spec_of(target, index) {
                spec.stage_index = dockerfile.stage_of(index);
                spec.onbuild = onbuild;
                specs.push(spec);
            }
        }
    }
    specs
}

fn spec_of(instruction: &Instruction, index: usize) -> Option<CopySpec> {
    let mut items: Vec<(String, String, Position)> = match &instruction.json {
        Some(items) => {
            items.iter().map(|v| (v.clone(), v.clone(), instruction.args_position)).collect()
        }
        None => instruction
            .words()
            .iter()
            .map(|w| (w.value.clone(), w.raw.clone(), w.position))
            .collect(),
    };
    if items.len() < 2 {
        return None;
    }
    let (destination, _, _) = items.pop()?;
    let is_add = instruction.keyword == "ADD";
    let sources = items
        .into_iter()
        .map(|(value, raw, position)| {
            let heredoc = instruction.json.is_none()
                && instruction
                    .heredocs
                    .iter()
                    .any(|h| super::words::heredoc_marker(&raw).is_some_and(|m| m.name == h.name));
            match heredoc.then(|| super::words::heredoc_marker(&raw)).flatten() {
                Some(marker) => {
                    CopySource { text: marker.name, kind: SourceKind::Heredoc, position }
                }
                None => {
                    let kind = if is_add && is_remote(&value) {
                        SourceKind::Url
                    } else {
                        SourceKind::Path
                    };
                    CopySource { text: value, kind, position }
                }
            }
        })
        .collect();
    Some(CopySpec {
        keyword: instruction.keyword.clone(),
        line: instruction.line,
        end_line: instruction.end_line,
        instruction_index: index,
        stage_index: None,
        onbuild: false,
        flags: instruction.flags.clone(),
        from: instruction.flag("from").and_then(|f| f.value.clone()),
        sources,
        destination,
    })
}

/// URLs and git remotes, as `ADD` recognises them.
pub(crate) fn is_remote(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["http://", "https://", "git://", "git@", "ssh://"].iter().any(|p| lower.starts_with(p))
}
