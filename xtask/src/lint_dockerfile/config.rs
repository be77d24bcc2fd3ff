//! The configuration file: the common part of `.hadolint.yaml` (`ignored`,
//! `override`, `trustedRegistries`, `failure-threshold`, `disable-ignore-pragma`,
//! `label-schema`, `strict-labels`).
//!
//! Those keys use a tiny part of YAML (maps, block and flow lists of scalars,
//! comments, quotes), so a small tolerant reader is used instead of a YAML crate.
//! Unknown keys are reported back so the caller can mention them, never fatal.

use std::collections::BTreeMap;

use super::finding::{LabelType, Severity};

/// When findings make the task fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// Fail on findings of this severity or above.
    At(Severity),
    /// Never fail because of findings.
    Never,
}

impl Threshold {
    /// Parses `error`, `warning`, `info`, `style`, or `none`/`ignore`.
    pub fn parse(text: &str) -> Option<Threshold> {
        match text.to_ascii_lowercase().as_str() {
            "none" | "ignore" => Some(Threshold::Never),
            other => Severity::parse(other).map(Threshold::At),
        }
    }

    /// Whether a finding of `severity` fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        matches!(self, Threshold::At(level) if severity >= level)
    }
}

/// What a configuration file says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub ignored: Vec<String>,
    pub overrides: BTreeMap<String, Option<Severity>>,
    pub trusted_registries: Vec<String>,
    pub failure_threshold: Option<Threshold>,
    pub disable_pragmas: bool,
    /// `label-schema:`: label name to value type.
    pub label_schema: Vec<(String, LabelType)>,
    /// `strict-labels: true`: only schema labels are allowed.
    pub strict_labels: bool,
    /// Keys this reader does not use.
    pub unknown_keys: Vec<String>,
}

/// A value of the YAML subset.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Scalar(String),
    List(Vec<String>),
    Map(Vec<(String, Value)>),
}

impl Value {
    fn strings(&self) -> Vec<String> {
        match self {
            Value::Scalar(s) if s.is_empty() => Vec::new(),
            Value::Scalar(s) => vec![s.clone()],
            Value::List(items) => items.clone(),
            Value::Map(_) => Vec::new(),
        }
    }
}

/// Reads a configuration file's text.
pub fn parse(text: &str) -> Result<Config, String> {
    let lines = significant_lines(text);
    let mut pos = 0;
    let Value::Map(entries) = block(&lines, &mut pos, 0)? else {
        return Err("the configuration must be a map of keys".to_string());
    };
    let mut config = Config::default();
    for (key, value) in entries {
        match key.as_str() {
            "ignored" => {
                config.ignored.extend(value.strings().iter().map(|c| c.to_ascii_uppercase()))
            }
            "trustedRegistries" | "trusted-registries" => {
                config.trusted_registries.extend(value.strings())
            }
            "failure-threshold" | "failureThreshold" => {
                let text = value.strings().join("");
                let threshold = Threshold::parse(&text).ok_or_else(|| {
                    format!("failure-threshold {text:?}: use error, warning, info, style or none")
                })?;
                config.failure_threshold = Some(threshold);
            }
            "disable-ignore-pragma" => config.disable_pragmas = value.strings().join("") == "true",
            "override" => overrides(&mut config, &value)?,
            "label-schema" | "labelSchema" => label_schema(&mut config, &value)?,
            "strict-labels" | "strictLabels" => {
                config.strict_labels = value.strings().join("") == "true"
            }
            _ => config.unknown_keys.push(key),
        }
    }
    Ok(config)
}

fn overrides(config: &mut Config, value: &Value) -> Result<(), String> {
    let Value::Map(levels) = value else {
        return Err("override must map error/warning/info/style to lists of codes".to_string());
    };
    for (level, codes) in levels {
        let severity = match level.as_str() {
            "ignore" | "none" | "off" => None,
            other => Some(Severity::parse(other).ok_or_else(|| {
                format!("override level {other:?}: use error, warning, info or style")
            })?),
        };
        for code in codes.strings() {
            config.overrides.insert(code.to_ascii_uppercase(), severity);
        }
    }
    Ok(())
}

