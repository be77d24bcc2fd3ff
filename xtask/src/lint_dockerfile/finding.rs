//! The linter's vocabulary, shared by every other module and importing none of
//! them: a finding's [`Severity`], the [`Finding`] itself and the [`Options`] that
//! shape a run.

use std::collections::BTreeMap;

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
    /// A rule code (`DL3008`, `SCY001`) or a ShellCheck code (`SC2086`).
    pub code: String,
    pub severity: Severity,
    /// The exact line and column of what the finding is about (a word, a flag).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The instruction the finding is about (pragmas apply per instruction).
    pub instruction: Option<usize>,
    /// The first line of that instruction: the line hadolint reports, used by the
    /// machine formats. The finding's own line when it is about no instruction.
    pub instruction_line: usize,
}

/// The value type a `label-schema:` entry asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelType {
    Text,
    Url,
    Spdx,
    Rfc3339,
    Semver,
    Hash,
    Email,
}

impl LabelType {
    /// Parses a schema type name (`text`, `url`, `spdx`, `rfc3339`, `semver`, `hash`, `email`).
    pub fn parse(text: &str) -> Option<LabelType> {
        Some(match text.to_ascii_lowercase().as_str() {
            "text" => LabelType::Text,
            "url" => LabelType::Url,
            "spdx" => LabelType::Spdx,
            "rfc3339" => LabelType::Rfc3339,
            "semver" => LabelType::Semver,
            "hash" => LabelType::Hash,
            "email" => LabelType::Email,
            _ => return None,
        })
    }
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
    /// Labels every stage must carry, with the type of their value (`DL3049`-`DL3058`).
    pub label_schema: Vec<(String, LabelType)>,
    /// Labels outside the schema are reported (`DL3050`).
    pub strict_labels: bool,
}

impl Options {
    /// Whether `code` is ignored, or turned off by an override.
    pub fn turned_off(&self, code: &str) -> bool {
        self.ignored.iter().any(|c| c.eq_ignore_ascii_case(code))
            || self.overrides.iter().any(|(c, s)| c.eq_ignore_ascii_case(code) && s.is_none())
    }
}
