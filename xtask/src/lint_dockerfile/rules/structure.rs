//! Rules about instructions and stages (no shell involved).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::dockerfile::{Base, ImageRef, Instruction, SourceKind};

use super::super::facts::{effective, Facts};
use super::super::findings::Findings;

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    for (index, outer) in d.instructions.iter().enumerate() {
        let instruction = effective(outer);
        match instruction.keyword.as_str() {
            "WORKDIR" => workdir(out, index, instruction),
            "EXPOSE" => expose(out, index, instruction),
            "ADD" => add(facts, out, index, instruction),
            "CMD" | "ENTRYPOINT" if !instruction.is_json() && !instruction.args.is_empty() => {
                let message = format!(
                    "{} in shell form runs under /bin/sh -c, which does not forward signals; \
                     write it as a JSON array",
                    instruction.keyword
                );
                out.report_at("DL3025", index, message);
            }
            "ENV" => env_self_reference(out, index, instruction),
            "LABEL" => label_keys(out, index, instruction),
            "USER" if outer.onbuild.is_none() => user_by_name(out, index, instruction),
            "MAINTAINER" => out.report_at(
                "DL4000",
                index,
                "MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors=...".into(),
            ),
            _ => {}
        }
    }
    froms(facts, out);
    copies(facts, out);
    per_stage(facts, out);
    for comment in d.comments.iter().filter(|c| c.text.starts_with("hadolint")) {
        let at = crate::dockerfile::Position { line: comment.line, column: comment.column };
        out.report("DL1001", None, at, "inline pragma: prefer the configuration file".into());
    }
}

fn workdir(out: &mut Findings<'_>, index: usize, instruction: &Instruction) {
    let path = instruction.words().first().map_or("", |w| w.value.as_str());
    let windows = path.len() >= 2 && path.as_bytes()[1] == b':';
    if !(path.starts_with('/') || path.starts_with('$') || windows || path.is_empty()) {
        let message = format!(
            "WORKDIR {path} is relative; its meaning depends on the previous WORKDIR, \
             use an absolute path"
        );
        out.report_at("DL3000", index, message);
    }
}

fn expose(out: &mut Findings<'_>, index: usize, instruction: &Instruction) {
    for word in instruction.words() {
        let port = word.value.split('/').next().unwrap_or("");
        let in_range = |p: &str| p.parse::<u64>().map_or(true, |n| n <= 65535);
        let valid = port.contains('$') || port.split('-').all(in_range);
        if !valid {
            let message = format!("port {} is outside 0-65535", word.value);
            out.report("DL3011", Some(index), word.position, message);
        }
    }
}

const ARCHIVES: &[&str] = &[
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".gz", ".bz2",
    ".xz",
];

pub(crate) fn is_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    ARCHIVES.iter().any(|a| lower.ends_with(a))
}

fn add(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, instruction: &Instruction) {
    let Some(spec) = facts.copy_at(index) else {
        return;
    };
    if instruction.flag("checksum").is_some() || instruction.flag("keep-git-dir").is_some() {
        return;
    }
    let plain = spec.sources.iter().any(|s| s.kind == SourceKind::Path && !is_archive(&s.text));
    let all_local = spec.sources.iter().all(|s| s.kind != SourceKind::Url);
    if plain && all_local {
        let message = "ADD of local files: use COPY, which does only that \
                       (ADD also fetches URLs and unpacks archives)";
        out.report_at("DL3020", index, message.into());
    }
}

/// DL3044: a `$NAME` in an ENV value refers to a NAME set earlier in the same ENV,
/// which still has its previous value there. Linear in the instruction's length.
fn env_self_reference(out: &mut Findings<'_>, index: usize, instruction: &Instruction) {
    let legacy = instruction.words().first().is_some_and(|w| !w.value.contains('='));
    if legacy {
        return;
    }
    let mut defined: HashSet<&str> = HashSet::new();
    for word in instruction.words() {
        let Some((name, raw_value)) = word.raw.split_once('=') else { continue };
        let mut reported: HashSet<&str> = HashSet::new();
        for referenced in referenced_names(raw_value) {
            if defined.contains(referenced) && reported.insert(referenced) {
                let message = format!(
                    "{referenced} is set in this same ENV, \
                     so ${referenced} here still has its previous value; split the ENV"
                );
                out.report("DL3044", Some(index), word.position, message);
            }
        }
        defined.insert(name);
    }
}

