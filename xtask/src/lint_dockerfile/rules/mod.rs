//! The rules and the engine that runs them over one parsed Dockerfile.
//!
//! Codes `DL3xxx`/`DL4xxx` keep hadolint's numbering and meaning so existing
//! pragmas and configuration keep working (the messages are our own); `DL1000`
//! is a parse error; `SCYxxx` are this project's rules.

mod catalog;
mod commands;
mod languages;
mod packages;
mod project;
mod structure;

use std::collections::BTreeMap;

use crate::dockerfile::{
    self, CopySpec, Dockerfile, ErrorKind, Instruction, Position, ResolvedFrom,
};

use super::shell::{self, Command, Script};

pub use catalog::{rule, Rule, RULES};

/// How serious a finding is, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Style,
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lowercase name used in configuration and output (`warning`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::Style => "style",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `error`, `warning`, `info` or `style` (case-insensitive).
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            "style" => Some(Severity::Style),
            _ => None,
        }
    }
}

/// One problem found in a Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The instruction the finding is about (pragmas apply per instruction).
    pub instruction: Option<usize>,
}

/// What the rules need to know besides the Dockerfile itself.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Registries allowed in `FROM` (`DL3026`); empty means any.
    pub trusted_registries: Vec<String>,
    /// Codes never reported.
    pub ignored: Vec<String>,
    /// Severity changes by code; `None` turns a rule off.
    pub overrides: BTreeMap<String, Option<Severity>>,
    /// Ignore `# hadolint ignore=` pragmas.
    pub disable_pragmas: bool,
    /// The listed build context, for the COPY/ADD source check (`SCY008`).
    pub context: Option<super::context_check::ContextView>,
}

/// Lints one Dockerfile's text: every finding after pragmas, ignores and
/// severity overrides, sorted by position.
pub fn lint(src: &str, options: &Options) -> Vec<Finding> {
    let parsed = dockerfile::parse(src);
    let mut lint = Lint::new(&parsed, options);
    lint.parse_errors();
    structure::check(&mut lint);
    commands::check(&mut lint);
    packages::check(&mut lint);
    project::check(&mut lint);
    let mut findings = lint.findings;
    if !options.disable_pragmas {
        super::pragma::apply(&parsed, &mut findings);
    }
    findings.retain_mut(|f| configure(f, options));
    findings.sort_by(|a, b| (a.line, a.column, a.code).cmp(&(b.line, b.column, b.code)));
    findings.dedup();
    findings
}

fn configure(finding: &mut Finding, options: &Options) -> bool {
    if options.ignored.iter().any(|c| c.eq_ignore_ascii_case(finding.code)) {
        return false;
    }
    match options.overrides.iter().find(|(c, _)| c.eq_ignore_ascii_case(finding.code)) {
        Some((_, Some(severity))) => finding.severity = *severity,
        Some((_, None)) => return false,
        None => {}
    }
    true
}

/// The state rules share: the parsed file, the shell scripts of its `RUN`s, findings.
pub(crate) struct Lint<'a> {
    pub dockerfile: &'a Dockerfile,
    pub options: &'a Options,
    /// The shell script of each `RUN` (also behind `ONBUILD`), by instruction index.
    pub scripts: Vec<Option<Script>>,
    /// Every `COPY`/`ADD`, computed once.
    pub copies: Vec<CopySpec>,
    /// Every `FROM` resolved with the ARG defaults, computed once.
    pub resolved: Vec<ResolvedFrom>,
    findings: Vec<Finding>,
    /// Where each heredoc body starts in its script: (script offset, first line).
    heredoc_starts: Vec<Vec<(usize, usize)>>,
    /// The text each script was read from.
    texts: Vec<String>,
}

