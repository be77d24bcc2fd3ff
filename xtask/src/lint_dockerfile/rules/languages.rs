//! Rules about language package managers in `RUN` scripts: pip, npm, yarn, gem and go.

use super::super::facts::{effective, Facts};
use super::super::findings::{listed, Findings};
use super::super::shell::{Command, Script};
use super::commands::option_value;
use super::install::{first, has_cache_mount, is_install, unpinned};

const PIP_VALUED: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--trusted-host",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--cache-dir",
    "--log",
    "--timeout",
    "--retries",
    "--proxy",
    "-C",
    "--config-settings",
    "--global-option",
    "--no-binary",
    "--only-binary",
    "--report",
];
const NPM_VALUED: &[&str] = &["--prefix", "--registry", "--tag", "-w", "--workspace", "--cache"];

/// pip, pip3, pip3.12 and `python -m pip` all count as pip.
pub(crate) fn as_pip(command: &Command) -> Option<Command> {
    let program = command.program();
    if program == "pip"
        || (program.starts_with("pip")
            && program[3..].chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        return Some(command.clone());
    }
    let python = program.starts_with("python")
        && program[6..].chars().all(|c| c.is_ascii_digit() || c == '.');
    if !python {
        return None;
    }
    let module = command.args().windows(2).position(|w| w[0] == "-m" && w[1] == "pip")?;
    let mut words = vec!["pip".to_string()];
    words.extend(command.args()[module + 2..].iter().cloned());
    let mut offsets = vec![command.offset];
    offsets.extend(command.offsets.get(module + 3..).unwrap_or(&[]));
    offsets.resize(words.len(), command.offset);
    Some(Command {
        words,
        offset: command.offset,
        offsets,
        pipes_into_next: command.pipes_into_next,
    })
}

fn pip_pinned(package: &str) -> bool {
    if let Some(pinned) = git_url_pinned(package, '@') {
        return pinned;
    }
    ["==", ">=", "<=", "~=", "!=", "<", ">", "@"].iter().any(|s| package.contains(s))
        || package.starts_with(['.', '/'])
        || package.contains("://")
        || [".whl", ".tar.gz", ".zip", ".tgz"].iter().any(|e| package.ends_with(e))
}

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let no_cache = facts.env_set_in_stage("PIP_NO_CACHE_DIR");
    for (index, script) in facts.runs() {
        let no_cache_env = no_cache.get(index).copied().unwrap_or(false);
        pip(facts, out, index, script, no_cache_env);
        node_ruby_go(facts, out, index, script);
    }
}

fn pip(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script, no_cache: bool) {
    let run = effective(&facts.dockerfile.instructions[index]);
    let pips: Vec<Command> = script
        .commands
        .iter()
        .filter_map(as_pip)
        .filter(|c| c.subcommand() == Some("install"))
        .collect();
    let (at, names) = unpinned(&pips, PIP_VALUED, pip_pinned);
    out.report_offset(facts, "DL3013", index, at, || {
        format!(
            "pin pip packages as name==version (or install from a requirements file): {}",
            listed(&names)
        )
    });
    let cache_off = no_cache || has_cache_mount(run, "pip");
    let cached = pips.iter().find(|c| !c.has_any(&["--no-cache-dir"]));
    if !cache_off {
        out.report_command(facts, "DL3042", index, cached, || {
            "pip keeps its download cache in the layer; add --no-cache-dir".into()
        });
    }
}

/// A git URL pins a version only with a ref (`#ref` for npm, `@ref` for pip).
fn git_url_pinned(package: &str, marker: char) -> Option<bool> {
    let git = ["git+", "git://", "github:", "gitlab:", "bitbucket:"]
        .iter()
        .any(|p| package.starts_with(p));
    git.then(|| package.split_once("://").map_or(package, |(_, rest)| rest).contains(marker))
}

fn npm_pinned(package: &str) -> bool {
    if let Some(pinned) = git_url_pinned(package, '#') {
        return pinned;
    }
    let name_end = match package.strip_prefix('@') {
        Some(rest) => rest.find('@').map(|i| i + 1),
        None => package.find('@'),
    };
    name_end.is_some_and(|i| i + 1 < package.len())
        || package.starts_with(['.', '/', '~'])
        || package.contains(':')
        || [".tgz", ".tar.gz"].iter().any(|e| package.ends_with(e))
}

fn node_ruby_go(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script) {
    let npm_install = |c: &Command| is_install(c, "npm", &["install", "i", "add", "isntall", "in"]);
    let npms = script.commands.iter().filter(|c| npm_install(c));
    let (at, names) = unpinned(npms, NPM_VALUED, npm_pinned);
    out.report_offset(facts, "DL3016", index, at, || {
        format!("pin npm packages as name@version: {}", listed(&names))
    });
    let yarn = first(script, |c| {
        c.program() == "yarn" && matches!(c.subcommand(), None | Some("install"))
    });
    let yarn_cleaned = script.commands.iter().any(|c| {
        c.program() == "yarn"
            && c.subcommand() == Some("cache")
            && c.args().iter().any(|a| a == "clean")
    });
    if !yarn_cleaned {
        out.report_command(facts, "DL3060", index, yarn, || {
            "yarn install without `yarn cache clean` leaves its cache in the layer".into()
        });
    }
    let gem = |c: &Command| {
        is_install(c, "gem", &["install", "i"]) && option_value(c, "-v", "--version").is_none()
    };
    let gems = script.commands.iter().filter(|c| gem(c));
    let gem_valued = ["-i", "--install-dir", "-n", "--bindir", "-s", "--source"];
    let (at, names) = unpinned(gems, &gem_valued, |p| p.contains(':'));
    out.report_offset(facts, "DL3028", index, at, || {
        format!("pin gems as name:version or with -v: {}", listed(&names))
    });
    let gos = script.commands.iter().filter(|c| is_install(c, "go", &["install"]));
    let go_valued = ["-o", "-tags", "-ldflags", "-gcflags", "-mod"];
    let (at, names) = unpinned(gos, &go_valued, |p| p.contains('@') || p.starts_with(['.', '/']));
    out.report_offset(facts, "DL3062", index, at, || {
        format!("pin go install targets as path@version: {}", listed(&names))
    });
}
