//! Rules about general commands in `RUN` scripts: cd, sudo, interactive tools,
//! downloads, pipes and the shell.

use std::collections::HashMap;

use crate::dockerfile::Instruction;

use super::super::facts::{effective, Facts};
use super::super::findings::Findings;
use super::super::shell::{Command, Script};
use super::structure;

const POINTLESS: &[&str] =
    &["ssh", "vim", "shutdown", "service", "ps", "free", "top", "kill", "mount", "ifconfig"];

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let shells = facts.per_stage_state(None, |shell, index, instruction| {
        if instruction.keyword == "SHELL" {
            *shell = Some(index);
        }
    });
    let mut seen_curl = false;
    let mut seen_wget = false;
    for (index, script) in facts.runs() {
        once(
            facts,
            out,
            index,
            script,
            |c| POINTLESS.contains(&c.program()),
            "DL3001",
            |c| format!("`{}` has nothing to act on while an image builds", c.program()),
        );
        once(
            facts,
            out,
            index,
            script,
            |c| c.program() == "cd",
            "DL3003",
            |_| "cd lasts only for this RUN; set the directory with WORKDIR".to_string(),
        );
        once(
            facts,
            out,
            index,
            script,
            |c| c.program() == "sudo",
            "DL3004",
            |_| "sudo in a build: switch with USER (or run the step as root) instead".to_string(),
        );
        once(facts, out, index, script, high_uid_without_l, "DL3046", |_| {
            "useradd with a high UID writes a huge sparse lastlog; add -l (--no-log-init)"
                .to_string()
        });
        once(facts, out, index, script, noisy_wget, "DL3047", |_| {
            "wget prints a progress line per chunk in build logs; \
             add -q, -nv or --progress=dot:giga"
                .to_string()
        });
        once(facts, out, index, script, replaces_bin_sh, "DL4005", |_| {
            "linking over /bin/sh changes the shell behind Docker's back; use the SHELL instruction"
                .to_string()
        });
        let uses_curl = script.mentions("curl");
        let uses_wget = script.mentions("wget");
        if (uses_curl && (seen_wget || uses_wget)) || (uses_wget && seen_curl) {
            let message = "both curl and wget are used; install and use only one".to_string();
            out.report_at("DL4001", index, message);
        }
        seen_curl |= uses_curl;
        seen_wget |= uses_wget;
        pipefail(facts, out, index, script, shells.get(index).copied().flatten());
    }
    archives_unpacked_after_copy(facts, out);
}

/// Reports `code` at the first command matching `test`, at most once per RUN.
#[allow(clippy::too_many_arguments)]
fn once(
    facts: &Facts<'_>,
    out: &mut Findings<'_>,
    index: usize,
    script: &Script,
    test: impl Fn(&Command) -> bool,
    code: &'static str,
    message: impl Fn(&Command) -> String,
) {
    if let Some(command) = script.commands.iter().find(|c| test(c)) {
        let at = facts.command_position(index, command);
        out.report(code, Some(index), at, message(command));
    }
}

/// The value of an option given as `-x V`, `-xV`, `--long V` or `--long=V`.
pub(crate) fn option_value<'a>(command: &'a Command, short: &str, long: &str) -> Option<&'a str> {
    let args = command.args();
    for (i, arg) in args.iter().enumerate() {
        if arg == short || arg == long {
            return args.get(i + 1).map(String::as_str);
        }
        if let Some(value) = arg.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
            return Some(value);
        }
        if short.len() == 2 && arg.starts_with(short) && !arg.starts_with("--") && arg.len() > 2 {
            return Some(&arg[2..]);
        }
    }
    None
}

fn high_uid_without_l(command: &Command) -> bool {
    if command.program() != "useradd" || command.has_option('l', &["--no-log-init"]) {
        return false;
    }
    option_value(command, "-u", "--uid")
        .is_some_and(|uid| uid.parse::<u64>().is_ok_and(|n| n > 99_999))
}

fn noisy_wget(command: &Command) -> bool {
    command.program() == "wget"
        && !command.has_option('q', &["--quiet", "-nv", "--no-verbose"])
        && !command.args().iter().any(|a| a.starts_with("--progress") || a == "-nv")
}

fn replaces_bin_sh(command: &Command) -> bool {
    command.program() == "ln" && command.args().last().is_some_and(|a| a == "/bin/sh")
}

/// Whether the SHELL in force already sets pipefail or is not POSIX.
fn shell_handles_pipes(shell: Option<&Instruction>) -> bool {
    let Some(items) = shell.and_then(|s| s.json.as_ref()) else { return false };
    let program = items.first().map_or("", |p| p.rsplit(['/', '\\']).next().unwrap_or(p));
    let posix = ["sh", "bash", "ash", "dash", "zsh", "ksh"].contains(&program);
    !posix
        || items.windows(2).any(|w| w[0] == "-o" && w[1] == "pipefail")
        || items.iter().any(|i| i.contains("pipefail"))
}

fn pipefail(
    facts: &Facts<'_>,
    out: &mut Findings<'_>,
    index: usize,
    script: &Script,
    shell: Option<usize>,
) {
    let run = effective(&facts.dockerfile.instructions[index]);
    let exec_form = run.json.as_ref().is_some_and(|j| j.get(1).map(String::as_str) != Some("-c"));
    if exec_form
        || !script.has_pipe()
        || shell_handles_pipes(shell.and_then(|s| facts.dockerfile.instructions.get(s)))
    {
        return;
    }
    let first_pipe = script.commands.iter().position(|c| c.pipes_into_next).unwrap_or(0);
    let set_before = script.commands[..first_pipe]
        .iter()
        .any(|c| c.program() == "set" && c.args().iter().any(|a| a == "pipefail"));
    if !set_before {
        let at = facts.command_position(index, &script.commands[first_pipe]);
        let message = "a pipe hides the failure of its left side: \
                       start with `set -o pipefail &&` \
                       or set SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]"
            .to_string();
        out.report("DL4006", Some(index), at, message);
    }
}

/// `COPY x.tar.gz /dst` followed in the same stage by a RUN that unpacks it.
fn archives_unpacked_after_copy(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let d = facts.dockerfile;
    // (stage, archive file name) -> the last RUN of the stage that unpacks it.
    let mut unpacked: HashMap<(Option<usize>, &str), usize> = HashMap::new();
    for (index, script) in facts.runs() {
        let unpackers = script
            .commands
            .iter()
            .filter(|c| matches!(c.program(), "tar" | "unzip" | "gunzip" | "bsdtar"));
        for arg in unpackers.flat_map(|c| c.args()) {
            let name = arg.rsplit('/').next().unwrap_or(arg);
            unpacked.insert((d.stage_of(index), name), index);
        }
    }
    for spec in facts.copies.iter().filter(|c| c.keyword == "COPY" && c.from.is_none()) {
        for source in spec.sources.iter().filter(|s| structure::is_archive(&s.text)) {
            let name = source.text.rsplit('/').next().unwrap_or(&source.text);
            let later = unpacked.get(&(spec.stage_index, name));
            if later.is_some_and(|&run| run > spec.instruction_index) {
                let message = format!(
                    "{} is copied and then unpacked; ADD unpacks a local archive in one layer",
                    source.text
                );
                out.report("DL3010", Some(spec.instruction_index), source.position, message);
            }
        }
    }
}