fn label_schema(config: &mut Config, value: &Value) -> Result<(), String> {
    let Value::Map(labels) = value else {
        return Err("label-schema must map label names to types".to_string());
    };
    for (label, kind) in labels {
        let name = kind.strings().join("");
        let kind = LabelType::parse(&name).ok_or_else(|| {
            format!(
                "label-schema {label}: {name:?}: \
                 use text, url, spdx, rfc3339, semver, hash or email"
            )
        })?;
        config.label_schema.push((label.clone(), kind));
    }
    Ok(())
}

/// (indent, text) of each line that is not blank or a comment, comments removed.
fn significant_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .filter_map(|line| {
            let content = strip_comment(line);
            let trimmed = content.trim_end();
            let body = trimmed.trim_start();
            if body.is_empty() || body == "---" {
                return None;
            }
            Some((trimmed.len() - body.len(), body.to_string()))
        })
        .collect()
}

fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

fn block(lines: &[(usize, String)], pos: &mut usize, indent: usize) -> Result<Value, String> {
    if lines.get(*pos).is_some_and(|(_, t)| t == "-" || t.starts_with("- ")) {
        let mut items = Vec::new();
        while let Some((i, text)) =
            lines.get(*pos).filter(|(i, t)| *i == indent && (t == "-" || t.starts_with("- ")))
        {
            let _ = i;
            items.push(unquote(text[1..].trim()));
            *pos += 1;
        }
        return Ok(Value::List(items));
    }
    let mut entries = Vec::new();
    while let Some((line_indent, text)) = lines.get(*pos) {
        if *line_indent < indent {
            break;
        }
        if *line_indent > indent {
            return Err(format!("unexpected indentation at {text:?}"));
        }
        let (key, rest) =
            text.split_once(':').ok_or_else(|| format!("expected `key: value`, found {text:?}"))?;
        *pos += 1;
        let key = unquote(key.trim());
        let rest = rest.trim();
        let value = if !rest.is_empty() {
            scalar_or_flow(rest)
        } else {
            match lines.get(*pos) {
                Some((next, t)) if *next > indent || (*next == indent && t.starts_with('-')) => {
                    block(lines, pos, *next)?
                }
                _ => Value::Scalar(String::new()),
            }
        };
        entries.push((key, value));
    }
    Ok(Value::Map(entries))
}

fn scalar_or_flow(text: &str) -> Value {
    match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        Some(inner) => Value::List(
            inner.split(',').map(|s| unquote(s.trim())).filter(|s| !s.is_empty()).collect(),
        ),
        None => Value::Scalar(unquote(text)),
    }
}

fn unquote(text: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner.to_string();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_common_hadolint_keys() {
        let config = parse(concat!(
            "# project lint settings\n",
            "---\n",
            "failure-threshold: warning\n",
            "ignored:\n",
            "  - DL3008\n",
            "  - \"dl3015\" # noisy\n",
            "override:\n",
            "  error:\n",
            "    - DL3001\n",
            "  info: [DL3059, SCY004]\n",
            "trustedRegistries:\n",
            "- docker.io\n",
            "- 'my.registry:5000'\n",
            "format: json\n",
        ))
        .unwrap();
        assert_eq!(config.failure_threshold, Some(Threshold::At(Severity::Warning)));
        assert_eq!(config.ignored, vec!["DL3008", "DL3015"]);
        assert_eq!(config.overrides.get("DL3001"), Some(&Some(Severity::Error)));
        assert_eq!(config.overrides.get("SCY004"), Some(&Some(Severity::Info)));
        assert_eq!(config.trusted_registries, vec!["docker.io", "my.registry:5000"]);
        assert_eq!(config.unknown_keys, vec!["format"]);
    }

    #[test]
    fn reads_the_label_schema() {
        let config =
            parse("label-schema:\n  author: text\n  \"org.site\": url\nstrict-labels: true\n")
                .unwrap();
        assert_eq!(
            config.label_schema,
            vec![("author".to_string(), LabelType::Text), ("org.site".to_string(), LabelType::Url)]
        );
        assert!(config.strict_labels);
        assert!(parse("label-schema:\n  author: name\n").is_err());
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse("failure-threshold: fatal\n").is_err());
        assert!(parse("override:\n  severe: [DL3000]\n").is_err());
        assert!(parse("just text\n").is_err());
        assert_eq!(parse("").unwrap(), Config::default());
    }
}
