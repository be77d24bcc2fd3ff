//! `--static`: the final stage's HEALTHCHECK, checked without an engine. Pure:
//! takes the Dockerfile's text, returns every finding with its line.
//!
//! The final image gets the last HEALTHCHECK of its final stage, or of the
//! stage it is built `FROM`, and so on down the chain of stages; one inherited
//! from an external base image cannot be seen here and counts as missing.

use super::plan::parse_duration;
use super::report::Finding;
use crate::dockerfile::{self, Dockerfile, Instruction};

/// The HEALTHCHECK flags the project documents, with their values.
pub const DOCUMENTED_FLAGS: [(&str, &str); 4] =
    [("interval", "30s"), ("timeout", "10s"), ("start-period", "5s"), ("retries", "3")];

/// Commands that probe nothing: a probe made only of these always passes (or
/// always fails) whatever state the container is in.
const NO_OP_COMMANDS: &[&str] = &["true", "false", ":", "exit", "echo", "printf", "sleep"];

/// Checks the HEALTHCHECK the final image gets; no findings means it is sound.
pub fn check(src: &str) -> Vec<Finding> {
    let parsed = dockerfile::parse(src);
    let Some(final_stage) = parsed.final_stage() else {
        return vec![finding(1, "no FROM: the Dockerfile builds no image".to_string())];
    };
    let mut findings = Vec::new();
    match effective_healthcheck(&parsed, final_stage.index, &mut findings) {
        Some(healthcheck) => findings.extend(check_instruction(healthcheck)),
        None => findings.push(finding(
            final_stage.line,
            "the final stage has no HEALTHCHECK (one inherited from an external base image \
             cannot be checked here); add: HEALTHCHECK --interval=30s --timeout=10s \
             --start-period=5s --retries=3 CMD <a command that fails when the image is broken>"
                .to_string(),
        )),
    }
    findings.sort_by_key(|finding| finding.line);
    findings
}

/// The HEALTHCHECK the stage's image gets (its own or inherited from the stage it
/// builds on, as `Dockerfile::healthchecks_of` finds it); earlier HEALTHCHECKs of
/// the deciding stage are reported as overridden.
fn effective_healthcheck<'a>(
    parsed: &'a Dockerfile,
    stage_index: usize,
    findings: &mut Vec<Finding>,
) -> Option<&'a Instruction> {
    let healthchecks = parsed.healthchecks_of(stage_index);
    let (&last, earlier) = healthchecks.split_last()?;
    let last = &parsed.instructions[last];
    for &overridden in earlier {
        findings.push(finding(
            parsed.instructions[overridden].line,
            format!("this HEALTHCHECK is overridden by the one on line {}", last.line),
        ));
    }
    Some(last)
}

/// Checks one HEALTHCHECK instruction: not NONE, documented timing, a real probe.
pub fn check_instruction(healthcheck: &Instruction) -> Vec<Finding> {
    let line = healthcheck.line;
    let Some(first) = healthcheck.words().first() else {
        return vec![finding(line, "HEALTHCHECK needs CMD <probe> or NONE".to_string())];
    };
    match first.value.to_ascii_uppercase().as_str() {
        "NONE" => vec![finding(
            line,
            "HEALTHCHECK NONE disables the health check; declare a probe with CMD".to_string(),
        )],
        "CMD" => {
            let probe = healthcheck.args.get(first.offset + first.raw.len()..).unwrap_or("");
            let mut findings = check_flags(healthcheck);
            findings.extend(check_probe(line, probe.trim()));
            findings
        }
        other => {
            vec![finding(line, format!("HEALTHCHECK needs CMD <probe> or NONE, not `{other}`"))]
        }
    }
}

