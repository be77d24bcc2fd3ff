//! Claude Code pinned like a base image. The Dockerfile declares the version of
//! the native package `@anthropic-ai/claude-code-linux-x64` and that tarball's
//! npm `dist.integrity` (sha512) as two global ARG defaults, the only place they
//! are written. `--check-pins` reads the registry's package document
//! (`GET <registry>/@anthropic-ai%2fclaude-code-linux-x64`, the abbreviated
//! `application/vnd.npm.install-v1+json` form: `dist-tags.latest` and
//! `versions[V].dist.integrity`); `--update-pins` rewrites both values together.
//!
//! A pinned version whose published integrity differs from the pin is reported
//! as `mismatch` and never rewritten: npm versions are immutable, so either the
//! pin was mistyped or the registry serves other bytes, and a person must look.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, Result};
use camino::Utf8Path;

use crate::dockerfile::Dockerfile;
use crate::error::usage;
use crate::image::pins::LineEdit;

/// The npm package whose tarball holds the native CLI.
pub const PACKAGE: &str = "@anthropic-ai/claude-code-linux-x64";
/// The ARG holding the pinned version.
pub const VERSION_ARG: &str = "CLAUDE_CODE_VERSION";
/// The ARG holding the tarball's npm integrity.
pub const INTEGRITY_ARG: &str = "CLAUDE_CODE_INTEGRITY";
/// The public npm registry.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org";
/// The variable that points `--check-pins`/`--update-pins` (and
/// tests/offline/prepare.sh) at another registry.
pub const REGISTRY_ENV: &str = "SCYLLA_NPM_REGISTRY";

const ACCEPT: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";

/// The pin as the Dockerfile (or a build arg) gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliPin {
    pub version: String,
    pub integrity: String,
    pub version_line: usize,
    pub integrity_line: usize,
    /// A build arg supplies a value: the Dockerfile is not the place to fix it.
    pub overridden: bool,
}

/// What the registry says about the pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliState {
    /// The pinned version is the latest (or newer) and its integrity matches.
    Current,
    /// A newer release exists.
    Stale { latest: String, integrity: String },
    /// The pinned version is not (or no longer) published.
    Missing { latest: String, integrity: String },
    /// The registry's integrity for the pinned version differs from the pin.
    Mismatch { published: String },
    /// The registry did not answer, or not with a usable document.
    Unreachable { reason: String },
}

/// The pin and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliReport {
    pub pin: CliPin,
    pub state: CliState,
}

/// The first `ARG NAME=value` of the Dockerfile: (value, line).
fn declared(dockerfile: &Dockerfile, name: &str) -> Option<(String, usize)> {
    dockerfile.instructions.iter().filter(|i| i.keyword == "ARG").find_map(|instruction| {
        instruction
            .key_values()
            .into_iter()
            .find_map(|(key, value, _)| (key == name).then_some(value).flatten())
            .map(|value| (value, instruction.line))
    })
}

/// The Claude Code pin, if the Dockerfile declares one; half a pin is an error.
pub fn find(
    file: &Utf8Path,
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Result<Option<CliPin>> {
    let (version, integrity) =
        match (declared(dockerfile, VERSION_ARG), declared(dockerfile, INTEGRITY_ARG)) {
            (None, None) => return Ok(None),
            (Some(version), Some(integrity)) => (version, integrity),
            _ => {
                return Err(usage(format!(
                    "{file}: ARG {VERSION_ARG}=... and ARG {INTEGRITY_ARG}=sha512-... \
                     go together\n  \
                     declare both with defaults \
                     (cargo xtask docker-build --update-pins fills them in)"
                )))
            }
        };
    let overridden = build_args.contains_key(VERSION_ARG) || build_args.contains_key(INTEGRITY_ARG);
    let pin = CliPin {
        version: build_args.get(VERSION_ARG).cloned().unwrap_or(version.0),
        integrity: build_args.get(INTEGRITY_ARG).cloned().unwrap_or(integrity.0),
        version_line: version.1,
        integrity_line: integrity.1,
        overridden,
    };
    if !pin.integrity.starts_with("sha512-") {
        return Err(usage(format!(
            "{file}:{}: {INTEGRITY_ARG} must be the npm integrity of the package \
             (sha512-...), got `{}`",
            pin.integrity_line, pin.integrity
        )));
    }
    Ok(Some(pin))
}

/// The registry to ask: `--npm-registry`, else `SCYLLA_NPM_REGISTRY`, else npm's.
pub fn registry_url(flag: Option<&str>, env: Option<&str>) -> Result<String> {
    let url = flag.or(env).unwrap_or(DEFAULT_REGISTRY).trim_end_matches('/').to_string();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(usage(format!(
            "the npm registry must be an http:// or https:// URL, got `{url}` \
             (from --npm-registry or {REGISTRY_ENV})"
        )))
    }
}

/// The parts of a package document the pin needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageDocument {
    pub latest: String,
    /// Version → `dist.integrity`.
    pub integrity: BTreeMap<String, String>,
}

