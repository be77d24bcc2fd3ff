//! ShellCheck over `RUN` scripts, the way hadolint runs it: each shell-form `RUN`
//! becomes a script with a `#!` line for the stage's `SHELL` (default `/bin/sh`)
//! and an `export NAME=1` line for each `ARG`/`ENV` name set before it in the stage
//! (and the proxy variables the engine predefines), so those do not read as unset.
//! `SC2187` (ash) and `SC1090` (a `source` path only a directive could name) are
//! left out, PowerShell scripts are skipped, and each finding keeps ShellCheck's
//! code (`SC2086`) and level on the `RUN`'s line.
//!
//! Like hadolint, one finding is kept per `RUN`: the last comment ShellCheck gives
//! for it (hadolint collects them in a set keyed by the line, where each comment
//! replaces the one before), so existing baselines and pragmas keep matching.
//!
//! This module builds the batch and maps results back; the task runs the
//! `shellcheck` program once per batch (see [`super::shellcheck_run`]).

use std::collections::BTreeSet;

use crate::dockerfile::Dockerfile;

use super::facts::Facts;
use super::finding::{Finding, Severity};

/// Variables the engine defines for every build without an `ARG`.
const PREDEFINED: &[&str] = &[
    "FTP_PROXY",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ftp_proxy",
    "https_proxy",
    "http_proxy",
    "no_proxy",
];

/// The codes hadolint leaves out.
pub const EXCLUDED: &[&str] = &["SC1090", "SC2187"];

/// One script to check and where it came from.
#[derive(Clone, Debug)]
pub struct BatchScript {
    /// The index of the file among the linted ones.
    pub file: usize,
    /// The index of the `RUN` among the file's instructions.
    pub instruction: usize,
    /// The script as ShellCheck reads it: `#!` line, exports, then the `RUN`'s text.
    pub text: String,
    /// How many lines come before the `RUN`'s text.
    pub header_lines: usize,
    /// Where text was left out of the `RUN`'s arguments: (offset in the script's
    /// `RUN` line, offset in the arguments) at each continuation line.
    pub joins: Vec<(usize, usize)>,
}

/// Scripts longer than this are not handed to ShellCheck: its time grows much faster
/// than the script (a 5 MB `RUN` line takes it minutes), and no hand-written `RUN`
/// comes near this size.
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// Every script of one invocation.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub scripts: Vec<BatchScript>,
    /// The `RUN`s left out for their size: (file index, line).
    pub too_long: Vec<(usize, usize)>,
}

/// One ShellCheck comment on a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellFinding {
    pub code: u32,
    pub level: String,
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// Adds the shell-form `RUN` scripts of one file to the batch.
pub(crate) fn collect(facts: &Facts<'_>, file: usize, batch: &mut Batch) {
    let mut shell = "/bin/sh".to_string();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (index, instruction) in facts.dockerfile.instructions.iter().enumerate() {
        match instruction.keyword.as_str() {
            "FROM" => {
                shell = "/bin/sh".to_string();
                names.clear();
            }
            "ARG" | "ENV" => names.extend(instruction.key_values().into_iter().map(|(k, _, _)| k)),
            "SHELL" => {
                if let Some(program) = instruction.json.as_ref().and_then(|j| j.first()) {
                    shell.clone_from(program);
                }
            }
            "RUN" if !instruction.is_json() && instruction.heredocs.is_empty() => {
                if shell.starts_with("pwsh") || instruction.args.is_empty() {
                    continue;
                }
                if instruction.args.len() > MAX_SCRIPT_BYTES {
                    batch.too_long.push((file, instruction.line));
                    continue;
                }
                let mut text = format!("#!{shell}\n");
                let exported = PREDEFINED.iter().copied().chain(names.iter().map(String::as_str));
                let exported: BTreeSet<&str> = exported.collect();
                for name in &exported {
                    text.push_str(&format!("export {name}=1\n"));
                }
                let (body, joins) = joined(&instruction.args, &instruction.continuation_offsets());
                text.push_str(&body);
                text.push('\n');
                let header_lines = 1 + exported.len();
                let script = BatchScript { file, instruction: index, text, header_lines, joins };
                batch.scripts.push(script);
            }
            _ => {}
        }
    }
}

