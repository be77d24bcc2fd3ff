//! Rule tests on raw-string Dockerfiles: each asserts the exact findings.

use super::*;

/// A finding's code as the catalog's static string.
fn code_of(code: &str) -> &'static str {
    rule(code).map_or("not in the catalog", |r| r.code)
}

fn codes(src: &str) -> Vec<(&'static str, usize)> {
    lint(src, &Options::default()).into_iter().map(|f| (code_of(&f.code), f.line)).collect()
}

#[test]
fn file_names_for_discovery() {
    for yes in [
        "Dockerfile",
        "Containerfile",
        "app.Dockerfile",
        "app.Containerfile",
        "Dockerfile.dev",
        "Containerfile.ci",
    ] {
        assert!(is_dockerfile_name(yes), "{yes}");
    }
    for no in
        ["Dockerfile.dockerignore", "dockerfile", "x.dockerfile", ".Dockerfile", "Dockerfile."]
    {
        assert!(!is_dockerfile_name(no), "{no}");
    }
}

#[test]
fn discovery_finds_the_names_of_the_help_and_skips_build_and_vendor_trees() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let root = Utf8Path::from_path(dir.path()).expect("a UTF-8 path");
    let files = [
        "Dockerfile",
        "a/Containerfile",
        "a/app.Dockerfile",
        "a/app.Containerfile",
        "b/Dockerfile.dev",
        "b/Containerfile.ci",
        "b/Dockerfile.dockerignore",
        "target/Dockerfile",
        ".git/Dockerfile",
        "web/node_modules/pkg/Dockerfile",
    ];
    for file in files {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "FROM scratch\n").unwrap();
    }
    let found: Vec<String> = discover(root)
        .unwrap()
        .iter()
        .map(|path| path.strip_prefix(root).unwrap().to_string())
        .collect();
    let mut expected = files[..6].to_vec();
    expected.sort();
    assert_eq!(found, expected, "sorted, and nothing under target/, .git/ or node_modules/");
}

const PINNED: &str =
    "python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c";

/// A compliant final stage to append, so project rules stay quiet in rule tests.
fn tail() -> String {
    "USER 1000\nHEALTHCHECK CMD [\"true\"]\n".to_string()
}

#[test]
fn a_clean_file_has_no_findings() {
    // concat! keeps the spaces that start a continued line; a `\` line end would eat them.
    let src = format!(
        concat!(
            "# syntax=docker/dockerfile:1\n",
            "ARG BASE={PINNED}\n",
            "FROM $BASE AS builder\n",
            "WORKDIR /src\n",
            "COPY pyproject.toml ./\n",
            "RUN pip install --no-cache-dir -r requirements.txt\n",
            "COPY src/ src/\n",
            "RUN pip install --no-cache-dir --no-deps .\n",
            "FROM {PINNED}\n",
            "COPY --from=builder /src /app\n",
            "RUN apt-get update \\\n",
            " && apt-get install -y --no-install-recommends git=1:2.39 \\\n",
            " && rm -rf /var/lib/apt/lists/*\n",
            "{tail}ENTRYPOINT [\"app\"]\n",
        ),
        PINNED = PINNED,
        tail = tail(),
    );
    assert_eq!(codes(&src), vec![]);
}

#[test]
fn apt_rules_point_at_the_command_or_the_package() {
    let src = format!("FROM {PINNED}\nRUN echo start && \\\n    apt-get install curl\n{}", tail());
    let found: Vec<(&str, usize, usize, Option<usize>)> = lint(&src, &Options::default())
        .iter()
        .map(|f| (code_of(&f.code), f.line, f.column, f.instruction))
        .collect();
    assert_eq!(
        found,
        vec![("DL3014", 3, 5, Some(1)), ("DL3015", 3, 5, Some(1)), ("DL3008", 3, 21, Some(1)),]
    );
}

#[test]
fn pragmas_silence_the_next_instruction_or_the_file() {
    let src = format!(
        "FROM {PINNED}\n\
         # hadolint ignore=DL3008,DL3015\n\
         RUN apt-get install -y curl\n\
         RUN apt-get install -y wget\n\
         {}",
        tail()
    );
    assert_eq!(codes(&src), vec![("DL3059", 4), ("DL3015", 4), ("DL3008", 4)]);
    let global = format!("# hadolint global ignore=DL3008\n{src}");
    assert_eq!(codes(&global), vec![("DL3059", 5), ("DL3015", 5)]);
}

