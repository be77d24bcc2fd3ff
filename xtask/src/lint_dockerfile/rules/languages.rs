//! Rules about language package managers in `RUN` scripts: pip, npm, yarn, gem and go.

use super::commands::option_value;
use super::packages::{first, has_cache_mount, is_install, report_first, unpinned};
use super::shell::{Command, Script};
use super::{effective, Lint};

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
    let module = command.args().windows(2).position(|w| w[0] == "-m" && w[1] == "pip")?;
    if !python {
        return None;
    }
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

pub(crate) fn pip(lint: &mut Lint<'_>, index: usize, script: &Script, no_cache_env: bool) {
    let run = effective(&lint.dockerfile.instructions[index]);
    let pips: Vec<Command> = script
        .commands
        .iter()
        .filter_map(as_pip)
        .filter(|c| c.subcommand() == Some("install"))
        .collect();
    let pip_script = Script { commands: pips, chained: 0 };
    let (at, names) = unpinned(&pip_script, |_| true, PIP_VALUED, pip_pinned);
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3013",
        format!(
            "pin pip packages as name==version (or install from a requirements file): {}",
            names.join(" ")
        ),
    );
    let cache_off = no_cache_env || has_cache_mount(run, "pip");
    let cached = pip_script.commands.iter().find(|c| !c.has_any(&["--no-cache-dir"]));
    if !cache_off {
        report_first(
            lint,
            index,
            cached,
            "DL3042",
            "pip keeps its download cache in the layer; add --no-cache-dir".into(),
        );
    }
}

/// For each instruction, whether an ENV or ARG earlier in its stage sets `name` to a
/// non-empty value.
pub(crate) fn env_set_in_stage(lint: &Lint<'_>, name: &str) -> Vec<bool> {
    lint.per_stage_state(false, |set, _, instruction| {
        if matches!(instruction.keyword.as_str(), "ENV" | "ARG") {
            let sets = instruction
                .key_values()
                .iter()
                .any(|(k, v, _)| k == name && v.as_deref().is_some_and(|v| !v.is_empty()));
            *set |= sets;
        }
    })
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

pub(crate) fn node_ruby_go(lint: &mut Lint<'_>, index: usize, script: &Script) {
    let npm_install = |c: &Command| is_install(c, "npm", &["install", "i", "add", "isntall", "in"]);
    let (at, names) = unpinned(script, npm_install, NPM_VALUED, npm_pinned);
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3016",
        format!("pin npm packages as name@version: {}", names.join(" ")),
    );
    let yarn = first(script, |c| {
        c.program() == "yarn" && matches!(c.subcommand(), None | Some("install"))
    });
    let yarn_cleaned = script.commands.iter().any(|c| {
        c.program() == "yarn"
            && c.subcommand() == Some("cache")
            && c.args().iter().any(|a| a == "clean")
    });
    if !yarn_cleaned {
        report_first(
            lint,
            index,
            yarn,
            "DL3060",
            "yarn install without `yarn cache clean` leaves its cache in the layer".into(),
        );
    }
    let gem = |c: &Command| {
        is_install(c, "gem", &["install", "i"]) && option_value(c, "-v", "--version").is_none()
    };
    let (at, names) =
        unpinned(script, gem, &["-i", "--install-dir", "-n", "--bindir", "-s", "--source"], |p| {
            p.contains(':')
        });
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3028",
        format!("pin gems as name:version or with -v: {}", names.join(" ")),
    );
    let go = |c: &Command| is_install(c, "go", &["install"]);
    let (at, names) = unpinned(script, go, &["-o", "-tags", "-ldflags", "-gcflags", "-mod"], |p| {
        p.contains('@') || p.starts_with(['.', '/'])
    });
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3062",
        format!("pin go install targets as path@version: {}", names.join(" ")),
    );
}
