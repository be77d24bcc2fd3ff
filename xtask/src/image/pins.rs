//! Base-image pins: every external `FROM` must be `@sha256:<64 hex>` before a
//! build; `--check-pins` asks each base's registry where its tag points now;
//! `--update-pins` rewrites stale digests in place (only the digest changes) and
//! pins unpinned bases by appending `@sha256:<digest>` to the reference as written,
//! where the Dockerfile writes it whole (on the `FROM`, or as one ARG's default).

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
    /// The reference exactly as written on `defined_line`, when it is written
    /// whole there (not composed of several parts): where a digest can be appended.
    pub written: Option<String>,
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
                written: written_whole(&from),
            }),
            Base::Stage(_) | Base::Scratch => {}
            Base::Invalid(reason) => return Err(invalid_from(file, &from, reason)),
        }
    }
    Ok(bases)
}

/// `FROM name:tag` → `name:tag`; `FROM ${BASE}` → BASE's default; else `None`.
fn written_whole(from: &ResolvedFrom) -> Option<String> {
    match from.args.as_slice() {
        [] => Some(from.raw.clone()),
        [arg]
            if !arg.overridden
                && [format!("${}", arg.name), format!("${{{}}}", arg.name)].contains(&from.raw) =>
        {
            arg.value.clone()
        }
        _ => None,
    }
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

/// Refuses unpinned external bases, naming each with its line and the fix:
/// `--update-pins` when it can pin every one of them, by hand otherwise.
pub fn require_pinned(file: &Utf8Path, bases: &[BaseImage]) -> Result<()> {
    let unpinned: Vec<&BaseImage> = bases.iter().filter(|b| !b.image.is_pinned()).collect();
    if unpinned.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = unpinned
        .iter()
        .map(|b| {
            format!("  {file}:{}: {} is not pinned by digest", b.defined_line, name_tag(&b.image))
        })
        .collect();
    let fix = if unpinned.iter().all(|b| !b.overridden && b.written.is_some()) {
        format!(
            "pin it with `cargo xtask docker-build --file {file} --update-pins` \
             (it asks the registry and appends @sha256:<digest>)"
        )
    } else {
        "pin it as name:tag@sha256:<digest> where it is given (`cargo xtask docker-build \
         --check-pins` shows the digest)"
            .to_string()
    };
    Err(usage(format!(
        "refusing to build from a floating base\n{}\n  {fix},\n  \
         or pass --allow-unpinned for a throwaway build",
        lines.join("\n")
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

/// What `rewrite` made of the reports.
#[derive(Debug, Default)]
pub struct Rewrite {
    pub text: String,
    pub edits: Vec<LineEdit>,
    /// Stale or unpinned bases the file does not hold (they come from build args).
    pub notes: Vec<String>,
}

/// Replaces stale digests in `source` (only the 64 hex digits change) and
/// appends `@sha256:<digest>` to unpinned references. Pins given by build args
/// are not in the file: they become notes. Fails, changing nothing, if any
/// registry is unreachable or a reference cannot be found where it is written.
pub fn rewrite(source: &str, reports: &[PinReport]) -> Result<Rewrite> {
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
    let mut result = Rewrite::default();
    // One ARG default may feed several FROMs: each place is rewritten once.
    let mut done = std::collections::BTreeSet::new();
    for report in reports {
        let base = &report.base;
        let current = match &report.state {
            PinState::Stale { current } | PinState::Unpinned { current } => current,
            _ => continue,
        };
        if base.overridden {
            let note = format!(
                "{} comes from a build arg (--build-arg or .xtask/build-args), not the Dockerfile: \
                 pin it there as {}@{current}",
                name_tag(&base.image),
                base.image.name()
            );
            if !result.notes.contains(&note) {
                result.notes.push(note);
            }
            continue;
        }
        if !done.insert(base.defined_line) {
            continue;
        }
        let index = base.defined_line - 1;
        let Some(line) = lines.get_mut(index) else { continue };
        let before = line.clone();
        let changed = match base.image.sha256() {
            Some(old) => {
                line.contains(old).then(|| line.replace(old, current.trim_start_matches("sha256:")))
            }
            None => base.written.as_deref().map_or_else(
                || Err(not_written_whole(base, current)),
                |written| Ok(append_digest(line, written, current)),
            )?,
        };
        let Some(changed) = changed else {
            return Err(usage(format!(
                "cannot find the reference of {} on line {}; nothing was changed",
                name_tag(&base.image),
                base.defined_line
            )));
        };
        *line = changed;
        if *line != before {
            result.edits.push((
                base.defined_line,
                before.trim_end().to_string(),
                line.trim_end().to_string(),
            ));
        }
    }
    result.text = lines.concat();
    Ok(result)
}

fn not_written_whole(base: &BaseImage, current: &str) -> anyhow::Error {
    usage(format!(
        "cannot pin {} on line {}: its reference is put together from several parts \
         (ARGs or text around them), so there is no one place to add the digest; \
         nothing was changed\n  pin it by hand: {}@{current}",
        name_tag(&base.image),
        base.defined_line,
        name_tag(&base.image)
    ))
}

/// `written` followed by `@<digest>` in `line`, where `written` stands alone
/// (not the prefix of a longer reference); `None` if it does not.
fn append_digest(line: &str, written: &str, digest: &str) -> Option<String> {
    let part_of_reference = |c: char| c.is_ascii_alphanumeric() || "._-/:@$".contains(c);
    let mut from = 0;
    while let Some(found) = line[from..].find(written) {
        let end = from + found + written.len();
        if !line[end..].starts_with(part_of_reference) {
            return Some(format!("{}@{digest}{}", &line[..end], &line[end..]));
        }
        from = end;
    }
    None
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
        let done = rewrite(&src, &reports).unwrap();
        assert_eq!(done.text, src.replace(OLD, NEW));
        assert_eq!(done.edits.len(), 1);
        assert_eq!(done.edits[0].0, 2);
    }

    #[test]
    fn a_stale_arg_shared_by_two_froms_is_rewritten_once() {
        let src =
            format!("ARG BASE=python:3.12@sha256:{OLD}\nFROM ${{BASE}} AS a\nFROM ${{BASE}}\n");
        let reports: Vec<PinReport> = bases(&src, &[])
            .unwrap()
            .into_iter()
            .map(|base| PinReport {
                base,
                state: PinState::Stale { current: format!("sha256:{NEW}") },
            })
            .collect();
        assert_eq!(reports.len(), 2);
        let done = rewrite(&src, &reports).unwrap();
        assert_eq!((done.text, done.edits.len()), (src.replace(OLD, NEW), 1));
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

    fn unpinned(src: &str) -> Result<Rewrite> {
        let reports: Vec<PinReport> = bases(src, &[])
            .unwrap()
            .into_iter()
            .map(|base| PinReport {
                base,
                state: PinState::Unpinned { current: format!("sha256:{NEW}") },
            })
            .collect();
        rewrite(src, &reports)
    }

    #[test]
    fn rewrite_pins_an_unpinned_base_where_it_is_written() {
        let src = "FROM 127.0.0.1:5000/x/python:3-bookworm AS b\nFROM b\n";
        let shared = "ARG BASE=python:3.12\nFROM ${BASE} AS one\nFROM $BASE\n";
        let done = unpinned(shared).unwrap();
        assert_eq!(
            done.text,
            shared.replace("=python:3.12", &format!("=python:3.12@sha256:{NEW}"))
        );
        assert_eq!(done.edits.len(), 1);
        let done = unpinned(src).unwrap();
        assert_eq!(done.text, src.replace("3-bookworm AS", &format!("3-bookworm@sha256:{NEW} AS")));
        let src = "ARG BASE=\"python:3.12\"\nFROM ${BASE}\n";
        assert_eq!(
            unpinned(src).unwrap().text,
            src.replace(":3.12\"", &format!(":3.12@sha256:{NEW}\""))
        );
        let message = unpinned("ARG TAG=3.12\nFROM python:${TAG}\n").unwrap_err().to_string();
        assert!(message.contains("put together from several parts"), "{message}");
        assert!(message.contains(&format!("python:3.12@sha256:{NEW}")), "{message}");
    }

    #[test]
    fn the_refusal_names_update_pins_when_it_can_fix_it() {
        let found = bases("FROM python:3.12\n", &[]).unwrap();
        let message = require_pinned(Utf8Path::new("Dockerfile"), &found).unwrap_err().to_string();
        assert!(message.contains("--update-pins"), "{message}");
        let found = bases("ARG T=3.12\nFROM python:$T\n", &[]).unwrap();
        let message = require_pinned(Utf8Path::new("Dockerfile"), &found).unwrap_err().to_string();
        assert!(
            !message.contains("--update-pins") && message.contains("--check-pins"),
            "{message}"
        );
    }
}