/// Reads `dist-tags.latest` and every `versions[V].dist.integrity`.
pub fn parse_document(document: &serde_json::Value) -> Result<PackageDocument> {
    let latest = document["dist-tags"]["latest"]
        .as_str()
        .ok_or_else(|| anyhow!("its document for {PACKAGE} has no dist-tags.latest"))?
        .to_string();
    let integrity: BTreeMap<String, String> = document["versions"]
        .as_object()
        .map(|versions| {
            versions
                .iter()
                .filter_map(|(v, info)| {
                    Some((v.clone(), info["dist"]["integrity"].as_str()?.into()))
                })
                .collect()
        })
        .unwrap_or_default();
    if !integrity.get(&latest).is_some_and(|i| i.starts_with("sha512-")) {
        return Err(anyhow!("its document for {PACKAGE} gives no sha512 integrity for {latest}"));
    }
    Ok(PackageDocument { latest, integrity })
}

/// Fetches and parses the package document from `registry`.
pub fn fetch_document(registry: &str, timeout: Duration) -> Result<PackageDocument> {
    let url = format!("{registry}/{}", PACKAGE.replace('/', "%2f"));
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let response = agent.get(&url).set("Accept", ACCEPT).call().map_err(|error| match error {
        ureq::Error::Status(code, _) => anyhow!("npm registry {registry} answered HTTP {code}"),
        ureq::Error::Transport(transport) => {
            anyhow!("npm registry {registry} does not answer: {transport}")
        }
    })?;
    let document: serde_json::Value = serde_json::from_reader(response.into_reader())
        .map_err(|e| anyhow!("npm registry {registry} sent no JSON document: {e}"))?;
    parse_document(&document).map_err(|e| anyhow!("npm registry {registry}: {e}"))
}

/// `2.1.332` → `[2, 1, 332]`; anything non-numeric compares as 0.
fn numeric(version: &str) -> Vec<u64> {
    version.split(['.', '-', '+']).take(3).map(|p| p.parse().unwrap_or(0)).collect()
}

/// The state of `pin` against a fetched document.
pub fn state_of(pin: &CliPin, document: &PackageDocument) -> CliState {
    let latest = document.latest.clone();
    let latest_integrity = document.integrity.get(&latest).cloned().unwrap_or_default();
    match document.integrity.get(&pin.version) {
        Some(published) if *published != pin.integrity => {
            CliState::Mismatch { published: published.clone() }
        }
        Some(_) if numeric(&pin.version) >= numeric(&latest) => CliState::Current,
        Some(_) => CliState::Stale { latest, integrity: latest_integrity },
        None => CliState::Missing { latest, integrity: latest_integrity },
    }
}

/// Asks the registry about the pin.
pub fn check(pin: &CliPin, registry: &str, timeout: Duration) -> CliReport {
    let state = match fetch_document(registry, timeout) {
        Ok(document) => state_of(pin, &document),
        Err(error) => CliState::Unreachable { reason: format!("{error:#}") },
    };
    CliReport { pin: pin.clone(), state }
}

/// The `--check-pins` row: (state, detail).
pub fn describe(state: &CliState) -> (&'static str, String) {
    match state {
        CliState::Current => ("current", String::new()),
        CliState::Stale { latest, .. } => ("stale", format!("newer release: {latest}")),
        CliState::Missing { latest, .. } => {
            ("missing", format!("not published; the latest release is {latest}"))
        }
        CliState::Mismatch { published } => {
            ("mismatch", format!("the registry publishes this version as {published}"))
        }
        CliState::Unreachable { reason } => ("unreachable", reason.clone()),
    }
}

