//! Parser tests on raw-string Dockerfiles.

use std::collections::BTreeMap;

use super::*;

fn summary(dockerfile: &Dockerfile) -> Vec<(String, usize, usize, String)> {
    dockerfile
        .instructions
        .iter()
        .map(|i| (i.keyword.clone(), i.line, i.end_line, i.args.clone()))
        .collect()
}

fn row(keyword: &str, line: usize, end: usize, args: &str) -> (String, usize, usize, String) {
    (keyword.to_string(), line, end, args.to_string())
}

#[test]
fn continuations_skip_comments_and_blank_lines() {
    let d = parse(
        "FROM debian:12\n\
         RUN apt-get update \\\n\
         # a comment inside\n\
         \n\
         \x20   && apt-get install -y curl \\  \n\
         \x20   && true\n\
         CMD [\"bash\"]\n",
    );
    assert_eq!(
        summary(&d),
        vec![
            row("FROM", 1, 1, "debian:12"),
            row("RUN", 2, 6, "apt-get update     && apt-get install -y curl     && true"),
            row("CMD", 7, 7, "[\"bash\"]"),
        ]
    );
    assert_eq!(d.comments, vec![Comment { line: 3, column: 1, text: "a comment inside".into() }]);
    let run = &d.instructions[1];
    let install = run.words().iter().find(|w| w.value == "install").unwrap();
    assert_eq!(install.position, Position { line: 5, column: 16 });
    assert_eq!(d.instructions[2].json, Some(vec!["bash".to_string()]));
    assert!(d.errors.is_empty());
}

#[test]
fn directives_and_backtick_escape() {
    let d = parse(concat!(
        "# syntax=docker/dockerfile:1\n",
        "# escape=`\n",
        "# check=skip=all\n",
        "\n",
        "FROM mcr.microsoft.com/windows AS Build\n",
        "RUN dir C:\\ `\n",
        "  && echo done\n",
        "# escape=\\\n",
    ));
    assert_eq!(d.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(d.directives.escape, '`');
    assert_eq!(d.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(d.instructions[1].args, "dir C:\\   && echo done");
    assert_eq!(d.instructions[1].end_line, 7);
    assert_eq!(d.stages[0].name.as_deref(), Some("build"));
    assert_eq!(d.comments.len(), 1, "a directive after an instruction is a comment");
}

#[test]
fn directives_stop_at_the_first_other_line() {
    let d = parse("# hello\n# escape=`\nFROM a\n");
    assert_eq!(d.directives.escape, '\\');
    let d = parse("# escape=\\\n# escape=`\nFROM a\n");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].line, 2);
    let d = parse("# escape=x\nFROM a\n");
    assert_eq!(d.errors[0].kind, ErrorKind::Syntax);
}

#[test]
fn heredocs_several_per_line_tabs_and_quotes() {
    let d = parse(concat!(
        "FROM alpine\n",
        "RUN <<EOF1 cat <<-'EOF2' > /out\n",
        "echo $HOME\n",
        "EOF1\n",
        "\tliteral $x\n",
        "\tEOF2\n",
        "COPY <<EOF /etc/conf\n",
        "key=1\n",
        "EOF\n",
        "run echo after\n",
    ));
    let run = &d.instructions[1];
    assert_eq!((run.line, run.end_line), (2, 6));
    let docs: Vec<(&str, bool, bool, &str, usize, usize)> = run
        .heredocs
        .iter()
        .map(|h| {
            (h.name.as_str(), h.expand, h.strip_tabs, h.content.as_str(), h.start_line, h.end_line)
        })
        .collect();
    assert_eq!(
        docs,
        vec![
            ("EOF1", true, false, "echo $HOME\n", 3, 4),
            ("EOF2", false, true, "\tliteral $x\n", 5, 6)
        ]
    );
    let copy = &d.copies()[0];
    assert_eq!(copy.sources[0].kind, SourceKind::Heredoc);
    assert_eq!(copy.destination, "/etc/conf");
    assert_eq!(summary(&d)[3], row("RUN", 10, 10, "echo after"));
}

#[test]
fn unterminated_heredoc_is_an_error_not_a_hang() {
    let d = parse("FROM a\nRUN <<EOF\necho\n");
    assert_eq!(d.instructions[1].heredocs[0].content, "echo\n");
    assert_eq!(d.errors.len(), 1);
    assert!(d.errors[0].message.contains("unterminated heredoc EOF"));
}

#[test]
fn json_form_is_not_a_heredoc() {
    let d = parse("FROM a\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nCMD echo hi\n");
    assert!(d.instructions[1].heredocs.is_empty());
    assert!(d.instructions[1].is_json());
    assert!(!d.instructions[2].is_json());
}

#[test]
fn crlf_lowercase_and_bom() {
    let d = parse("\u{feff}from python:3 as Base\r\nrun echo \\\r\n  hi\r\n");
    assert_eq!(
        summary(&d),
        vec![row("FROM", 1, 1, "python:3 as Base"), row("RUN", 2, 3, "echo   hi")]
    );
    assert_eq!(d.stages[0].name.as_deref(), Some("base"));
}