#[test]
fn configuration_ignores_and_overrides() {
    let src =
        format!("FROM {PINNED}\nRUN apt-get install -y --no-install-recommends curl\n{}", tail());
    let mut options = Options::default();
    options.overrides.insert("DL3008".into(), Some(Severity::Error));
    options.overrides.insert("DL3057".into(), Some(Severity::Info));
    let found: Vec<(&str, Severity)> =
        lint(&src, &options).iter().map(|f| (code_of(&f.code), f.severity)).collect();
    assert_eq!(found, vec![("DL3008", Severity::Error)]);
    options.ignored.push("DL3008".into());
    assert!(lint(&src, &options).is_empty());
    let unhealthy = format!("FROM {PINNED}\nUSER 1000\n");
    let found: Vec<&str> = lint(&unhealthy, &options).iter().map(|f| code_of(&f.code)).collect();
    assert_eq!(found, vec!["DL3057", "SCY004"]);
}

#[test]
fn scy004_sees_the_healthcheck_the_final_image_inherits_from_its_stage() {
    // The same answer as `healthcheck --static`: a probe set in the stage the final
    // stage builds on is in the final image; HEALTHCHECK NONE there disables it.
    let inherited =
        format!("FROM {PINNED} AS base\nHEALTHCHECK CMD [\"true\"]\nFROM base\nUSER 1000\n");
    assert!(!codes(&inherited).iter().any(|(code, _)| *code == "SCY004"), "{inherited}");
    let disabled = format!("FROM {PINNED} AS base\nHEALTHCHECK NONE\nFROM base\nUSER 1000\n");
    assert!(codes(&disabled).contains(&("SCY004", 2)), "{:?}", codes(&disabled));
    let external =
        format!("FROM {PINNED} AS base\nHEALTHCHECK CMD [\"true\"]\nFROM {PINNED}\nUSER 1\n");
    assert!(codes(&external).contains(&("SCY004", 3)), "{:?}", codes(&external));
}

#[test]
fn project_rules() {
    let src = concat!(
        "ARG NODE=node:20\n",
        "FROM $NODE AS node\n",
        "FROM python:3.12\n",
        "ENV API_KEY=x GITHUB_TOKEN=y DB_PASSWD=z\n",
        "COPY . /app\n",
        "RUN pip install --no-cache-dir -r /app/requirements.txt\n",
        "RUN npm install -g @anthropic-ai/claude-code@^1 left-pad@1.3.0\n",
        "RUN curl -fsSL https://x | bash\n",
        "CMD [\"x\"]\n",
        "USER app\n",
    );
    let mut found = codes(src);
    found.sort();
    let mut expected = vec![
        ("SCY001", 2),
        ("SCY001", 3),
        ("DL3064", 4),
        ("SCY007", 4),
        ("SCY002", 6),
        ("DL3059", 7),
        ("SCY005", 7),
        ("DL4006", 8),
        ("SCY006", 8),
        ("SCY003", 10),
        ("DL3066", 10),
        ("SCY004", 3),
    ];
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn copy_sources_must_be_in_the_context() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let root = camino::Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).expect("UTF-8");
    std::fs::create_dir_all(root.join("src")).expect("create the context");
    for (name, text) in [
        (".dockerignore", "secret.txt\n*.md\n!KEEP.md\n"),
        ("secret.txt", ""),
        ("README.md", ""),
        ("KEEP.md", ""),
        ("src/a.py", ""),
    ] {
        std::fs::write(root.join(name), text).expect("write a context file");
    }
    let dockerfile = format!(
        "FROM {PINNED}\n\
         COPY README.md KEEP.md /app/\n\
         COPY secret.txt missing.txt src/*.py /app/src/\n\
         ADD https://example.com/x /x\n\
         COPY --from=0 /nowhere /x\n\
         COPY $DIR/x /x\n\
         {}",
        tail()
    );
    std::fs::write(root.join("Dockerfile"), &dockerfile).expect("write the Dockerfile");
    let view =
        ContextView::list(&root, &root.join("Dockerfile"), crate::build_context::Builder::Classic)
            .expect("list the context");
    let input = Input { source: &dockerfile, context: Some(&view) };
    let findings = lint_all(&[input], &Options::default(), None).pop().unwrap_or_default();
    let found: Vec<(&str, usize, usize)> =
        findings.iter().map(|f| (code_of(&f.code), f.line, f.column)).collect();
    assert_eq!(
        found,
        vec![("SCY008", 2, 6), ("SCY008", 3, 6), ("SCY008", 3, 17), ("DL3023", 5, 1)]
    );
}

#[derive(clap::Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

