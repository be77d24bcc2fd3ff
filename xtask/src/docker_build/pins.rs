//! Base-image pins: every external `FROM` must be `@sha256:<64 hex>` before a
//! build; `--check-pins` asks each base's registry where its tag points now;
//! `--update-pins` rewrites stale digests in place (only the digest changes).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use camino::Utf8Path;

use super::registry;
use crate::dockerfile::{Base, Dockerfile, ImageRef, ResolvedFrom};
use crate::error::usage;

/// One external base of the Dockerfile, after substitution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImage {
    /// The line of the `FROM`.
    pub from_line: usize,
    /// The line where the reference is written: the `FROM` itself, or the `ARG`
    /// whose default supplies it.
    pub defined_line: usize,
    /// Whether a `--build-arg` supplied it (then the file is not the place to fix it).
    pub overridden: bool,
    pub image: ImageRef,
}

/// `name:tag` of a reference, without its digest (for messages and lookups).
pub fn name_tag(image: &ImageRef) -> String {
    match image.effective_tag() {
        Some(tag) => format!("{}:{tag}", image.name()),
        None => image.name(),
    }
}

/// Resolves every `FROM`; fails on bases the engine would reject or that have
/// no value (an ARG-only FROM without a default).
pub fn external_bases(
    file: &Utf8Path,
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Result<Vec<BaseImage>> {
    let mut bases = Vec::new();
    for from in dockerfile.resolve_froms(build_args) {
        match &from.base {
            Base::Image(image) => bases.push(BaseImage {
                from_line: from.line,
                defined_line: defined_line(&from),
                overridden: from.args.iter().any(|a| a.overridden),
                image: image.clone(),
            }),
            Base::Stage(_) | Base::Scratch => {}
            Base::Invalid(reason) => return Err(invalid_from(file, &from, reason)),
        }
    }
    Ok(bases)
}

fn defined_line(from: &ResolvedFrom) -> usize {
    from.args.iter().rev().find_map(|a| a.line.filter(|_| !a.overridden)).unwrap_or(from.line)
}

fn invalid_from(file: &Utf8Path, from: &ResolvedFrom, reason: &str) -> anyhow::Error {
    // No line and no value: no global ARG declares it (platform ARGs have values).
    if let Some(arg) = from.args.iter().find(|a| a.value.is_none() && a.line.is_none()) {
        return usage(format!(
            "{file}:{}: FROM {} uses ARG {}, which is not declared\n  \
             declare it before the first FROM with a pinned default \
             (ARG {}=image:tag@sha256:...); a --build-arg alone does not reach FROM",
            from.line, from.raw, arg.name, arg.name
        ));
    }
    if let Some(arg) = from.args.iter().find(|a| a.value.is_none()) {
        return usage(format!(
            "{file}:{}: FROM {} uses ARG {} which has no value\n  \
             give it a default (ARG {}=image:tag@sha256:...) or pass --build-arg {}=...",
            from.line, from.raw, arg.name, arg.name, arg.name
        ));
    }
    usage(format!("{file}:{}: FROM {}: {reason}", from.line, from.raw))
}

/// Refuses unpinned external bases, naming each with its line and the fix.
pub fn require_pinned(file: &Utf8Path, bases: &[BaseImage]) -> Result<()> {
    let unpinned: Vec<String> = bases
        .iter()
        .filter(|b| !b.image.is_pinned())
        .map(|b| {
            format!("  {file}:{}: {} is not pinned by digest", b.defined_line, name_tag(&b.image))
        })
        .collect();
    if unpinned.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "refusing to build from a floating base\n{}\n  \
         pin it as name:tag@sha256:<digest> (see `cargo xtask docker-build --check-pins`), \
         or pass --allow-unpinned for a throwaway build",
        unpinned.join("\n")
    )))
}

/// The state of one pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinState {
    Current,
    Stale { current: String },
    Unpinned { current: String },
    Unreachable { reason: String },
}

/// One line of the `--check-pins` report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinReport {
    pub base: BaseImage,
    pub state: PinState,
}

/// Asks the registries about every base (deduplicated by reference).
pub fn check(bases: &[BaseImage], timeout: Duration) -> Vec<PinReport> {
    let mut answers: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    bases
        .iter()
        .map(|base| {
            let key = name_tag(&base.image);
            let answer = answers
                .entry(key)
                .or_insert_with(|| {
                    registry::current_digest(&base.image, timeout).map_err(|e| format!("{e:#}"))
                })
                .clone();
            let state = match (answer, base.image.sha256()) {
                (Err(reason), _) => PinState::Unreachable { reason },
                (Ok(current), None) => PinState::Unpinned { current },
                (Ok(current), Some(pinned)) if current == format!("sha256:{pinned}") => {
                    PinState::Current
                }
                (Ok(current), Some(_)) => PinState::Stale { current },
            };
            PinReport { base: base.clone(), state }
        })
        .collect()
}