/// Moves the pin to the latest release: version and integrity on their own
/// lines, only the values change. Fails, changing nothing, when the registry
/// did not answer or disagrees with the pinned version's integrity. A pin
/// supplied by a build arg is left alone (returned as a note).
pub fn rewrite(
    source: &str,
    report: &CliReport,
) -> Result<(String, Vec<LineEdit>, Option<String>)> {
    let pin = &report.pin;
    let (latest, integrity) = match &report.state {
        CliState::Current => return Ok((source.to_string(), Vec::new(), None)),
        CliState::Stale { latest, integrity } | CliState::Missing { latest, integrity } => {
            (latest, integrity)
        }
        CliState::Unreachable { reason } => {
            return Err(usage(format!(
                "cannot update pins: {PACKAGE} cannot be looked up ({reason}); nothing was changed"
            )))
        }
        CliState::Mismatch { published } => {
            return Err(usage(format!(
                "cannot update pins: the registry's integrity of {PACKAGE}@{} is {published}, \
                 not the pinned {}; nothing was changed\n  \
                 npm versions never change: check the pin by hand before trusting either",
                pin.version, pin.integrity
            )))
        }
    };
    if pin.overridden {
        return Ok((
            source.to_string(),
            Vec::new(),
            Some(format!(
                "{PACKAGE}@{} comes from a build arg, not the Dockerfile: set \
                 {VERSION_ARG}={latest} and {INTEGRITY_ARG}={integrity} there",
                pin.version
            )),
        ));
    }
    let mut lines: Vec<String> = source.split_inclusive('\n').map(str::to_string).collect();
    let mut edits = Vec::new();
    for (line_number, name, old, new) in [
        (pin.version_line, VERSION_ARG, &pin.version, latest),
        (pin.integrity_line, INTEGRITY_ARG, &pin.integrity, integrity),
    ] {
        let from = format!("{name}={old}");
        let line =
            lines.get_mut(line_number - 1).filter(|l| l.contains(&from)).ok_or_else(|| {
                usage(format!(
                    "cannot find `{from}` on line {line_number} (write it unquoted on one line); \
                 nothing was changed"
                ))
            })?;
        let before = line.trim_end().to_string();
        *line = line.replacen(&from, &format!("{name}={new}"), 1);
        edits.push((line_number, before, line.trim_end().to_string()));
    }
    Ok((lines.concat(), edits, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    const OLD: &str = "sha512-old==";
    const NEW: &str = "sha512-new==";

    fn document(latest: &str) -> PackageDocument {
        PackageDocument {
            latest: latest.to_string(),
            integrity: BTreeMap::from([
                ("2.1.9".into(), OLD.into()),
                ("2.1.10".into(), NEW.into()),
            ]),
        }
    }

    fn pin(src: &str) -> CliPin {
        find(Utf8Path::new("Dockerfile"), &parse(src), &BTreeMap::new()).unwrap().unwrap()
    }

    const SRC: &str = "ARG BASE=x\nARG CLAUDE_CODE_VERSION=2.1.9  # pinned\n\
                       ARG CLAUDE_CODE_INTEGRITY=sha512-old==\nFROM scratch\n\
                       ARG CLAUDE_CODE_VERSION\n";

    #[test]
    fn finds_the_pin_and_compares_versions_numerically() {
        let found = pin(SRC);
        assert_eq!(
            (found.version.as_str(), found.version_line, found.integrity_line),
            ("2.1.9", 2, 3)
        );
        assert_eq!(
            state_of(&found, &document("2.1.10")),
            CliState::Stale { latest: "2.1.10".into(), integrity: NEW.into() }
        );
        assert_eq!(state_of(&found, &document("2.1.9")), CliState::Current);
        let wrong = CliPin { integrity: "sha512-other==".into(), ..found.clone() };
        assert_eq!(
            state_of(&wrong, &document("2.1.10")),
            CliState::Mismatch { published: OLD.into() }
        );
    }

    #[test]
    fn half_a_pin_and_a_foreign_hash_are_errors() {
        let half = find(
            Utf8Path::new("Dockerfile"),
            &parse("ARG CLAUDE_CODE_VERSION=1\nFROM scratch\n"),
            &BTreeMap::new(),
        );
        assert!(half.unwrap_err().to_string().contains("go together"));
        let sha1 = "ARG CLAUDE_CODE_VERSION=1\nARG CLAUDE_CODE_INTEGRITY=sha1-x\nFROM scratch\n";
        let error = find(Utf8Path::new("Dockerfile"), &parse(sha1), &BTreeMap::new()).unwrap_err();
        assert!(error.to_string().contains("must be the npm integrity"), "{error}");
    }

    #[test]
    fn rewrite_changes_both_values_and_nothing_else() {
        let report = CliReport { pin: pin(SRC), state: state_of(&pin(SRC), &document("2.1.10")) };
        let (text, edits, note) = rewrite(SRC, &report).unwrap();
        assert_eq!(text, SRC.replace("=2.1.9 ", "=2.1.10 ").replace(OLD, NEW));
        assert_eq!(edits.iter().map(|e| e.0).collect::<Vec<_>>(), [2, 3]);
        assert!(note.is_none());
        let broken = CliReport { state: CliState::Mismatch { published: NEW.into() }, ..report };
        assert!(rewrite(SRC, &broken).unwrap_err().to_string().contains("nothing was changed"));
    }

    #[test]
    fn the_document_needs_latest_with_an_integrity() {
        let good = serde_json::json!({"dist-tags": {"latest": "2.1.10"},
            "versions": {"2.1.10": {"dist": {"integrity": NEW}}}});
        assert_eq!(parse_document(&good).unwrap().latest, "2.1.10");
        let bad = serde_json::json!({"dist-tags": {"latest": "3.0.0"}, "versions": {}});
        assert!(parse_document(&bad)
            .unwrap_err()
            .to_string()
            .contains("no sha512 integrity for 3.0.0"));
        assert!(registry_url(Some("ftp://x"), None).is_err());
        assert_eq!(registry_url(None, Some("http://127.0.0.1:1/")).unwrap(), "http://127.0.0.1:1");
        assert_eq!(registry_url(None, None).unwrap(), DEFAULT_REGISTRY);
    }
}
