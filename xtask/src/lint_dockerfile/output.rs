//! Output formats: `tty` for people, `json` (hadolint's shape), `sarif` (SARIF
//! 2.1.0 for code scanning), `gnu` for editors, `checkstyle` for CI plugins.
//!
//! Positions: `json`, `gnu` and `checkstyle` report hadolint's position, the first
//! line of the instruction and column 1, so they line up with what hadolint users
//! already have (`json` adds the exact `span`). `tty` and `sarif` point at the exact
//! word. Text from the Dockerfile never reaches a terminal raw: control characters
//! are shown escaped (`\x1b`) in `tty` and `gnu`, and a `tty` code frame shows at
//! most [`FRAME_WIDTH`] characters around the caret.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::json;

use super::catalog::RULES;
use super::finding::{Finding, Severity};

/// Where SARIF viewers link each rule: the rule reference of the linter.
const HELP_URI: &str =
    "https://github.com/HomericIntelligence/ProjectScylla/blob/main/docs/lint-dockerfile.md";

/// The most characters of a source line a `tty` code frame shows.
pub const FRAME_WIDTH: usize = 100;

/// A character as it is shown in text output: control characters escaped.
fn push_visible(out: &mut String, c: char) -> usize {
    match c as u32 {
        0x09 => {
            out.push('\t');
            1
        }
        code @ (0x00..=0x1f | 0x7f) => {
            let _ = write!(out, "\\x{code:02x}");
            4
        }
        code @ 0x80..=0x9f => {
            let _ = write!(out, "\\u{{{code:x}}}");
            6
        }
        _ => {
            out.push(c);
            1
        }
    }
}

/// `text` with its control characters (tabs kept) escaped, for a terminal.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\t' && (c.is_control())) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// A code frame for the character at 1-based `column` of `line`: the shown text
/// (at most [`FRAME_WIDTH`] characters, `…` where it was cut, control characters
/// escaped) and the padding that puts a caret under that character.
pub fn frame(line: &str, column: usize, ascii: bool) -> (String, String) {
    let caret = column.saturating_sub(1);
    let start = caret.saturating_sub(FRAME_WIDTH / 2);
    let rest = if ascii { line.get(start..).unwrap_or("") } else { skip_chars(line, start) };
    let mut shown = String::new();
    let mut pad = String::new();
    if start > 0 {
        shown.push('…');
        pad.push(' ');
    }
    let mut chars = rest.chars();
    for (i, c) in chars.by_ref().take(FRAME_WIDTH).enumerate() {
        let width = push_visible(&mut shown, c);
        if start + i < caret {
            pad.extend(std::iter::repeat(if c == '\t' { '\t' } else { ' ' }).take(width));
        }
    }
    if chars.next().is_some() {
        shown.push('…');
    }
    (shown, pad)
}

fn skip_chars(text: &str, count: usize) -> &str {
    match text.char_indices().nth(count) {
        Some((at, _)) => &text[at..],
        None => "",
    }
}

/// The findings of one file, with its text for the tty excerpt.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The path as shown (relative to the project root when possible, `/` separators).
    pub path: String,
    pub source: String,
    pub findings: Vec<Finding>,
}

/// The line a run ends with on stderr: how many files were linted and what was
/// found, by severity, so that a clean run is seen to have linted something.
pub fn summary(reports: &[FileReport]) -> String {
    let findings: Vec<&Finding> = reports.iter().flat_map(|r| &r.findings).collect();
    let files = reports.len();
    if findings.is_empty() {
        return format!("lint-dockerfile: {files} Dockerfile(s), no findings");
    }
    let by_severity: Vec<String> =
        [Severity::Error, Severity::Warning, Severity::Info, Severity::Style]
            .into_iter()
            .filter_map(|severity| {
                let count = findings.iter().filter(|f| f.severity == severity).count();
                (count > 0).then(|| format!("{} {count}", severity.name()))
            })
            .collect();
    format!(
        "lint-dockerfile: {files} Dockerfile(s), {} finding(s) ({})",
        findings.len(),
        by_severity.join(", ")
    )
}

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Tty,
    Json,
    Sarif,
    Gnu,
    Checkstyle,
}