/// A rewrite of one line: (line number, old text, new text).
pub type LineEdit = (usize, String, String);

/// Replaces stale digests in `source`; only the 64 hex digits change. Pins
/// given by `--build-arg` are not in the file and are left out. Fails (and
/// changes nothing) if any report is unreachable or a pin is not found.
pub fn rewrite(source: &str, reports: &[PinReport]) -> Result<(String, Vec<LineEdit>)> {
    let unreachable = reports.iter().find_map(|r| match &r.state {
        PinState::Unreachable { reason } => Some((r, reason)),
        _ => None,
    });
    if let Some((report, reason)) = unreachable {
        return Err(usage(format!(
            "cannot update pins: {} is unreachable ({reason}); nothing was changed",
            name_tag(&report.base.image)
        )));
    }
    let mut lines: Vec<String> = source.split_inclusive('\n').map(str::to_string).collect();
    let mut edits = Vec::new();
    for report in reports.iter().filter(|r| !r.base.overridden) {
        let (PinState::Stale { current }, Some(old)) = (&report.state, report.base.image.sha256())
        else {
            continue;
        };
        let new = current.trim_start_matches("sha256:");
        let index = report.base.defined_line - 1;
        let Some(line) = lines.get_mut(index) else { continue };
        if !line.contains(old) {
            return Err(usage(format!(
                "cannot find the digest of {} on line {}; nothing was changed",
                name_tag(&report.base.image),
                report.base.defined_line
            )));
        }
        let before = line.clone();
        *line = line.replace(old, new);
        edits.push((
            report.base.defined_line,
            before.trim_end().to_string(),
            line.trim_end().to_string(),
        ));
    }
    Ok((lines.concat(), edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    const OLD: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const NEW: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn bases(src: &str, args: &[(&str, &str)]) -> Result<Vec<BaseImage>> {
        let args = args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        external_bases(Utf8Path::new("Dockerfile"), &parse(src), &args)
    }

    #[test]
    fn finds_bases_through_arg_defaults_and_skips_stages_and_scratch() {
        let src = format!(
            "ARG BASE=python:3.12@sha256:{OLD}\nFROM ${{BASE}} AS b\nFROM b\nFROM scratch\n"
        );
        let found = bases(&src, &[]).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].from_line, found[0].defined_line, found[0].overridden), (2, 1, false));
        assert!(require_pinned(Utf8Path::new("Dockerfile"), &found).is_ok());
    }

    #[test]
    fn unpinned_bases_stop_the_build_with_line_and_fix() {
        let found = bases("FROM python:3.12\n", &[]).unwrap();
        let message = require_pinned(Utf8Path::new("Dockerfile"), &found).unwrap_err().to_string();
        assert!(message.contains("Dockerfile:1: python:3.12 is not pinned"), "{message}");
        assert!(message.contains("--allow-unpinned"), "{message}");
    }

    #[test]
    fn arg_only_from_without_value_is_an_error() {
        let message = bases("ARG BASE\nFROM $BASE\n", &[]).unwrap_err().to_string();
        assert!(message.contains("uses ARG BASE which has no value"), "{message}");
    }

    #[test]
    fn from_an_undeclared_arg_says_so() {
        for args in [vec![], vec![("BASE", "python:3.12")]] {
            let message = bases("FROM ${BASE}\n", &args).unwrap_err().to_string();
            assert!(
                message.contains("FROM ${BASE} uses ARG BASE, which is not declared"),
                "{message}"
            );
            assert!(message.contains("ARG BASE=image:tag@sha256:"), "{message}");
        }
    }

    #[test]
    fn rewrite_changes_only_the_digest() {
        let src =
            format!("# keep me\nARG BASE=python:3.12@sha256:{OLD}  # comment\nFROM ${{BASE}}\n");
        let found = bases(&src, &[]).unwrap();
        let reports = vec![PinReport {
            base: found[0].clone(),
            state: PinState::Stale { current: format!("sha256:{NEW}") },
        }];
        let (text, edits) = rewrite(&src, &reports).unwrap();
        assert_eq!(text, src.replace(OLD, NEW));
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].0, 2);
    }

    #[test]
    fn rewrite_refuses_when_a_registry_is_unreachable() {
        let src = format!("FROM python:3.12@sha256:{OLD}\n");
        let found = bases(&src, &[]).unwrap();
        let reports = vec![PinReport {
            base: found[0].clone(),
            state: PinState::Unreachable { reason: "x".into() },
        }];
        assert!(rewrite(&src, &reports).is_err());
    }
}
