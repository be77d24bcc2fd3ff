//! The rules. Each module reads [`Facts`] and reports into [`Findings`]; none
//! calls another's checks, and the order here is the only order they run in.
//!
//! Codes `DL3xxx`/`DL4xxx` keep hadolint's numbering and meaning so existing
//! pragmas and configuration keep working (the messages are our own); `DL1000`
//! is a parse error; `SCYxxx` are this project's rules.

mod commands;
mod install;
mod labels;
mod languages;
mod packages;
mod project;
mod secrets;
mod structure;

use crate::dockerfile::{ErrorKind, Position};

use super::facts::Facts;
use super::findings::Findings;

/// Runs every rule over one file.
pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    parse_errors(facts, out);
    structure::check(facts, out);
    labels::check(facts, out);
    commands::check(facts, out);
    packages::check(facts, out);
    languages::check(facts, out);
    secrets::check(facts, out);
    project::check(facts, out);
}

fn parse_errors(facts: &Facts<'_>, out: &mut Findings<'_>) {
    for error in &facts.dockerfile.errors {
        let code = match error.kind {
            ErrorKind::DuplicateStageName => "DL3024",
            ErrorKind::ForbiddenOnbuildTrigger => "DL3043",
            ErrorKind::InstructionBeforeFrom => "DL3061",
            _ => "DL1000",
        };
        let index = facts.instruction_on(error.line);
        let at = Position { line: error.line, column: error.column };
        out.report(code, index, at, error.message.clone());
    }
}

#[cfg(test)]
mod tests {
    /// Every code a rule module reports is in the catalog: a code missing there
    /// would be reported without its severity or documentation.
    #[test]
    fn every_reported_code_is_in_the_catalog() {
        let sources = [
            include_str!("commands.rs"),
            include_str!("labels.rs"),
            include_str!("languages.rs"),
            include_str!("packages.rs"),
            include_str!("project.rs"),
            include_str!("secrets.rs"),
            include_str!("structure.rs"),
            include_str!("mod.rs"),
            include_str!("../context_check.rs"),
        ];
        let mut unknown = Vec::new();
        for source in sources {
            for (at, _) in source.match_indices('"') {
                let rest = &source[at + 1..];
                let literal = &rest[..rest.find('"').unwrap_or(0)];
                let numbered = |prefix: &str, digits: usize| {
                    literal.strip_prefix(prefix).is_some_and(|tail| {
                        tail.len() == digits && tail.bytes().all(|b| b.is_ascii_digit())
                    })
                };
                let is_code = numbered("DL", 4) || numbered("SCY", 3);
                if is_code && super::super::catalog::rule(literal).is_none() {
                    unknown.push(literal.to_string());
                }
            }
        }
        assert_eq!(unknown, Vec::<String>::new(), "codes reported but not in the catalog");
    }
}