fn check_flags(healthcheck: &Instruction) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, documented) in DOCUMENTED_FLAGS {
        match healthcheck.flag(name).map(|flag| flag.value.as_deref().unwrap_or("")) {
            None => findings.push(finding(
                healthcheck.line,
                format!(
                    "--{name} is not set (the engine's default applies); set --{name}={documented}"
                ),
            )),
            Some(value) if !same_setting(name, value, documented) => findings.push(finding(
                healthcheck.line,
                format!("--{name}={value} differs from the documented --{name}={documented}"),
            )),
            Some(_) => {}
        }
    }
    for flag in &healthcheck.flags {
        if !DOCUMENTED_FLAGS.iter().any(|(name, _)| *name == flag.name) {
            findings.push(finding(
                flag.position.line,
                format!(
                    "--{} is not part of the documented probe (--interval, --timeout, \
                     --start-period, --retries); remove it",
                    flag.name
                ),
            ));
        }
    }
    findings
}

fn same_setting(name: &str, value: &str, documented: &str) -> bool {
    if name == "retries" {
        return value.trim().parse::<u64>().ok() == documented.parse::<u64>().ok();
    }
    matches!((parse_duration(value), parse_duration(documented)), (Ok(a), Ok(b)) if a == b)
}

/// The probe after `CMD`: exec form (a JSON array) or shell form.
fn check_probe(line: usize, probe: &str) -> Vec<Finding> {
    let script = if probe.starts_with('[') {
        match serde_json::from_str::<Vec<String>>(probe) {
            Ok(argv) => exec_form_script(&argv),
            Err(_) => probe.to_string(),
        }
    } else {
        probe.to_string()
    };
    let commands = command_names(&script);
    if commands.is_empty() {
        return vec![finding(line, "HEALTHCHECK CMD has no probe command".to_string())];
    }
    if commands.iter().all(|name| NO_OP_COMMANDS.contains(&name.as_str())) {
        return vec![finding(
            line,
            format!(
                "the probe `{script}` checks nothing (it runs only {}); probe the image's \
                 work, e.g. CMD python -c 'import scylla' || exit 1",
                commands.join(", ")
            ),
        )];
    }
    Vec::new()
}

/// An exec-form probe as a script: `sh -c SCRIPT` is the script itself.
fn exec_form_script(argv: &[String]) -> String {
    match argv {
        [shell, flag, script, ..]
            if ["sh", "bash", "dash"].contains(&base_name(shell)) && flag == "-c" =>
        {
            script.clone()
        }
        _ => argv.join(" "),
    }
}

fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// The command name of each simple command in a shell script: the first word
/// after `;`, `&`, `|` or a newline, outside quotes, skipping `!` and `NAME=value`.
fn command_names(script: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut word = String::new();
    let mut at_command_start = true;
    let mut quote: Option<char> = None;
    let mut chars = script.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '\\') => word.extend(chars.next()),
            (None, ';' | '&' | '|' | '\n') => {
                end_word(&mut word, &mut names, &mut at_command_start);
                at_command_start = true;
            }
            (None, ' ' | '\t') => end_word(&mut word, &mut names, &mut at_command_start),
            (None, c) => word.push(c),
        }
    }
    end_word(&mut word, &mut names, &mut at_command_start);
    names
}

fn end_word(word: &mut String, names: &mut Vec<String>, at_command_start: &mut bool) {
    if word.is_empty() {
        return;
    }
    let is_assignment = word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
    });
    if *at_command_start && word != "!" && !is_assignment {
        names.push(base_name(word).to_string());
        *at_command_start = false;
    }
    word.clear();
}