impl<'a> Lint<'a> {
    fn new(dockerfile: &'a Dockerfile, options: &'a Options) -> Self {
        let mut lint = Lint {
            dockerfile,
            options,
            scripts: Vec::new(),
            copies: dockerfile.copies(),
            resolved: dockerfile.resolve_froms(&BTreeMap::new()),
            findings: Vec::new(),
            heredoc_starts: Vec::new(),
            texts: Vec::new(),
        };
        for instruction in &dockerfile.instructions {
            let (script, text, starts) = match effective(instruction) {
                run if run.keyword == "RUN" => script_of(run),
                _ => (None, String::new(), Vec::new()),
            };
            lint.scripts.push(script);
            lint.texts.push(text);
            lint.heredoc_starts.push(starts);
        }
        lint
    }

    /// Reports a finding with the rule's default severity (nothing for rules off by default).
    pub fn report(
        &mut self,
        code: &'static str,
        index: Option<usize>,
        at: Position,
        message: String,
    ) {
        let Some(rule) = rule(code) else { return };
        let overridden = self.options.overrides.keys().any(|c| c.eq_ignore_ascii_case(code));
        let Some(severity) = rule.default.or(overridden.then_some(Severity::Info)) else { return };
        let (line, column) = (at.line, at.column);
        self.findings.push(Finding { code, severity, line, column, message, instruction: index });
    }

    /// Reports at an instruction's keyword.
    pub fn report_at(&mut self, code: &'static str, index: usize, message: String) {
        let at = self.dockerfile.instructions.get(index).map_or_else(Position::default, start);
        self.report(code, Some(index), at, message);
    }

    /// The position of a command of the script of instruction `index`.
    pub fn command_position(&self, index: usize, command: &Command) -> Position {
        let Some(instruction) = self.dockerfile.instructions.get(index) else {
            return Position::default();
        };
        let run = effective(instruction);
        if run.is_json() {
            return run.args_position;
        }
        let starts = self.heredoc_starts.get(index).map_or(&[][..], Vec::as_slice);
        match starts.iter().rev().find(|(offset, _)| *offset <= command.offset) {
            Some(&(body_start, line)) => {
                let text = self.texts.get(index).map_or("", String::as_str);
                let before = text.get(body_start..command.offset).unwrap_or("");
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before[line_start..].chars().count() + 1;
                Position { line: line + before.matches('\n').count(), column }
            }
            None => run.position_at(command.offset),
        }
    }

    /// The `COPY`/`ADD` spec of instruction `index` (specs are in instruction order).
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

    fn parse_errors(&mut self) {
        for error in &self.dockerfile.errors {
            let code = match error.kind {
                ErrorKind::DuplicateStageName => "DL3024",
                ErrorKind::ForbiddenOnbuildTrigger => "DL3043",
                ErrorKind::InstructionBeforeFrom => "DL3061",
                _ => "DL1000",
            };
            let index = self.instruction_on(error.line);
            let at = Position { line: error.line, column: error.column };
            self.report(code, index, at, error.message.clone());
        }
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

const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "/bin/sh", "/bin/bash"];

/// The script a `RUN` executes, its text, and where its heredoc bodies start.
fn script_of(run: &Instruction) -> (Option<Script>, String, Vec<(usize, usize)>) {
    if let Some(items) = &run.json {
        let shell_c = items.len() >= 3 && SHELLS.contains(&items[0].as_str()) && items[1] == "-c";
        if shell_c {
            return (Some(shell::parse(&items[2])), String::new(), Vec::new());
        }
        let offsets = vec![0; items.len()];
        let command = Command { words: items.clone(), offset: 0, offsets, pipes_into_next: false };
        return (Some(Script { commands: vec![command], chained: 0 }), String::new(), Vec::new());
    }
    let mut text = run.args.clone();
    let mut starts = Vec::new();
    let first = shell::parse(&run.args).commands.first().map(|c| c.program().to_string());
    let feeds_shell = first.as_deref().map_or(true, |p| SHELLS.contains(&p));
    if feeds_shell {
        for heredoc in &run.heredocs {
            text.push('\n');
            starts.push((text.len(), heredoc.start_line));
            text.push_str(&heredoc.content);
        }
    }
    (Some(shell::parse(&text)), text, starts)
}
