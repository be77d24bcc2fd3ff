//! Rules about system package managers in `RUN` scripts: apt, apk, yum, dnf and
//! zypper, and the helpers shared with the language package rules.

use std::collections::BTreeMap;

use crate::dockerfile::{Base, Instruction};

use super::shell::{Command, Script};
use super::{effective, Lint};

/// Options that take a value, per tool, so the value is not read as a package.
const APT_VALUED: &[&str] = &["-o", "-c", "-t", "--option", "--config-file", "--target-release"];
const APK_VALUED: &[&str] = &[
    "-X",
    "--repository",
    "-t",
    "--virtual",
    "-p",
    "--root",
    "--arch",
    "--cache-dir",
    "--keys-dir",
];
const RPM_VALUED: &[&str] = &[
    "--enablerepo",
    "--disablerepo",
    "--releasever",
    "--installroot",
    "-x",
    "--exclude",
    "--setopt",
];

/// The non-option arguments after the subcommand.
pub(crate) fn operands<'a>(command: &'a Command, valued: &[&str]) -> Vec<&'a str> {
    operands_at(command, valued).into_iter().map(|(_, operand)| operand).collect()
}

/// [`operands`] with each one's byte offset in the script.
pub(crate) fn operands_at<'a>(command: &'a Command, valued: &[&str]) -> Vec<(usize, &'a str)> {
    let mut out = Vec::new();
    let args = command.args();
    let offsets = command.offsets.get(1..).unwrap_or(&[]);
    let start = args.iter().position(|a| !a.starts_with('-')).map_or(args.len(), |i| i + 1);
    let mut skip = false;
    for (i, arg) in args.iter().enumerate().skip(start) {
        if std::mem::take(&mut skip) {
            continue;
        }
        if arg.starts_with('-') {
            skip = valued.contains(&arg.as_str());
            continue;
        }
        out.push((offsets.get(i).copied().unwrap_or(command.offset), arg.as_str()));
    }
    out
}

pub(crate) fn is_install(command: &Command, program: &str, verbs: &[&str]) -> bool {
    command.program() == program && command.subcommand().is_some_and(|s| verbs.contains(&s))
}

pub(crate) fn has_cache_mount(run: &Instruction, target: &str) -> bool {
    run.flags.iter().any(|f| {
        f.name == "mount"
            && f.value.as_deref().is_some_and(|v| v.contains("type=cache") && v.contains(target))
    })
}

pub(crate) fn check(lint: &mut Lint<'_>) {
    let no_cache = super::languages::env_set_in_stage(lint, "PIP_NO_CACHE_DIR");
    let runs: Vec<(usize, Script)> = lint.runs().map(|(i, s)| (i, s.clone())).collect();
    let kept = stages_kept(lint);
    for (index, script) in &runs {
        apt(lint, *index, script, kept.get(index).copied().unwrap_or(true));
        apk(lint, *index, script);
        rpm(lint, *index, script);
        zypper(lint, *index, script);
        let no_cache_env = no_cache.get(*index).copied().unwrap_or(false);
        super::languages::pip(lint, *index, script, no_cache_env);
        super::languages::node_ruby_go(lint, *index, script);
    }
}

/// Whether each instruction's stage ends up in an image (the final stage or a base of another).
fn stages_kept(lint: &Lint<'_>) -> BTreeMap<usize, bool> {
    let d = lint.dockerfile;
    let resolved = &lint.resolved;
    let bases: std::collections::HashSet<usize> = resolved
        .iter()
        .filter_map(|r| match r.base {
            Base::Stage(i) => Some(i),
            _ => None,
        })
        .collect();
    (0..d.instructions.len())
        .map(|i| {
            let kept =
                d.stage_of(i).map_or(true, |s| s + 1 == d.stages.len() || bases.contains(&s));
            (i, kept)
        })
        .collect()
}

pub(crate) fn first(script: &Script, test: impl Fn(&Command) -> bool) -> Option<&Command> {
    script.commands.iter().find(|c| test(c))
}

pub(crate) fn report_first(
    lint: &mut Lint<'_>,
    index: usize,
    command: Option<&Command>,
    code: &'static str,
    message: String,
) {
    if let Some(command) = command {
        let at = lint.command_position(index, command);
        lint.report(code, Some(index), at, message);
    }
}

/// The operands of matching commands that `pinned` rejects (variables are left alone),
/// and a command located at the first of them, for the finding's position.
pub(crate) fn unpinned<'a>(
    script: &'a Script,
    test: impl Fn(&Command) -> bool,
    valued: &[&str],
    pinned: impl Fn(&str) -> bool,
) -> (Option<Command>, Vec<&'a str>) {
    let mut found = None;
    let mut names = Vec::new();
    for command in script.commands.iter().filter(|c| test(c)) {
        for (offset, operand) in operands_at(command, valued) {
            if !pinned(operand) && !operand.contains('$') {
                found.get_or_insert_with(|| Command { offset, ..command.clone() });
                names.push(operand);
            }
        }
    }
    (found, names)
}