#[test]
fn flags_and_their_positions() {
    let d = parse(concat!(
        "FROM --platform=$BUILDPLATFORM golang AS build\n",
        "COPY --from=build --chmod=755 --link /bin/app /usr/local/bin/\n",
        "RUN --mount=type=cache,target=/root/.cache go build\n",
    ));
    let copy = &d.instructions[1];
    let flags: Vec<(&str, Option<&str>, usize)> = copy
        .flags
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_deref(), f.position.column))
        .collect();
    assert_eq!(
        flags,
        vec![("from", Some("build"), 6), ("chmod", Some("755"), 19), ("link", None, 31)]
    );
    assert_eq!(d.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(
        d.instructions[2].flag("mount").and_then(|f| f.value.as_deref()),
        Some("type=cache,target=/root/.cache")
    );
    let from_stage = d.copies().into_iter().find(|c| c.from.is_some()).unwrap();
    assert_eq!(from_stage.from.as_deref(), Some("build"));
    assert!(d.context_copies().is_empty());
}

#[test]
fn onbuild_holds_its_trigger() {
    let d = parse("FROM a\nONBUILD COPY . /app\nONBUILD RUN <<EOF\nmake\nEOF\nONBUILD FROM b\n");
    let trigger = d.instructions[1].onbuild.as_deref().unwrap();
    assert_eq!((trigger.keyword.as_str(), trigger.args.as_str()), ("COPY", ". /app"));
    assert_eq!(d.instructions[2].end_line, 5);
    assert_eq!(d.instructions[2].onbuild.as_deref().unwrap().heredocs[0].content, "make\n");
    assert_eq!(d.errors.len(), 1);
    assert_eq!((d.errors[0].line, d.errors[0].kind), (6, ErrorKind::ForbiddenOnbuildTrigger));
    assert!(d.copies()[0].onbuild);
}

#[test]
fn syntax_errors_are_data() {
    let d = parse(
        "FRM a\nFROM a b\nFROM c AS 1x\nCOPY one\nRUN --bogus echo\nSHELL bash\nCMD [\"a\", 1]\n",
    );
    let kinds: Vec<(usize, ErrorKind)> = d.errors.iter().map(|e| (e.line, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (1, ErrorKind::UnknownInstruction),
            (4, ErrorKind::Syntax),
            (5, ErrorKind::UnknownFlag),
            (6, ErrorKind::Syntax),
            (7, ErrorKind::Syntax),
            (2, ErrorKind::InvalidFrom),
            (3, ErrorKind::InvalidFrom),
        ]
    );
}

#[test]
fn stages_and_scopes() {
    let d = parse(concat!(
        "ARG BASE=python:3.12\n",
        "FROM $BASE AS Builder\n",
        "RUN make\n",
        "FROM builder AS test\n",
        "FROM scratch\n",
        "COPY --from=0 /a /b\n",
    ));
    assert_eq!(d.global_args().len(), 1);
    let names: Vec<Option<&str>> = d.stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, vec![Some("builder"), Some("test"), None]);
    assert_eq!(d.stage_instructions(&d.stages[0]).len(), 2);
    assert_eq!(d.final_stage().map(|s| s.line), Some(5));
    assert_eq!(d.stage_named("TEST").map(|s| s.index), Some(1));
    assert_eq!(d.stage_named("0").map(|s| s.index), Some(0));
    assert_eq!(d.stage_of(5), Some(2));
    assert_eq!(d.stage_of(0), None);
}

#[test]
fn from_resolution_uses_global_args_and_overrides() {
    let hex = "f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c";
    let src = format!(
        "ARG PY=3.12\n\
         ARG IMAGE=python:${{PY}}-slim@sha256:{hex}\n\
         ARG NODE\n\
         FROM ${{IMAGE}} AS builder\n\
         FROM builder\n\
         FROM scratch\n\
         FROM $NODE\n\
         FROM ${{MISSING:-debian}}:12\n"
    );
    let d = parse(&src);
    let resolved = d.resolve_froms(&BTreeMap::new());
    let bases: Vec<&Base> = resolved.iter().map(|r| &r.base).collect();
    let Base::Image(image) = bases[0] else { panic!("{:?}", bases[0]) };
    assert_eq!(image.to_string(), format!("python:3.12-slim@sha256:{hex}"));
    assert_eq!(resolved[0].args[0].line, Some(2));
    assert_eq!(bases[1], &Base::Stage(0));
    assert_eq!(bases[2], &Base::Scratch);
    let Base::Invalid(message) = bases[3] else { panic!("{:?}", bases[3]) };
    assert!(message.contains("NODE without a value"), "{message}");
    assert_eq!(resolved[3].line, 7);
    let Base::Image(image) = bases[4] else { panic!("{:?}", bases[4]) };
    assert_eq!(image.full_name(), "docker.io/library/debian");

    let overrides = BTreeMap::from([
        ("NODE".to_string(), "node:20".to_string()),
        ("PY".to_string(), "3.14".to_string()),
    ]);
    let resolved = d.resolve_froms(&overrides);
    assert_eq!(resolved[3].resolved, "node:20");
    assert!(resolved[3].args[0].overridden);
    assert!(resolved[0].resolved.starts_with("python:3.14-slim@"));
}

