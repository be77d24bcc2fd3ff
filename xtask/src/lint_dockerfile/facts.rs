//! What the rules read: one parsed Dockerfile and everything derived from it once
//! (the shell script of each `RUN`, every `COPY`/`ADD`, every resolved `FROM`).
//!
//! [`Facts`] is read-only; rules write into [`super::findings::Findings`], so a rule
//! can walk the scripts while it reports without copying them.

use std::collections::BTreeMap;

use crate::dockerfile::{CopySpec, Dockerfile, Instruction, Position, ResolvedFrom};

use super::finding::Options;
use super::shell::{self, Command, Script};

/// The parsed file and what every rule needs from it, computed once.
pub(crate) struct Facts<'a> {
    pub dockerfile: &'a Dockerfile,
    pub options: &'a Options,
    /// The shell script of each `RUN` (also behind `ONBUILD`), by instruction index.
    pub scripts: Vec<Option<Script>>,
    /// Every `COPY`/`ADD`, in instruction order.
    pub copies: Vec<CopySpec>,
    /// Every `FROM` resolved with the ARG defaults.
    pub resolved: Vec<ResolvedFrom>,
    /// The text each script was read from, and where its heredoc bodies start in
    /// it: (script offset, first line).
    sources: Vec<ScriptSource>,
}

/// The text a `RUN` script was read from.
#[derive(Default)]
pub(crate) struct ScriptSource {
    /// The script's text: the shell-form arguments, then any heredoc bodies fed to
    /// a shell; empty for the exec form.
    pub text: String,
    pub heredoc_starts: Vec<(usize, usize)>,
}

impl<'a> Facts<'a> {
    pub fn new(dockerfile: &'a Dockerfile, options: &'a Options) -> Facts<'a> {
        let mut scripts = Vec::with_capacity(dockerfile.instructions.len());
        let mut sources = Vec::with_capacity(dockerfile.instructions.len());
        for instruction in &dockerfile.instructions {
            let (script, source) = match effective(instruction) {
                run if run.keyword == "RUN" => script_of(run),
                _ => (None, ScriptSource::default()),
            };
            scripts.push(script);
            sources.push(source);
        }
        Facts {
            dockerfile,
            options,
            scripts,
            copies: dockerfile.copies(),
            resolved: dockerfile.resolve_froms(&BTreeMap::new()),
            sources,
        }
    }

    /// The position of a command of the script of instruction `index`.
    pub fn command_position(&self, index: usize, command: &Command) -> Position {
        self.offset_position(index, command.offset)
    }

    /// The position of byte `offset` of the script of instruction `index`.
    pub fn offset_position(&self, index: usize, offset: usize) -> Position {
        let Some(instruction) = self.dockerfile.instructions.get(index) else {
            return Position::default();
        };
        let run = effective(instruction);
        if run.is_json() {
            return run.args_position;
        }
        let source = self.sources.get(index);
        let starts = source.map_or(&[][..], |s| s.heredoc_starts.as_slice());
        match starts.iter().rev().find(|(start, _)| *start <= offset) {
            Some(&(body_start, line)) => {
                let text = source.map_or("", |s| s.text.as_str());
                let before = text.get(body_start..offset).unwrap_or("");
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before[line_start..].chars().count() + 1;
                Position { line: line + before.matches('\n').count(), column }
            }
            None => run.position_at(offset),
        }
    }

    /// The `COPY`/`ADD` spec of instruction `index`.
    pub fn copy_at(&self, index: usize) -> Option<&CopySpec> {
        let at = self.copies.binary_search_by_key(&index, |c| c.instruction_index).ok()?;
        self.copies.get(at)
    }

    /// The instruction starting on `line` (instructions are in line order).
    pub fn instruction_on(&self, line: usize) -> Option<usize> {
        let instructions = &self.dockerfile.instructions;
        let at = instructions.partition_point(|i| i.line < line);
        instructions.get(at).filter(|i| i.line == line).map(|_| at)
    }

    /// A state carried through each stage in file order and reset at every `FROM`:
    /// the state before each instruction, computed in one pass.
    pub fn per_stage_state<T: Clone>(
        &self,
        initial: T,
        step: impl Fn(&mut T, usize, &Instruction),
    ) -> Vec<T> {
        let mut state = initial.clone();
        let mut before = Vec::with_capacity(self.dockerfile.instructions.len());
        for (index, instruction) in self.dockerfile.instructions.iter().enumerate() {
            if instruction.keyword == "FROM" {
                state = initial.clone();
            }
            before.push(state.clone());
            step(&mut state, index, instruction);
        }
        before
    }

    /// The RUN scripts with their instruction index.
    pub fn runs(&self) -> impl Iterator<Item = (usize, &Script)> + '_ {
        self.scripts.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// For each instruction, whether an ENV or ARG earlier in its stage sets `name`
    /// to a non-empty value.
    pub fn env_set_in_stage(&self, name: &str) -> Vec<bool> {
        self.per_stage_state(false, |set, _, instruction| {
            if matches!(instruction.keyword.as_str(), "ENV" | "ARG") {
                let sets = instruction
                    .key_values()
                    .iter()
                    .any(|(k, v, _)| k == name && v.as_deref().is_some_and(|v| !v.is_empty()));
                *set |= sets;
            }
        })
    }
}

/// The keyword's position.
pub(crate) fn start(instruction: &Instruction) -> Position {
    Position { line: instruction.line, column: instruction.column }
}

/// The instruction itself, or the trigger of an `ONBUILD`.
pub(crate) fn effective(instruction: &Instruction) -> &Instruction {
    instruction.onbuild.as_deref().unwrap_or(instruction)
}

pub(crate) const SHELLS: &[&str] =
    &["sh", "bash", "ash", "dash", "zsh", "ksh", "/bin/sh", "/bin/bash"];

fn is_shell_c(items: &[String]) -> bool {
    items.len() >= 3 && SHELLS.contains(&items[0].as_str()) && items[1] == "-c"
}

/// The script a `RUN` executes, and the text it was read from.
fn script_of(run: &Instruction) -> (Option<Script>, ScriptSource) {
    if let Some(items) = &run.json {
        if is_shell_c(items) {
            return (Some(shell::parse(&items[2])), ScriptSource::default());
        }
        let offsets = vec![0; items.len()];
        let command = Command { words: items.clone(), offset: 0, offsets, pipes_into_next: false };
        let script = Script { commands: vec![command], chained: 0 };
        return (Some(script), ScriptSource::default());
    }
    let script = shell::parse(&run.args);
    let first = script.commands.first().map(Command::program);
    let feeds_shell = first.map_or(true, |p| SHELLS.contains(&p));
    if !feeds_shell || run.heredocs.is_empty() {
        let source = ScriptSource { text: run.args.clone(), heredoc_starts: Vec::new() };
        return (Some(script), source);
    }
    let mut text = run.args.clone();
    let mut heredoc_starts = Vec::new();
    for heredoc in &run.heredocs {
        text.push('\n');
        heredoc_starts.push((text.len(), heredoc.start_line));
        text.push_str(&heredoc.content);
    }
    (Some(shell::parse(&text)), ScriptSource { text, heredoc_starts })
}
