//! Output formats: `tty` for people, `json` (hadolint's shape), `sarif` (SARIF
//! 2.1.0 for code scanning), `gnu` for editors, `checkstyle` for CI plugins.

use std::fmt::Write as _;

use serde_json::json;

use super::rules::{Finding, Severity, RULES};

/// The findings of one file, with its text for the tty excerpt.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The path as shown (relative to the project root when possible, `/` separators).
    pub path: String,
    pub source: String,
    pub findings: Vec<Finding>,
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

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
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
        for f in &report.findings {
            let level = paint(f.severity.name(), severity_color(f.severity), color);
            let place = paint(&format!("{}:{}:{}", report.path, f.line, f.column), "1", color);
            let _ = writeln!(out, "{place} {} {level}: {}", f.code, f.message);
            if let Some(text) = f.line.checked_sub(1).and_then(|i| lines.get(i)) {
                let text = text.trim_end_matches('\r');
                let gutter = f.line.to_string();
                let caret_pad: String = text
                    .chars()
                    .take(f.column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, "{gutter} | {text}");
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
                    "line": f.line,
                    "column": f.column,
                    "code": f.code,
                    "level": f.severity.name(),
                    "message": f.message,
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
                "helpUri": "https://github.com/HomericIntelligence/ProjectScylla/blob/main/docs/lint-dockerfile.md",
                "defaultConfiguration": { "level": r.default.map_or("none", sarif_level) },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(|f| {
                json!({
                    "ruleId": f.code,
                    "ruleIndex": RULES.iter().position(|x| x.code == f.code).unwrap_or(0),
                    "level": sarif_level(f.severity),
                    "message": { "text": f.message },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": r.path, "uriBaseId": "%SRCROOT%" },
                            "region": { "startLine": f.line.max(1), "startColumn": f.column.max(1) },
                        }
                    }],
                })
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
                "{}:{}:{}: {}: {} {}",
                r.path,
                f.line,
                f.column,
                f.severity.name(),
                f.code,
                f.message
            );
        }
    }
    out
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
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
                "    <error line=\"{}\" column=\"{}\" severity=\"{severity}\" message=\"{}\" source=\"{}\"/>",
                f.line,
                f.column,
                xml_escape(&f.message),
                xml_escape(f.code)
            );
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}