#[test]
fn copy_sources_urls_and_destination() {
    let d =
        parse("FROM a\nADD https://x/y.tgz \"my file\" /dst/\nCOPY [\"a b\", \"c\", \"/d/\"]\n");
    let copies = d.copies();
    let kinds: Vec<(&str, SourceKind)> =
        copies[0].sources.iter().map(|s| (s.text.as_str(), s.kind)).collect();
    assert_eq!(kinds, vec![("https://x/y.tgz", SourceKind::Url), ("my file", SourceKind::Path)]);
    assert_eq!(copies[0].destination, "/dst/");
    assert_eq!(copies[1].sources.len(), 2);
    assert_eq!(copies[1].destination, "/d/");
    assert_eq!(copies[1].stage_index, Some(0));
}

#[test]
fn key_values_of_env_label_and_arg() {
    let d =
        parse("FROM a\nENV A=1 B=\"two words\"\nENV LEGACY some value\nARG X Y=2\nLABEL \"k\"=v\n");
    let kv = |i: usize| -> Vec<(String, Option<String>)> {
        d.instructions[i].key_values().into_iter().map(|(k, v, _)| (k, v)).collect()
    };
    let s = |x: &str| x.to_string();
    assert_eq!(kv(1), vec![(s("A"), Some(s("1"))), (s("B"), Some(s("two words")))]);
    assert_eq!(kv(2), vec![(s("LEGACY"), Some(s("some value")))]);
    assert_eq!(kv(3), vec![(s("X"), None), (s("Y"), Some(s("2")))]);
    assert_eq!(kv(4), vec![(s("k"), Some(s("v")))]);
}

#[test]
fn a_file_without_from_is_an_error() {
    for src in ["", "# only a comment\n", "ARG A=1\n"] {
        let d = parse(src);
        assert_eq!(d.errors.len(), 1, "{src:?}");
        assert_eq!(d.errors[0].message, "the Dockerfile has no FROM");
    }
}

#[test]
fn columns_count_characters() {
    let d = parse("FROM a\nRUN echo \"héllo wörld\" ünïcode \\\n  ß end\n");
    let columns: Vec<(String, usize, usize)> = d.instructions[1]
        .words()
        .iter()
        .map(|w| (w.value.clone(), w.position.line, w.position.column))
        .collect();
    let w = |v: &str, l: usize, c: usize| (v.to_string(), l, c);
    assert_eq!(
        columns,
        vec![
            w("echo", 2, 5),
            w("héllo wörld", 2, 10),
            w("ünïcode", 2, 24),
            w("ß", 3, 3),
            w("end", 3, 5)
        ]
    );
}

#[test]
fn deep_inputs_do_not_recurse() {
    let nested = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(100_000));
    let d = parse(&nested);
    assert!(d.instructions[1].onbuild.as_deref().is_some_and(|t| t.onbuild.is_none()));
    let mut chain = String::from("FROM a AS s0\nENV ROOT=/r\n");
    for i in 1..20_000 {
        chain.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
    }
    chain.push_str("RUN x\n");
    let d = parse(&chain);
    let vars = d.variables_at(d.instructions.len() - 1, &BTreeMap::new());
    assert_eq!(vars.get("ROOT").map(String::as_str), Some("/r"));
}

#[test]
fn odd_inputs_do_not_panic() {
    for src in [
        "",
        "\\",
        "RUN \\",
        "\u{feff}",
        "# escape=`\n`",
        "FROM a\nRUN <<",
        "é\\\nü",
        "\r\r\n",
        "RUN a\\\r",
    ] {
        let d = parse(src);
        let _ = d.resolve_froms(&BTreeMap::new());
        let _ = d.copies();
    }
}

#[test]
fn healthchecks_follow_the_from_chain_to_the_stage_that_sets_them() {
    let d = parse(concat!(
        "FROM a AS base\n",
        "HEALTHCHECK CMD one\n",
        "HEALTHCHECK CMD two\n",
        "FROM base AS mid\n",
        "RUN x\n",
        "FROM mid\n",
        "FROM other\n",
        "FROM base\n",
        "HEALTHCHECK NONE\n",
    ));
    assert_eq!(d.healthchecks_of(0), vec![1, 2]);
    assert_eq!(d.healthchecks_of(1), vec![1, 2]);
    assert_eq!(d.healthchecks_of(2), vec![1, 2]);
    assert!(d.healthchecks_of(3).is_empty());
    assert_eq!(d.healthchecks_of(4), vec![8]);
    assert!(d.healthchecks_of(9).is_empty());
}
