//! The one place a lint runs, in this order: parse, the rules, the build-context
//! check, ShellCheck, then pragmas and the configuration's ignores and severity
//! overrides, then sorting.
//!
//! Everything here is pure: the context listing and the ShellCheck runner are
//! handed in by the task, so tests and the fuzz target run the same pipeline.

use crate::dockerfile::{self, Dockerfile};

use super::context_check::{self, ContextView};
use super::facts::Facts;
use super::finding::{Finding, Options};
use super::findings::Findings;
use super::shellcheck::{self, Batch, ShellFinding};
use super::{pragma, rules};

/// One Dockerfile to lint: its text and, for SCY008, its listed build context.
pub struct Input<'a> {
    pub source: &'a str,
    pub context: Option<&'a ContextView>,
}

/// Runs ShellCheck over a batch of scripts: one list of findings per script.
pub type ShellChecker<'a> = &'a mut dyn FnMut(&Batch) -> Vec<Vec<ShellFinding>>;

/// Lints one Dockerfile's text without the build context and without ShellCheck:
/// every finding after pragmas, ignores and severity overrides, sorted by position.
pub fn lint(src: &str, options: &Options) -> Vec<Finding> {
    let input = Input { source: src, context: None };
    lint_all(&[input], options, None).pop().unwrap_or_default()
}

/// Lints several files in one pass, so that ShellCheck runs once for all of them.
pub fn lint_all(
    inputs: &[Input<'_>],
    options: &Options,
    shellcheck: Option<ShellChecker<'_>>,
) -> Vec<Vec<Finding>> {
    let parsed: Vec<Dockerfile> = inputs.iter().map(|i| dockerfile::parse(i.source)).collect();
    let mut per_file = Vec::with_capacity(inputs.len());
    let mut batch = Batch::default();
    for (file, (input, dockerfile)) in inputs.iter().zip(&parsed).enumerate() {
        let facts = Facts::new(dockerfile, options);
        let mut findings = Findings::new(dockerfile, options);
        rules::check(&facts, &mut findings);
        if let Some(view) = input.context {
            context_check::check(&facts, &mut findings, view);
        }
        if shellcheck.is_some() {
            shellcheck::collect(&facts, file, &mut batch);
        }
        per_file.push(findings.items);
    }
    if let Some(run) = shellcheck {
        if !batch.scripts.is_empty() || !batch.too_long.is_empty() {
            let results = run(&batch);
            shellcheck::attach(&batch, &results, &parsed, &mut per_file);
        }
    }
    per_file
        .into_iter()
        .zip(&parsed)
        .map(|(findings, dockerfile)| finish(dockerfile, options, findings))
        .collect()
}

/// Pragmas, configuration, the instruction line of each finding, and the order.
fn finish(dockerfile: &Dockerfile, options: &Options, mut findings: Vec<Finding>) -> Vec<Finding> {
    if !options.disable_pragmas {
        pragma::apply(dockerfile, &mut findings);
    }
    findings.retain_mut(|f| configure(f, options));
    for finding in &mut findings {
        let instruction = finding.instruction.and_then(|i| dockerfile.instructions.get(i));
        finding.instruction_line = instruction.map_or(finding.line, |i| i.line);
    }
    findings.sort_by(|a, b| (a.line, a.column, &a.code).cmp(&(b.line, b.column, &b.code)));
    findings.dedup();
    findings
}

fn configure(finding: &mut Finding, options: &Options) -> bool {
    if options.ignored.iter().any(|c| c.eq_ignore_ascii_case(&finding.code)) {
        return false;
    }
    match options.overrides.iter().find(|(c, _)| c.eq_ignore_ascii_case(&finding.code)) {
        Some((_, Some(severity))) => finding.severity = *severity,
        Some((_, None)) => return false,
        None => {}
    }
    true
}
