//! This project's own rules (`SCY`), from the invariants the upstream image relies on:
//! digest-pinned bases, cache-friendly dependency layers, a non-root final stage
//! with a health check, exact global npm pins and no download-and-execute. Secret
//! names (SCY007) are in [`super::secrets`], the context check (SCY008) in
//! `context_check`.

use std::collections::BTreeMap;

use crate::dockerfile::{expand, Base};

use super::super::facts::Facts;
use super::super::findings::Findings;
use super::super::shell::{Command, Script};
use super::install::operands;
use super::languages::as_pip;
use super::structure;

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    pinned_bases(facts, out);
    dependencies_before_sources(facts, out);
    final_stage(facts, out);
    for (index, script) in facts.runs() {
        global_npm_pins(facts, out, index, script);
        download_and_execute(facts, out, index, script);
    }
}

fn pinned_bases(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    for from in &facts.resolved {
        let index = d.stages.get(from.stage_index).map_or(0, |s| s.instruction_index);
        let via = from
            .args
            .iter()
            .filter_map(|a| a.line.map(|line| format!("ARG {} on line {line}", a.name)))
            .collect::<Vec<_>>();
        let via =
            if via.is_empty() { String::new() } else { format!(" (from {})", via.join(", ")) };
        let message = match &from.base {
            Base::Image(image) if !image.is_pinned() => format!(
                "{image}{via} is not pinned: \
                 append @sha256:<digest> so the build cannot change under you"
            ),
            Base::Invalid(_) if from.args.iter().any(|a| a.value.is_none()) => format!(
                "{} has no value without build args{via}: \
                 give the ARG a default pinned by @sha256 digest",
                from.raw
            ),
            _ => continue,
        };
        out.report_at("SCY001", index, message);
    }
}

const MANIFESTS: &[&str] = &[
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.toml",
    "Cargo.lock",
    "go.mod",
    "go.sum",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
    "README.md",
    "README.rst",
    "LICENSE",
];