fn finding(line: usize, message: String) -> Finding {
    Finding { line, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(src: &str) -> Vec<(usize, String)> {
        check(src).into_iter().map(|f| (f.line, f.message)).collect()
    }

    const SOUND: &str = r#"FROM python:3 AS builder
RUN true
FROM python:3
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
    CMD python -c 'import scylla; print("OK")' || exit 1
CMD ["--help"]
"#;

    #[test]
    fn the_documented_healthcheck_is_sound() {
        assert_eq!(messages(SOUND), vec![]);
    }

    #[test]
    fn the_project_dockerfile_is_sound() {
        let src = include_str!("../../../docker/Dockerfile");
        assert_eq!(messages(src), vec![]);
    }

    #[test]
    fn equal_durations_in_other_spellings_are_accepted() {
        let src = "FROM a\nHEALTHCHECK --interval=0.5m --timeout=10000ms --start-period=5s \
                   --retries=3 CMD [\"python\", \"-c\", \"import scylla\"]\n";
        assert_eq!(messages(src), vec![]);
    }

    #[test]
    fn a_missing_healthcheck_is_reported_at_the_final_from() {
        let src = "FROM a AS one\nHEALTHCHECK --interval=30s --timeout=10s --start-period=5s \
                   --retries=3 CMD check\nFROM b\nRUN x\n";
        let found = messages(src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 3);
        assert!(found[0].1.starts_with("the final stage has no HEALTHCHECK"), "{found:?}");
        assert_eq!(messages("# nothing\n")[0].1, "no FROM: the Dockerfile builds no image");
    }

    #[test]
    fn a_healthcheck_is_inherited_from_the_stage_built_on() {
        let src = "FROM a AS base\nHEALTHCHECK --interval=30s --timeout=10s --start-period=5s \
                   --retries=3 CMD check\nFROM base\nRUN x\n";
        assert_eq!(messages(src), vec![]);
    }

    #[test]
    fn healthcheck_none_is_a_finding() {
        let src = "FROM a\nRUN x\nhealthcheck NONE\n";
        assert_eq!(
            messages(src),
            vec![(
                3,
                "HEALTHCHECK NONE disables the health check; declare a probe with CMD".to_string()
            )]
        );
    }

    #[test]
    fn timing_must_match_the_documented_values() {
        let src = "FROM a\nHEALTHCHECK --interval=1m --retries=5 --start-interval=1s CMD check\n";
        let found: Vec<String> = messages(src).into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            found,
            vec![
                "--interval=1m differs from the documented --interval=30s",
                "--timeout is not set (the engine's default applies); set --timeout=10s",
                "--start-period is not set (the engine's default applies); set --start-period=5s",
                "--retries=5 differs from the documented --retries=3",
                "--start-interval is not part of the documented probe (--interval, --timeout, \
                 --start-period, --retries); remove it",
            ]
        );
    }

    #[test]
    fn trivial_probes_are_findings() {
        let flags = "--interval=30s --timeout=10s --start-period=5s --retries=3";
        for probe in [
            "true",
            "exit 0",
            "/bin/true",
            "true || exit 1",
            "[\"true\"]",
            "[\"/bin/sh\", \"-c\", \"exit 0\"]",
            "echo 'a; python' && exit 0",
            "! false",
        ] {
            let src = format!("FROM a\nHEALTHCHECK {flags} CMD {probe}\n");
            let found = messages(&src);
            assert_eq!(found.len(), 1, "{probe}: {found:?}");
            assert!(found[0].1.contains("checks nothing"), "{probe}: {found:?}");
            assert_eq!(found[0].0, 2);
        }
        let src = format!("FROM a\nHEALTHCHECK {flags} CMD\n");
        assert!(messages(&src).iter().any(|(_, m)| m.contains("CMD")), "{:?}", messages(&src));
    }

    #[test]
    fn real_probes_pass() {
        let flags = "--interval=30s --timeout=10s --start-period=5s --retries=3";
        for probe in [
            "curl -f http://localhost/ || exit 1",
            "[\"sh\", \"-c\", \"test -f /ready\"]",
            "true && python -c 'import scylla'",
            "FOO=1 /usr/local/bin/check",
        ] {
            let src = format!("FROM a\nHEALTHCHECK {flags} CMD {probe}\n");
            assert_eq!(messages(&src), vec![], "{probe}");
        }
    }

    #[test]
    fn earlier_healthchecks_of_the_stage_are_overridden() {
        let flags = "--interval=30s --timeout=10s --start-period=5s --retries=3";
        let src = format!("FROM a\nHEALTHCHECK NONE\nHEALTHCHECK {flags} CMD check\n");
        assert_eq!(
            messages(&src),
            vec![(2, "this HEALTHCHECK is overridden by the one on line 3".to_string())]
        );
    }

    #[test]
    fn finds_command_names_outside_quotes() {
        assert_eq!(command_names("a -x 'b; c' && d \"e | f\"; ! g"), vec!["a", "d", "g"]);
        assert_eq!(command_names("X=1 Y=2 /usr/bin/env z"), vec!["env"]);
        assert_eq!(command_names(""), Vec::<String>::new());
    }
}