/// Renders every report in `format`; `color` only affects `tty`.
pub fn render(format: Format, reports: &[FileReport], color: bool) -> String {
    match format {
        Format::Tty => tty(reports, color),
        Format::Json => json_array(reports),
        Format::Sarif => sarif(reports),
        Format::Gnu => gnu(reports),
        Format::Checkstyle => checkstyle(reports),
    }
}

/// The crate's one colouring helper, with an SGR code (`"1;31"`) for a style.
fn paint(text: &str, code: &str, color: bool) -> String {
    crate::output::paint(color, &format!("\x1b[{code}m"), text)
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
        Severity::Info => "36",
        Severity::Style => "35",
    }
}

fn tty(reports: &[FileReport], color: bool) -> String {
    let mut out = String::new();
    for report in reports {
        let lines: Vec<&str> = report.source.lines().collect();
        let mut ascii: HashMap<usize, bool> = HashMap::new();
        let path = visible(&report.path);
        for f in &report.findings {
            let level = paint(f.severity.name(), severity_color(f.severity), color);
            let place = paint(&format!("{path}:{}:{}", f.line, f.column), "1", color);
            let _ = writeln!(out, "{place} {} {level}: {}", f.code, visible(&f.message));
            if let Some(text) = f.line.checked_sub(1).and_then(|i| lines.get(i)) {
                let text = text.trim_end_matches('\r');
                let is_ascii = *ascii.entry(f.line).or_insert_with(|| text.is_ascii());
                let (shown, caret_pad) = frame(text, f.column, is_ascii);
                let gutter = f.line.to_string();
                let _ = writeln!(out, "{gutter} | {shown}");
                let caret = paint("^", severity_color(f.severity), color);
                let _ = writeln!(out, "{} | {caret_pad}{caret}", " ".repeat(gutter.len()));
            }
        }
    }
    out
}

fn json_array(reports: &[FileReport]) -> String {
    let items: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(|f| {
                json!({
                    "file": r.path,
                    "line": f.instruction_line,
                    "column": 1,
                    "code": f.code,
                    "level": f.severity.name(),
                    "message": f.message,
                    "span": { "line": f.line, "column": f.column },
                })
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(items))
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Style => "note",
    }
}

fn sarif(reports: &[FileReport]) -> String {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.code,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.summary },
                "helpUri": HELP_URI,
                "defaultConfiguration": { "level": r.default.map_or("none", sarif_level) },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(|f| {
                let mut result = json!({
                    "ruleId": f.code,
                    "level": sarif_level(f.severity),
                    "message": { "text": f.message },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": r.path, "uriBaseId": "%SRCROOT%" },
                            "region": {
                                "startLine": f.line.max(1),
                                "startColumn": f.column.max(1),
                            },
                        }
                    }],
                });
                if let Some(index) = RULES.iter().position(|x| x.code == f.code) {
                    result["ruleIndex"] = json!(index);
                }
                result
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "lint-dockerfile",
                "informationUri": "https://github.com/HomericIntelligence/ProjectScylla",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn gnu(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            let _ = writeln!(
                out,
                "{}:{}:1: {}: {} {}",
                visible(&r.path),
                f.instruction_line,
                f.severity.name(),
                f.code,
                visible(&f.message)
            );
        }
    }
    out
}

fn xml_escape(text: &str) -> String {
    crate::output::escape_markup(text)
}

fn checkstyle(reports: &[FileReport]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"4.3\">\n");
    for r in reports {
        let _ = writeln!(out, "  <file name=\"{}\">", xml_escape(&r.path));
        for f in &r.findings {
            let severity = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Style => "info",
            };
            let _ = writeln!(
                out,
                "    <error line=\"{}\" column=\"1\" severity=\"{severity}\" \
                 message=\"{}\" source=\"{}\"/>",
                f.instruction_line,
                xml_escape(&f.message),
                xml_escape(&f.code)
            );
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}