fn is_manifest(source: &str) -> bool {
    let name = source.trim_end_matches('/').rsplit('/').next().unwrap_or(source);
    MANIFESTS.contains(&name) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

/// A command that installs dependencies from manifests (not the project itself with --no-deps).
fn installs_dependencies(command: &Command) -> bool {
    if let Some(pip) = as_pip(command) {
        return pip.subcommand() == Some("install") && !pip.has_any(&["--no-deps"]);
    }
    let sub = command.subcommand();
    match command.program() {
        "npm" => {
            matches!(sub, Some("ci"))
                || (matches!(sub, Some("install" | "i")) && operands(command, &[]).is_empty())
        }
        "yarn" | "pnpm" | "bundle" | "composer" | "pipenv" | "poetry" => {
            matches!(sub, None | Some("install"))
        }
        "uv" => {
            matches!(sub, Some("sync")) || (sub == Some("pip") && command.has_any(&["install"]))
        }
        "cargo" => matches!(sub, Some("fetch" | "build")),
        "go" => sub == Some("mod") && command.has_any(&["download"]),
        _ => false,
    }
}

fn dependencies_before_sources(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    for stage in &d.stages {
        let mut source_copy: Option<usize> = None;
        for index in stage.instruction_index..stage.end_index.min(d.instructions.len()) {
            let instruction = &d.instructions[index];
            if matches!(instruction.keyword.as_str(), "COPY" | "ADD")
                && instruction.flag("from").is_none()
            {
                let spec = facts.copy_at(index);
                let copies_sources =
                    spec.is_some_and(|s| s.sources.iter().any(|s| !is_manifest(&s.text)));
                if copies_sources && source_copy.is_none() {
                    source_copy = Some(instruction.line);
                }
            }
            let Some(copied_at) = source_copy else { continue };
            let Some(script) = facts.scripts.get(index).and_then(Option::as_ref) else { continue };
            if let Some(command) = script.commands.iter().find(|c| installs_dependencies(c)) {
                let at = facts.command_position(index, command);
                let message = format!(
                    "dependencies are installed after the source COPY on line {copied_at}, \
                     so any source change reinstalls them: \
                     copy the manifests, install, then copy the source"
                );
                out.report("SCY002", Some(index), at, message);
            }
        }
    }
}

fn final_stage(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    let Some(last) = d.final_stage() else { return };
    let range = last.instruction_index..last.end_index.min(d.instructions.len());
    let find_last =
        |keyword: &str| range.clone().rev().find(|&i| d.instructions[i].keyword == keyword);
    let user = find_last("USER");
    let root = user.map_or(true, |i| {
        d.instructions[i].words().first().map_or(true, |w| structure::is_root(&w.value))
    });
    if root {
        let index = user.unwrap_or(last.instruction_index);
        out.report_at(
            "SCY003",
            index,
            "the final stage runs as root: add a non-root USER before CMD/ENTRYPOINT".into(),
        );
    } else if let Some(user) = user {
        let after = ["ENTRYPOINT", "CMD", "HEALTHCHECK"]
            .iter()
            .filter_map(|k| find_last(k))
            .filter(|&i| i < user)
            .min();
        if let Some(first) = after {
            let message = format!(
                "USER comes after {} on line {}; set the runtime USER before it",
                d.instructions[first].keyword, d.instructions[first].line
            );
            out.report_at("SCY003", user, message);
        }
    }
    // The image's probe, inherited from the stage it builds on too (as `healthcheck
    // --static` reads it): a HEALTHCHECK there is in the final image.
    let health = d.healthchecks_of(last.index).last().copied();
    let disabled = health.is_some_and(|i| {
        d.instructions[i].words().first().is_some_and(|w| w.value.eq_ignore_ascii_case("none"))
    });
    if health.is_none() || disabled {
        let index = health.unwrap_or(last.instruction_index);
        let message = "the final stage has no HEALTHCHECK: \
                       add one so the engine can tell when the container is broken";
        out.report_at("SCY004", index, message.into());
    }
}

fn is_exact_version(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn exact_npm_pin(package: &str) -> bool {
    let at = match package.strip_prefix('@') {
        Some(rest) => rest.find('@').map(|i| i + 1),
        None => package.find('@'),
    };
    at.is_some_and(|i| is_exact_version(&package[i + 1..]))
}

fn global_npm_pins(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script) {
    for command in &script.commands {
        let global = match command.program() {
            "npm" => {
                matches!(command.subcommand(), Some("install" | "i" | "add"))
                    && command.has_any(&["-g", "--global", "--location=global"])
            }
            "pnpm" => command.subcommand() == Some("add") && command.has_any(&["-g", "--global"]),
            "yarn" => command.subcommand() == Some("global"),
            _ => false,
        };
        if !global {
            continue;
        }
        let mut packages = operands(command, &["--prefix", "--registry"]);
        if command.program() == "yarn" {
            packages.retain(|p| *p != "add");
        }
        let variables = facts.dockerfile.variables_at(index, &BTreeMap::new());
        let lookup = |name: &str| variables.get(name).cloned();
        let loose: Vec<&str> = packages
            .into_iter()
            .filter(|p| match expand(p, '\\', &lookup) {
                Ok(e) if e.unset.is_empty() => !exact_npm_pin(&e.value),
                _ => false,
            })
            .collect();
        if !loose.is_empty() {
            let at = facts.command_position(index, command);
            let message = format!(
                "global npm packages must be pinned to an exact version (name@1.2.3): {}",
                loose.join(" ")
            );
            out.report("SCY005", Some(index), at, message);
        }
    }
}

const INTERPRETERS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ash", "ksh", "python", "python3", "perl", "ruby", "node", "php",
];

fn download_and_execute(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script) {
    let downloads = |c: &Command| matches!(c.program(), "curl" | "wget" | "fetch");
    for pair in script.commands.windows(2) {
        let runs_it = INTERPRETERS.contains(&pair[1].program())
            || (pair[1].program() == "sudo"
                && pair[1].args().first().is_some_and(|a| INTERPRETERS.contains(&a.as_str())));
        if downloads(&pair[0]) && pair[0].pipes_into_next && runs_it {
            let at = facts.command_position(index, &pair[0]);
            let message = format!(
                "{} output is piped into {}: download to a file, verify its checksum, then run it",
                pair[0].program(),
                pair[1].program()
            );
            out.report("SCY006", Some(index), at, message);
            return;
        }
    }
    let substituted = script.commands.iter().find(|c| {
        INTERPRETERS.contains(&c.program())
            && c.args().iter().any(|a| {
                ["$(curl", "$(wget", "<(curl", "<(wget", "`curl", "`wget"]
                    .iter()
                    .any(|p| a.contains(p))
            })
    });
    if let Some(command) = substituted {
        let at = facts.command_position(index, command);
        let message = format!(
            "{} runs a script straight from a download: \
             fetch it to a file and verify its checksum first",
            command.program()
        );
        out.report("SCY006", Some(index), at, message);
    }
}