/// The arguments with the indentation of each continuation line left out, as
/// hadolint hands them to ShellCheck (so indented continuations do not read as
/// repeated spaces), and where text was left out.
fn joined(args: &str, continuations: &[usize]) -> (String, Vec<(usize, usize)>) {
    let mut body = String::with_capacity(args.len());
    let mut joins = Vec::with_capacity(continuations.len());
    let mut from = 0;
    for &at in continuations.iter().filter(|&&at| args.is_char_boundary(at)) {
        // A blank continuation line was trimmed away with the indentation before it.
        if at < from {
            continue;
        }
        body.push_str(&args[from..at]);
        let kept = args[at..].trim_start_matches([' ', '\t']);
        from = args.len() - kept.len();
        joins.push((body.len(), from));
    }
    body.push_str(&args[from..]);
    (body, joins)
}

/// The offset in the arguments of byte `offset` of the script's `RUN` line.
fn original_offset(joins: &[(usize, usize)], offset: usize) -> usize {
    let before = joins.partition_point(|&(joined, _)| joined <= offset);
    match before.checked_sub(1).and_then(|i| joins.get(i)) {
        Some(&(joined, original)) => original + (offset - joined),
        None => offset,
    }
}

fn severity(level: &str) -> Severity {
    match level {
        "warning" => Severity::Warning,
        "info" => Severity::Info,
        "style" => Severity::Style,
        _ => Severity::Error,
    }
}

/// Turns ShellCheck's comments into findings of their files.
pub(crate) fn attach(
    batch: &Batch,
    results: &[Vec<ShellFinding>],
    parsed: &[Dockerfile],
    per_file: &mut [Vec<Finding>],
) {
    for (script, comments) in batch.scripts.iter().zip(results) {
        let Some(instruction) =
            parsed.get(script.file).and_then(|d| d.instructions.get(script.instruction))
        else {
            continue;
        };
        let Some(findings) = per_file.get_mut(script.file) else { continue };
        let kept =
            comments.iter().rev().find(|c| !EXCLUDED.contains(&format!("SC{}", c.code).as_str()));
        if let Some(comment) = kept {
            let code = format!("SC{}", comment.code);
            // The RUN's text is one line (continuations are joined): a column in it
            // is a character offset into that line.
            let at = if comment.line == script.header_lines + 1 {
                let line = script.text.lines().nth(script.header_lines).unwrap_or("");
                let column = comment.column.saturating_sub(1);
                let offset = line.char_indices().nth(column).map_or(line.len(), |(i, _)| i);
                instruction.position_at(original_offset(&script.joins, offset))
            } else {
                instruction.args_position
            };
            findings.push(Finding {
                code,
                severity: severity(&comment.level),
                line: at.line,
                column: at.column,
                message: comment.message.clone(),
                instruction: Some(script.instruction),
                instruction_line: instruction.line,
            });
        }
    }
}

/// Reads ShellCheck's `json1` output: the comments of each file name.
pub fn parse_json1(text: &str) -> Result<Vec<(String, ShellFinding)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("unreadable ShellCheck output: {e}"))?;
    let comments = value.get("comments").and_then(|c| c.as_array()).ok_or_else(|| {
        "ShellCheck output has no `comments` list (is it ShellCheck 0.7 or later?)".to_string()
    })?;
    let number = |c: &serde_json::Value, key: &str| c.get(key).and_then(|v| v.as_u64());
    let text_of = |c: &serde_json::Value, key: &str| {
        c.get(key).and_then(|v| v.as_str()).unwrap_or("").to_string()
    };
    Ok(comments
        .iter()
        .map(|c| {
            let finding = ShellFinding {
                code: number(c, "code").unwrap_or(0) as u32,
                level: text_of(c, "level"),
                message: text_of(c, "message"),
                line: number(c, "line").unwrap_or(1) as usize,
                column: number(c, "column").unwrap_or(1) as usize,
            };
            (text_of(c, "file"), finding)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_indents_are_left_out_and_offsets_map_back() {
        let args = "echo a     b     c";
        let (body, joins) = joined(args, &[7, 15, 16]);
        assert_eq!(body, "echo a b   c");
        assert_eq!(original_offset(&joins, 7), 11);
        assert_eq!(original_offset(&joins, 3), 3);
        assert_eq!(original_offset(&joins, 11), 17);
        assert_eq!(joined("", &[0, 3]).0, "");
    }
}
