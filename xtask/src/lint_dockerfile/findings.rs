//! The sink rules report into. It gives each finding its rule's default severity
//! and leaves out rules that are off by default unless the configuration gives
//! them a severity.

use crate::dockerfile::{Dockerfile, Position};

use super::catalog::rule;
use super::facts::{start, Facts};
use super::finding::{Finding, Options, Severity};
use super::shell::Command;

/// The findings of one file, as the rules report them.
pub(crate) struct Findings<'a> {
    dockerfile: &'a Dockerfile,
    options: &'a Options,
    pub items: Vec<Finding>,
}

impl<'a> Findings<'a> {
    pub fn new(dockerfile: &'a Dockerfile, options: &'a Options) -> Findings<'a> {
        Findings { dockerfile, options, items: Vec::new() }
    }

    /// Reports a finding with the rule's default severity. A rule off by default
    /// reports only when an override names it; a code missing from the catalog is
    /// reported as an error (and fails the catalog test), never dropped.
    pub fn report(
        &mut self,
        code: &'static str,
        index: Option<usize>,
        at: Position,
        message: String,
    ) {
        let overridden = self.options.overrides.keys().any(|c| c.eq_ignore_ascii_case(code));
        let severity = match rule(code) {
            Some(rule) => rule.default.or(overridden.then_some(Severity::Info)),
            None => Some(Severity::Error),
        };
        let Some(severity) = severity else { return };
        self.items.push(Finding {
            code: code.to_string(),
            severity,
            line: at.line,
            column: at.column,
            message,
            instruction: index,
            instruction_line: at.line,
        });
    }

    /// Reports at an instruction's keyword.
    pub fn report_at(&mut self, code: &'static str, index: usize, message: String) {
        let at = self.dockerfile.instructions.get(index).map_or_else(Position::default, start);
        self.report(code, Some(index), at, message);
    }

    /// Reports at a command of the script of instruction `index`, when there is one.
    pub fn report_command(
        &mut self,
        facts: &Facts<'_>,
        code: &'static str,
        index: usize,
        command: Option<&Command>,
        message: impl FnOnce() -> String,
    ) {
        if let Some(command) = command {
            let at = facts.command_position(index, command);
            self.report(code, Some(index), at, message());
        }
    }

    /// Reports at byte `offset` of the script of instruction `index`, when given.
    pub fn report_offset(
        &mut self,
        facts: &Facts<'_>,
        code: &'static str,
        index: usize,
        offset: Option<usize>,
        message: impl FnOnce() -> String,
    ) {
        if let Some(offset) = offset {
            let at = facts.offset_position(index, offset);
            self.report(code, Some(index), at, message());
        }
    }
}

/// How many names a message lists before it says how many more there are.
const NAMES_SHOWN: usize = 8;

/// The names a message is about: the first few, and how many there are in all.
#[derive(Default)]
pub(crate) struct Names<'a> {
    shown: Vec<&'a str>,
    count: usize,
}

impl<'a> Names<'a> {
    pub fn push(&mut self, name: &'a str) {
        if self.shown.len() < NAMES_SHOWN {
            self.shown.push(name);
        }
        self.count += 1;
    }
}

/// The names as a message lists them: the first few, then how many more, so that a
/// message stays one line however long the instruction is.
pub(crate) fn listed(names: &Names<'_>) -> String {
    let mut text = names.shown.join(" ");
    if names.count > names.shown.len() {
        text.push_str(&format!(" and {} more", names.count - names.shown.len()));
    }
    text
}