#[test]
fn flags_become_validated_arguments() {
    use clap::Parser as _;
    let cli = Cli::try_parse_from([
        "lint-dockerfile",
        "--format",
        "sarif",
        "--failure-threshold",
        "warning",
        "--ignore",
        "DL3008",
        "--ignore",
        "scy004",
        "--builder",
        "buildkit",
        "docker/Dockerfile",
        "x.Dockerfile",
    ])
    .expect("valid flags");
    assert_eq!(cli.args.format, Format::Sarif);
    assert_eq!(cli.args.failure_threshold, Some(Threshold::At(Severity::Warning)));
    assert_eq!(cli.args.ignore, vec!["DL3008", "scy004"]);
    assert_eq!(cli.args.files.len(), 2);
    let options = cli.args.options(Config::default());
    assert_eq!(options.ignored, vec!["DL3008", "SCY004"]);
    assert!(checks_context(&options));
    for bad in [
        vec!["lint-dockerfile", "--format", "xml"],
        vec!["lint-dockerfile", "--failure-threshold", "fatal"],
        vec!["lint-dockerfile", "--context", ".", "--no-context"],
        vec!["lint-dockerfile", "--builder", "kaniko"],
    ] {
        assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
    }
    let skip = Cli::try_parse_from(["lint-dockerfile", "--ignore", "SCY008"]).expect("valid");
    assert!(!checks_context(&skip.args.options(Config::default())));
}

fn report(source: &str) -> FileReport {
    let findings = lint(source, &Options::default());
    FileReport { path: "x\u{1b}]0;t\u{7}/Dockerfile".into(), source: source.into(), findings }
}

#[test]
fn text_formats_escape_control_characters_from_the_file() {
    let source = "FROM debian:latest\nUSER 1000\nHEALTHCHECK NONE\nX\u{1b}[3A\u{1b}[J\u{9b}2J\n";
    let reports = [report(source)];
    for format in [Format::Tty, Format::Gnu] {
        let text = output::render(format, &reports, false);
        assert!(!text.contains(['\u{1b}', '\u{7}', '\u{9b}']), "{format:?}: {text:?}");
        assert!(text.contains("X\\x1b[3A\\x1b[J\\u{9b}2J"), "{format:?}: {text}");
    }
    let colored = output::render(Format::Tty, &reports, true);
    let without_our_colors = colored.replace("\u{1b}[", "");
    assert!(!without_our_colors.contains("\u{1b}"), "only our own color codes are raw");
}

#[test]
fn long_lines_give_short_frames_and_messages() {
    let source = format!("FROM scratch\nRUN apt-get install {}\n", "a b ".repeat(1_310_720));
    let findings = lint(&source, &Options::default());
    assert!(findings.iter().all(|f| f.message.len() < 200), "messages list a few names");
    let text = output::render(Format::Tty, &[report(&source)], false);
    assert!(text.len() < 8 * 1024, "the frames are cut: {} bytes", text.len());
    let frame_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("2 | ")).collect();
    assert!(!frame_lines.is_empty());
    for line in frame_lines {
        assert!(line.chars().count() <= output::FRAME_WIDTH + 8, "{line}");
        assert!(line.ends_with('…'), "a marker where the line was cut: {line}");
    }
}

#[test]
fn frames_keep_the_caret_under_the_word() {
    let line = format!("RUN {}apt-get install curl", "x ".repeat(200));
    let column = line.find("curl").unwrap() + 1;
    let (shown, pad) = output::frame(&line, column, true);
    assert!(shown.starts_with('…') && shown.ends_with("curl"));
    assert_eq!(shown.chars().nth(pad.chars().count()), Some('c'));
    let (shown, pad) = output::frame("RUN\tcurl\u{1b}x", 9, false);
    assert_eq!(shown, "RUN\tcurl\\x1bx");
    assert_eq!(pad, "   \t    ");
}

#[test]
fn machine_formats_give_the_instruction_line_and_json_the_exact_span() {
    let source = format!(
        concat!(
            "FROM {PINNED}\n",
            "RUN apt-get update && \\\n",
            "    apt-get install -y --no-install-recommends curl \\\n",
            " && rm -rf /var/lib/apt/lists/*\n",
            "{tail}",
        ),
        PINNED = PINNED,
        tail = tail(),
    );
    let reports = [report(&source)];
    let json: serde_json::Value =
        serde_json::from_str(&output::render(Format::Json, &reports, false)).unwrap();
    let first = &json[0];
    assert_eq!((first["code"].as_str(), first["line"].as_u64()), (Some("DL3008"), Some(2)));
    assert_eq!(first["column"].as_u64(), Some(1));
    assert_eq!(
        (first["span"]["line"].as_u64(), first["span"]["column"].as_u64()),
        (Some(3), Some(48))
    );
    let gnu = output::render(Format::Gnu, &reports, false);
    assert!(gnu.contains("Dockerfile:2:1: warning: DL3008 "), "{gnu}");
    let checkstyle = output::render(Format::Checkstyle, &reports, false);
    assert!(
        checkstyle.contains("<error line=\"2\" column=\"1\" severity=\"warning\""),
        "{checkstyle}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&output::render(Format::Sarif, &reports, false)).unwrap();
    let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(3), Some(48)));
}
