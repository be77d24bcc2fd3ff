//! Rules about system package managers in `RUN` scripts: apt, apk, yum, dnf and
//! zypper.

use std::collections::HashSet;

use crate::dockerfile::Base;

use super::super::facts::{effective, Facts};
use super::super::findings::{listed, Findings};
use super::super::shell::{Command, Script};
use super::install::{first, has_cache_mount, is_install, unpinned};

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

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let kept = stages_kept(facts);
    for (index, script) in facts.runs() {
        apt(facts, out, index, script, kept.get(index).copied().unwrap_or(true));
        apk(facts, out, index, script);
        rpm(facts, out, index, script);
        zypper(facts, out, index, script);
    }
}

/// Whether each instruction's stage ends up in an image (the final stage or a base of another).
fn stages_kept(facts: &Facts<'_>) -> Vec<bool> {
    let d = facts.dockerfile;
    let bases: HashSet<usize> = facts
        .resolved
        .iter()
        .filter_map(|r| match r.base {
            Base::Stage(i) => Some(i),
            _ => None,
        })
        .collect();
    (0..d.instructions.len())
        .map(|i| d.stage_of(i).map_or(true, |s| s + 1 == d.stages.len() || bases.contains(&s)))
        .collect()
}

fn apt(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script, kept: bool) {
    let run = effective(&facts.dockerfile.instructions[index]);
    let install = |c: &Command| is_install(c, "apt-get", &["install"]);
    let installs = script.commands.iter().filter(|c| install(c));
    let (at, names) = unpinned(installs, APT_VALUED, |p| p.contains('=') || p.ends_with(".deb"));
    out.report_offset(facts, "DL3008", index, at, || {
        format!("pin apt packages as name=version: {}", listed(&names))
    });
    let no_yes = first(script, |c| {
        install(c)
            && !c.has_option('y', &["--yes", "--assume-yes"])
            && !c.has_any(&["-qq", "-q=2", "--quiet=2"])
    });
    out.report_command(facts, "DL3014", index, no_yes, || {
        "apt-get install without -y waits for an answer that never comes".into()
    });
    let recommends = first(script, |c| {
        install(c)
            && !c.has_any(&["--no-install-recommends"])
            && !c.args().iter().any(|a| a.len() > 19 && a.contains("Install-Recommends="))
    });
    out.report_command(facts, "DL3015", index, recommends, || {
        "add --no-install-recommends to keep recommended packages out of the image".into()
    });
    let apt = first(script, |c| c.program() == "apt");
    out.report_command(facts, "DL3027", index, apt, || {
        "apt's interface is for people and may change; use apt-get or apt-cache".into()
    });
    let update = first(script, |c| {
        matches!(c.program(), "apt-get" | "apt") && c.subcommand() == Some("update")
    });
    let cleaned = script.commands.iter().any(|c| {
        c.program() == "rm" && c.args().iter().any(|a| a.starts_with("/var/lib/apt/lists"))
    });
    if kept && !cleaned && !has_cache_mount(run, "/var/lib/apt") {
        out.report_command(facts, "DL3009", index, update, || {
            "apt lists stay in this layer; end the RUN with rm -rf /var/lib/apt/lists/*".into()
        });
    }
}

fn apk(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script) {
    let run = effective(&facts.dockerfile.instructions[index]);
    let add = |c: &Command| is_install(c, "apk", &["add"]);
    let adds = script.commands.iter().filter(|c| add(c));
    let (at, names) = unpinned(adds, APK_VALUED, |p| p.contains('=') || p.ends_with(".apk"));
    out.report_offset(facts, "DL3018", index, at, || {
        format!("pin apk packages as name=version: {}", listed(&names))
    });
    let cached = first(script, |c| add(c) && !c.has_any(&["--no-cache"]));
    if !has_cache_mount(run, "/var/cache/apk") {
        out.report_command(facts, "DL3019", index, cached, || {
            "apk add without --no-cache leaves the index in the image".into()
        });
    }
}

fn rpm_pinned(package: &str) -> bool {
    package.ends_with(".rpm")
        || package
            .char_indices()
            .any(|(i, c)| c == '-' && package[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
}

fn rpm(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script) {
    let verbs = ["install", "groupinstall", "localinstall", "reinstall"];
    for (program, yes, clean, pin) in [
        ("yum", "DL3030", "DL3032", "DL3033"),
        ("dnf", "DL3038", "DL3040", "DL3041"),
        ("microdnf", "DL3038", "DL3040", "DL3041"),
    ] {
        let install = |c: &Command| is_install(c, program, &verbs);
        let Some(first_install) = first(script, install) else { continue };
        let no_yes = first(script, |c| install(c) && !c.has_option('y', &["--assumeyes"]));
        out.report_command(facts, yes, index, no_yes, || {
            format!("{program} install without -y waits for an answer")
        });
        let cache = format!("/var/cache/{program}");
        let cleaned = script.commands.iter().any(|c| {
            (c.program() == program && c.subcommand() == Some("clean"))
                || (c.program() == "rm" && c.args().iter().any(|a| a.starts_with(&cache)))
        });
        if !cleaned {
            out.report_command(facts, clean, index, Some(first_install), || {
                format!(
                    "{program} install without `{program} clean all` leaves its cache in the layer"
                )
            });
        }
        let installs = script.commands.iter().filter(|c| install(c));
        let (at, names) = unpinned(installs, RPM_VALUED, rpm_pinned);
        out.report_offset(facts, pin, index, at, || {
            format!("pin {program} packages as name-version: {}", listed(&names))
        });
    }
}

fn zypper(facts: &Facts<'_>, out: &mut Findings<'_>, index: usize, script: &Script) {
    let install = |c: &Command| is_install(c, "zypper", &["install", "in"]);
    let interactive = first(script, |c| {
        install(c)
            && !c.has_option('n', &["--non-interactive", "-y", "--no-confirm"])
            && !c.has_option('y', &[])
    });
    out.report_command(facts, "DL3034", index, interactive, || {
        "zypper install needs -n (or -y) to run without questions".into()
    });
    let upgrade = first(script, |c| is_install(c, "zypper", &["dist-upgrade", "dup"]));
    out.report_command(facts, "DL3035", index, upgrade, || {
        "zypper dist-upgrade makes the build depend on the day it runs".into()
    });
    let cleaned = script
        .commands
        .iter()
        .any(|c| c.program() == "zypper" && matches!(c.subcommand(), Some("clean" | "cc")));
    if !cleaned {
        out.report_command(facts, "DL3036", index, first(script, install), || {
            "zypper install without `zypper clean` leaves its cache in the layer".into()
        });
    }
    let installs = script.commands.iter().filter(|c| install(c));
    let (at, names) =
        unpinned(installs, &[], |p| p.contains(['=', '<', '>']) || p.ends_with(".rpm"));
    out.report_offset(facts, "DL3037", index, at, || {
        format!("pin zypper packages as name=version: {}", listed(&names))
    });
}