fn apt(lint: &mut Lint<'_>, index: usize, script: &Script, kept: bool) {
    let run = effective(&lint.dockerfile.instructions[index]);
    let install = |c: &Command| is_install(c, "apt-get", &["install"]);
    let (at, names) =
        unpinned(script, install, APT_VALUED, |p| p.contains('=') || p.ends_with(".deb"));
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3008",
        format!("pin apt packages as name=version: {}", names.join(" ")),
    );
    let no_yes = first(script, |c| {
        install(c)
            && !c.has_option('y', &["--yes", "--assume-yes"])
            && !c.has_any(&["-qq", "-q=2", "--quiet=2"])
    });
    report_first(
        lint,
        index,
        no_yes,
        "DL3014",
        "apt-get install without -y waits for an answer that never comes".into(),
    );
    let recommends = first(script, |c| {
        install(c)
            && !c.has_any(&["--no-install-recommends"])
            && !c.args().iter().any(|a| a.contains("Install-Recommends="))
    });
    report_first(
        lint,
        index,
        recommends,
        "DL3015",
        "add --no-install-recommends to keep recommended packages out of the image".into(),
    );
    let apt = first(script, |c| c.program() == "apt");
    report_first(
        lint,
        index,
        apt,
        "DL3027",
        "apt's interface is for people and may change; use apt-get or apt-cache".into(),
    );
    let update = first(script, |c| {
        matches!(c.program(), "apt-get" | "apt") && c.subcommand() == Some("update")
    });
    let cleaned = script.commands.iter().any(|c| {
        c.program() == "rm" && c.args().iter().any(|a| a.starts_with("/var/lib/apt/lists"))
    });
    if kept && !cleaned && !has_cache_mount(run, "/var/lib/apt") {
        report_first(
            lint,
            index,
            update,
            "DL3009",
            "apt lists stay in this layer; end the RUN with rm -rf /var/lib/apt/lists/*".into(),
        );
    }
}

fn apk(lint: &mut Lint<'_>, index: usize, script: &Script) {
    let run = effective(&lint.dockerfile.instructions[index]);
    let add = |c: &Command| is_install(c, "apk", &["add"]);
    let (at, names) = unpinned(script, add, APK_VALUED, |p| p.contains('=') || p.ends_with(".apk"));
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3018",
        format!("pin apk packages as name=version: {}", names.join(" ")),
    );
    let cached = first(script, |c| add(c) && !c.has_any(&["--no-cache"]));
    if !has_cache_mount(run, "/var/cache/apk") {
        report_first(
            lint,
            index,
            cached,
            "DL3019",
            "apk add without --no-cache leaves the index in the image".into(),
        );
    }
}

fn rpm_pinned(package: &str) -> bool {
    package.ends_with(".rpm")
        || package
            .char_indices()
            .any(|(i, c)| c == '-' && package[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
}

fn rpm(lint: &mut Lint<'_>, index: usize, script: &Script) {
    let verbs = ["install", "groupinstall", "localinstall", "reinstall"];
    for (program, yes, clean, pin) in [
        ("yum", "DL3030", "DL3032", "DL3033"),
        ("dnf", "DL3038", "DL3040", "DL3041"),
        ("microdnf", "DL3038", "DL3040", "DL3041"),
    ] {
        let install = |c: &Command| is_install(c, program, &verbs);
        let no_yes = first(script, |c| install(c) && !c.has_option('y', &["--assumeyes"]));
        report_first(
            lint,
            index,
            no_yes,
            yes,
            format!("{program} install without -y waits for an answer"),
        );
        let cleaned = script.commands.iter().any(|c| {
            (c.program() == program && c.subcommand() == Some("clean"))
                || (c.program() == "rm"
                    && c.args().iter().any(|a| a.starts_with(&format!("/var/cache/{program}"))))
        });
        if !cleaned {
            let at = first(script, install);
            report_first(
                lint,
                index,
                at,
                clean,
                format!(
                    "{program} install without `{program} clean all` leaves its cache in the layer"
                ),
            );
        }
        let (at, names) = unpinned(script, install, RPM_VALUED, rpm_pinned);
        report_first(
            lint,
            index,
            at.as_ref(),
            pin,
            format!("pin {program} packages as name-version: {}", names.join(" ")),
        );
    }
}

fn zypper(lint: &mut Lint<'_>, index: usize, script: &Script) {
    let install = |c: &Command| is_install(c, "zypper", &["install", "in"]);
    let interactive = first(script, |c| {
        install(c)
            && !c.has_option('n', &["--non-interactive", "-y", "--no-confirm"])
            && !c.has_option('y', &[])
    });
    report_first(
        lint,
        index,
        interactive,
        "DL3034",
        "zypper install needs -n (or -y) to run without questions".into(),
    );
    let upgrade = first(script, |c| is_install(c, "zypper", &["dist-upgrade", "dup"]));
    report_first(
        lint,
        index,
        upgrade,
        "DL3035",
        "zypper dist-upgrade makes the build depend on the day it runs".into(),
    );
    let cleaned = script
        .commands
        .iter()
        .any(|c| c.program() == "zypper" && matches!(c.subcommand(), Some("clean" | "cc")));
    if !cleaned {
        let at = first(script, install);
        report_first(
            lint,
            index,
            at,
            "DL3036",
            "zypper install without `zypper clean` leaves its cache in the layer".into(),
        );
    }
    let (at, names) =
        unpinned(script, install, &[], |p| p.contains(['=', '<', '>']) || p.ends_with(".rpm"));
    report_first(
        lint,
        index,
        at.as_ref(),
        "DL3037",
        format!("pin zypper packages as name=version: {}", names.join(" ")),
    );
}