/// The names of the `$NAME` and `${NAME...}` references in a raw value.
fn referenced_names(raw: &str) -> impl Iterator<Item = &str> {
    raw.match_indices('$').filter_map(move |(at, _)| {
        let rest = &raw[at + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        let end =
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn label_keys(out: &mut Findings<'_>, index: usize, instruction: &Instruction) {
    for (key, _, position) in instruction.key_values() {
        let valid = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !key.contains("..")
            && !key.contains("--");
        if !valid {
            let message = format!(
                "label key {key:?}: \
                 use lowercase letters, digits, dots and dashes, starting with a letter"
            );
            out.report("DL3048", Some(index), position, message);
        }
    }
}

fn froms(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    let resolved = &facts.resolved;
    for (stage, from) in d.stages.iter().zip(resolved) {
        let index = stage.instruction_index;
        reserved_stage_name(out, index, &d.instructions[index]);
        if matches!(stage.platform.as_deref(), Some("$TARGETPLATFORM" | "${TARGETPLATFORM}")) {
            let message =
                "FROM --platform=$TARGETPLATFORM says what the build does anyway; drop the flag"
                    .into();
            out.report_at("DL3065", index, message);
        }
        if let Some(platform) = &stage.platform {
            if !platform.contains('$') {
                let message = format!(
                    "FROM --platform={platform} fixes the platform; \
                     leave it to the build or use $BUILDPLATFORM/$TARGETPLATFORM"
                );
                out.report_at("DL3029", index, message);
            }
        }
        let Base::Image(image) = &from.base else { continue };
        if stage.base.contains('$') && from.args.iter().any(|a| a.value.is_none()) {
            continue;
        }
        tags(out, index, image);
        let trusted = &facts.options.trusted_registries;
        if !trusted.is_empty() && !trusted.iter().any(|r| registry_matches(r, image)) {
            let message = format!(
                "{image} comes from {}, which is not a trusted registry",
                image.registry_host()
            );
            out.report_at("DL3026", index, message);
        }
    }
}

/// DL3063: `scratch` and `context` mean something else to the engine.
fn reserved_stage_name(out: &mut Findings<'_>, index: usize, from: &Instruction) {
    let mut words = from.words().iter().skip_while(|w| !w.value.eq_ignore_ascii_case("as"));
    let Some(name) = words.nth(1) else { return };
    if matches!(name.value.as_str(), "scratch" | "context") {
        let message = format!(
            "stage name {} is a reserved word (the empty image or the build context); pick another",
            name.value
        );
        out.report("DL3063", Some(index), name.position, message);
    }
}

/// DL3066: a user name needs the image's /etc/passwd; a numeric uid does not.
fn user_by_name(out: &mut Findings<'_>, index: usize, instruction: &Instruction) {
    let Some(word) = instruction.words().first() else { return };
    let user = word.value.split(':').next().unwrap_or("");
    if !user.bytes().all(|b| b.is_ascii_digit()) {
        let message = format!(
            "USER {} names the user; a numeric uid (USER 1000) works without looking it up",
            word.value
        );
        out.report("DL3066", Some(index), word.position, message);
    }
}

fn tags(out: &mut Findings<'_>, index: usize, image: &ImageRef) {
    if image.digest.is_some() {
        return;
    }
    match image.tag.as_deref() {
        None => out.report_at(
            "DL3006",
            index,
            format!("{image} has no tag, so it means :latest; name a version"),
        ),
        Some("latest") => out.report_at(
            "DL3007",
            index,
            format!("{image} follows :latest and changes under you; name a version"),
        ),
        Some(_) => {}
    }
}

fn registry_matches(trusted: &str, image: &ImageRef) -> bool {
    let host = image.registry_host();
    let trusted = trusted.trim();
    match trusted.strip_prefix("*.") {
        Some(suffix) => host.ends_with(&format!(".{suffix}")),
        None => trusted == host || (trusted == "docker.io" && host == "index.docker.io"),
    }
}

fn copies(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    let mut first_named: HashMap<&str, usize> = HashMap::new();
    for stage in &d.stages {
        if let Some(name) = stage.name.as_deref() {
            first_named.entry(name).or_insert(stage.index);
        }
    }
    for spec in &facts.copies {
        let index = spec.instruction_index;
        if spec.keyword == "COPY" && spec.sources.len() > 1 && !spec.destination.ends_with('/') {
            let message = format!(
                "COPY of {} sources needs a directory destination ending in /: {}/",
                spec.sources.len(),
                spec.destination
            );
            out.report_at("DL3021", index, message);
        }
        let Some(from) = spec.from.as_deref() else { continue };
        let whole_tree = spec.sources.iter().any(|s| s.text == "/") && spec.destination == "/";
        if spec.keyword == "COPY" && !spec.onbuild && whole_tree {
            let message = format!(
                "COPY --from={from} / / copies a whole file system over this stage; \
                 copy only what it needs"
            );
            out.report_at("DL3067", index, message);
        }
        let own = spec.stage_index.and_then(|i| d.stages.get(i));
        let names_own = |s: &crate::dockerfile::Stage| {
            s.name.as_deref() == Some(from.to_ascii_lowercase().as_str())
                || s.index.to_string() == from
        };
        if own.is_some_and(names_own) {
            out.report_at("DL3023", index, format!("COPY --from={from} names the stage it is in"));
            continue;
        }
        let current = spec.stage_index.unwrap_or(0);
        let by_name = first_named.get(from.to_ascii_lowercase().as_str());
        let earlier = by_name.is_some_and(|&i| i < current)
            || from.parse::<usize>().is_ok_and(|i| i < current);
        let image_like = from.contains([':', '/', '@', '$']);
        if !earlier && !image_like {
            let message = format!(
                "COPY --from={from} names no earlier stage; it would be pulled as an image"
            );
            out.report_at("DL3022", index, message);
        }
    }
}

/// Whether a USER value means root.
pub(crate) fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user);
    name == "root" || name == "0"
}

fn per_stage(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    let resolved = &facts.resolved;
    let mut has_workdir = vec![false; d.stages.len()];
    for stage in &d.stages {
        if let Some(Base::Stage(parent)) = resolved.get(stage.index).map(|r| &r.base) {
            has_workdir[stage.index] = has_workdir.get(*parent).copied().unwrap_or(false);
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut previous_run: Option<usize> = None;
        for index in stage.instruction_index..stage.end_index.min(d.instructions.len()) {
            let instruction = &d.instructions[index];
            let keyword = instruction.keyword.as_str();
            let count = counts.entry(keyword).or_default();
            *count += 1;
            let repeated = match keyword {
                "HEALTHCHECK" => {
                    Some(("DL3012", "a second HEALTHCHECK in this stage replaces the first"))
                }
                "CMD" => {
                    Some(("DL4003", "a second CMD in this stage; only the last one takes effect"))
                }
                "ENTRYPOINT" => Some((
                    "DL4004",
                    "a second ENTRYPOINT in this stage; only the last one takes effect",
                )),
                _ => None,
            };
            if let (Some((code, message)), true) = (repeated, *count > 1) {
                out.report_at(code, index, message.into());
            }
            match keyword {
                "WORKDIR" => has_workdir[stage.index] = true,
                "COPY" | "ADD" => relative_destination(facts, out, index, has_workdir[stage.index]),
                "RUN" => consecutive_runs(facts, out, index, previous_run),
                _ => {}
            }
            previous_run = (keyword == "RUN").then_some(index);
        }
        if !counts.contains_key("HEALTHCHECK") {
            let message = "this stage defines no HEALTHCHECK".to_string();
            out.report_at("DL3057", stage.instruction_index, message);
        }
    }
    if let Some(last) = d.final_stage() {
        let mut users =
            d.stage_instructions(last).iter().enumerate().filter(|(_, i)| i.keyword == "USER");
        if let Some((offset, user)) = users.next_back() {
            if user.words().first().is_some_and(|w| is_root(&w.value)) {
                let message =
                    "the image runs as root: end the final stage with a non-root USER".to_string();
                out.report_at("DL3002", last.instruction_index + offset, message);
            }
        }
    }
}

fn relative_destination(
    facts: &Facts<'_>,
    out: &mut Findings<'_>,
    index: usize,
    has_workdir: bool,
) {
    let Some(spec) = facts.copy_at(index) else {
        return;
    };
    let dest = spec.destination.as_str();
    let absolute = dest.starts_with('/') || dest.starts_with('$') || dest.get(1..2) == Some(":");
    if !has_workdir && !absolute {
        let message = format!(
            "{} to relative {dest} before any WORKDIR: the directory depends on the base image",
            spec.keyword
        );
        out.report_at("DL3045", index, message);
    }
}

fn consecutive_runs(
    facts: &Facts<'_>,
    out: &mut Findings<'_>,
    index: usize,
    previous: Option<usize>,
) {
    let Some(previous) = previous else { return };
    let instructions = &facts.dockerfile.instructions;
    let single = |i: usize| {
        facts.scripts.get(i).and_then(Option::as_ref).is_some_and(|s| s.commands.len() == 1)
            && instructions[i].heredocs.is_empty()
    };
    if single(previous)
        && single(index)
        && flags_equal(&instructions[previous], &instructions[index])
    {
        let message =
            "consecutive RUN instructions each add a layer; join them with &&".to_string();
        out.report_at("DL3059", index, message);
    }
}

fn flags_equal(a: &Instruction, b: &Instruction) -> bool {
    let key = |i: &Instruction| {
        i.flags.iter().map(|f| (f.name.clone(), f.value.clone())).collect::<Vec<_>>()
    };
    key(a) == key(b)
}
