//! A Dockerfile parser with exact 1-based line and column spans.
//!
//! [`parse`] is pure (`&str` in, [`Dockerfile`] out), never panics and runs in
//! time linear in its input. It follows BuildKit's front end:
//!
//! - parser directives (`# syntax=`, `# escape=`, `# check=`) at the top of the file,
//!   including the backtick escape character;
//! - line continuations, with comment lines and blank lines allowed inside them;
//! - heredocs for `RUN`, `COPY` and `ADD` (several per line, `<<-`, quoted names),
//!   also behind `ONBUILD`;
//! - JSON (exec) and shell forms, instruction flags (`--from=`, `--mount=`...),
//!   lowercase keywords, CRLF line ends and a leading byte-order mark.
//!
//! Problems the engine would reject are returned as [`ParseError`] values next to
//! everything that could still be parsed; nothing here returns `Err` or panics.
//!
//! On top of the instruction list it offers what the build and lint tasks need:
//! stages ([`Stage`]), `FROM` resolution against global `ARG`s and build-arg
//! overrides ([`ResolvedFrom`]), an image reference parser ([`ImageRef`]) and the
//! sources and destination of every `COPY`/`ADD` ([`CopySpec`]).
//!
//! Columns count Unicode scalar values (characters), starting at 1.

mod copy;
mod expand;
mod image_ref;
mod instruction;
mod lines;
mod logical;
mod scope;
mod stages;
mod words;

#[cfg(test)]
mod tests;

pub use copy::{CopySource, CopySpec, SourceKind};
pub use expand::{expand, Expansion};
pub use image_ref::{is_sha256_hex, ImageRef, DEFAULT_REGISTRY};
pub use instruction::{Flag, Heredoc, Instruction, Word};
pub use stages::{ArgUse, Base, ResolvedFrom, Stage};

/// A 1-based line and column (in characters) in the Dockerfile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A problem the engine would reject, found while parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub kind: ErrorKind,
    pub message: String,
}

/// What kind of problem a [`ParseError`] is, for callers that treat some apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Malformed syntax: bad directive, unterminated heredoc, missing arguments...
    Syntax,
    /// A keyword the engine does not know.
    UnknownInstruction,
    /// A flag the instruction does not accept.
    UnknownFlag,
    /// `ONBUILD ONBUILD`, `ONBUILD FROM` or `ONBUILD MAINTAINER`.
    ForbiddenOnbuildTrigger,
    /// Two stages with the same name.
    DuplicateStageName,
    /// An instruction other than `ARG` before the first `FROM`.
    InstructionBeforeFrom,
    /// A `FROM` line that is not `FROM [--platform=...] image [AS name]`, or a bad name.
    InvalidFrom,
}

impl ParseError {
    pub(crate) fn new(position: Position, kind: ErrorKind, message: impl Into<String>) -> Self {
        ParseError { line: position.line, column: position.column, kind, message: message.into() }
    }
}

/// A comment line (`# ...`), outside or inside a line continuation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub line: usize,
    pub column: usize,
    /// The text after `#`, trimmed.
    pub text: String,
}

/// The parser directives found at the top of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` value (the frontend image), if any.
    pub syntax: Option<String>,
    /// The escape character: `\` by default, or `` ` `` from `# escape=`.
    pub escape: char,
    /// `# check=` value (BuildKit's build-check configuration), if any.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives { syntax: None, escape: '\\', check: None }
    }
}

/// A parsed Dockerfile.
#[derive(Clone, Debug, Default)]
pub struct Dockerfile {
    pub directives: Directives,
    /// Every instruction in file order (an `ONBUILD` holds its trigger inside).
    pub instructions: Vec<Instruction>,
    /// Every comment line, directives excluded, in file order.
    pub comments: Vec<Comment>,
    /// What the engine would reject; the rest of the file is still parsed.
    pub errors: Vec<ParseError>,
    /// One entry per `FROM`, in order.
    pub stages: Vec<Stage>,
}

/// Parses a Dockerfile. Never fails: problems are listed in [`Dockerfile::errors`].
pub fn parse(src: &str) -> Dockerfile {
    let mut dockerfile = lines::parse_lines(src);
    dockerfile.stages = stages::collect_stages(&dockerfile.instructions, &mut dockerfile.errors);
    dockerfile
}

impl Dockerfile {
    /// The `ARG` instructions before the first `FROM` (the global scope of `FROM` lines).
    pub fn global_args(&self) -> &[Instruction] {
        let end = self.stages.first().map_or(self.instructions.len(), |s| s.instruction_index);
        &self.instructions[..end]
    }

    /// The last stage: the image `docker build` produces without `--target`.
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stage with this name (case-insensitive) or decimal index, as `--target`
    /// and `COPY --from=` understand it.
    pub fn stage_named(&self, name_or_index: &str) -> Option<&Stage> {
        let wanted = name_or_index.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(wanted.as_str()))
            .or_else(|| wanted.parse::<usize>().ok().and_then(|i| self.stages.get(i)))
    }

    /// The instructions of a stage, its `FROM` included.
    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        let end = stage.end_index.min(self.instructions.len());
        let start = stage.instruction_index.min(end);
        &self.instructions[start..end]
    }

    /// The index in [`Dockerfile::stages`] of the stage holding instruction `index`;
    /// `None` for instructions before the first `FROM`.
    pub fn stage_of(&self, index: usize) -> Option<usize> {
        let after = self.stages.partition_point(|s| s.instruction_index <= index);
        let stage = after.checked_sub(1)?;
        (index < self.stages[stage].end_index).then_some(stage)
    }

    /// The `HEALTHCHECK`s that decide the health probe of stage `stage_index`'s
    /// image, as indices into [`Dockerfile::instructions`], the effective one last
    /// (the earlier ones are overridden): the stage's own or, when it has none, those
    /// of the stage it is built on (`FROM <stage>`), and so on, as the image inherits
    /// them. Empty when no stage of the chain has one (a probe inherited from an
    /// external base image cannot be seen in the Dockerfile).
    pub fn healthchecks_of(&self, stage_index: usize) -> Vec<usize> {
        let froms = self.resolve_froms(&Default::default());
        let mut index = stage_index;
        // Each step goes to an earlier stage, so the chain ends.
        loop {
            let Some(stage) = self.stages.get(index) else { return Vec::new() };
            let end = stage.end_index.min(self.instructions.len());
            let own: Vec<usize> = (stage.instruction_index.min(end)..end)
                .filter(|&i| self.instructions[i].keyword == "HEALTHCHECK")
                .collect();
            if !own.is_empty() {
                return own;
            }
            match froms.get(index).map(|from| &from.base) {
                Some(Base::Stage(base)) if *base < index => index = *base,
                _ => return Vec::new(),
            }
        }
    }

    /// Resolves every `FROM` with the global `ARG`s and these build-arg overrides.
    pub fn resolve_froms(
        &self,
        build_args: &std::collections::BTreeMap<String, String>,
    ) -> Vec<ResolvedFrom> {
        stages::resolve_froms(self, build_args)
    }

    /// Every `COPY` and `ADD` (also behind `ONBUILD`), in file order.
    pub fn copies(&self) -> Vec<CopySpec> {
        copy::collect(self)
    }

    /// The `COPY`/`ADD` instructions that read the build context (no `--from=`).
    pub fn context_copies(&self) -> Vec<CopySpec> {
        self.copies().into_iter().filter(|c| c.from.is_none()).collect()
    }
}
