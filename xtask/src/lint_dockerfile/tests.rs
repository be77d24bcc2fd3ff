//! Rule tests on raw-string Dockerfiles: each asserts the exact findings.

use super::*;

fn codes(src: &str) -> Vec<(&'static str, usize)> {
    lint(src, &Options::default()).into_iter().map(|f| (f.code, f.line)).collect()
}

#[test]
fn file_names_for_discovery() {
    for yes in
        ["Dockerfile", "Containerfile", "app.Dockerfile", "Dockerfile.dev", "Containerfile.ci"]
    {
        assert!(is_dockerfile_name(yes), "{yes}");
    }
    for no in
        ["Dockerfile.dockerignore", "dockerfile", "x.dockerfile", ".Dockerfile", "Dockerfile."]
    {
        assert!(!is_dockerfile_name(no), "{no}");
    }
}

const PINNED: &str =
    "python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c";

/// A compliant final stage to append, so project rules stay quiet in rule tests.
fn tail() -> String {
    "USER app\nHEALTHCHECK CMD [\"true\"]\n".to_string()
}

#[test]
fn a_clean_file_has_no_findings() {
    let src = format!(
        "# syntax=docker/dockerfile:1\nARG BASE={PINNED}\nFROM $BASE AS builder\nWORKDIR /src\nCOPY pyproject.toml ./\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY src/ src/\nRUN pip install --no-cache-dir --no-deps .\nFROM {PINNED}\nCOPY --from=builder /src /app\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends git=1:2.39 \\\n && rm -rf /var/lib/apt/lists/*\n{}ENTRYPOINT [\"app\"]\n",
        tail()
    );
    assert_eq!(codes(&src), vec![]);
}

#[test]
fn apt_rules_point_at_the_command_or_the_package() {
    let src = format!("FROM {PINNED}\nRUN echo start && \\\n    apt-get install curl\n{}", tail());
    let found: Vec<(&str, usize, usize, Option<usize>)> = lint(&src, &Options::default())
        .iter()
        .map(|f| (f.code, f.line, f.column, f.instruction))
        .collect();
    assert_eq!(
        found,
        vec![("DL3014", 3, 5, Some(1)), ("DL3015", 3, 5, Some(1)), ("DL3008", 3, 21, Some(1)),]
    );
}

#[test]
fn pragmas_silence_the_next_instruction_or_the_file() {
    let src = format!(
        "FROM {PINNED}\n# hadolint ignore=DL3008,DL3015\nRUN apt-get install -y curl\nRUN apt-get install -y wget\n{}",
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
        lint(&src, &options).iter().map(|f| (f.code, f.severity)).collect();
    assert_eq!(found, vec![("DL3008", Severity::Error)]);
    options.ignored.push("DL3008".into());
    assert!(lint(&src, &options).is_empty());
    let unhealthy = format!("FROM {PINNED}\nUSER app\n");
    let found: Vec<&str> = lint(&unhealthy, &options).iter().map(|f| f.code).collect();
    assert_eq!(found, vec!["DL3057", "SCY004"]);
}

#[test]
fn project_rules() {
    let src = "ARG NODE=node:20\nFROM $NODE AS node\nFROM python:3.12\nENV API_KEY=x GITHUB_TOKEN=y TOKENIZERS_PARALLELISM=false\nCOPY . /app\nRUN pip install --no-cache-dir -r /app/requirements.txt\nRUN npm install -g @anthropic-ai/claude-code@^1 left-pad@1.3.0\nRUN curl -fsSL https://x | bash\nCMD [\"x\"]\nUSER app\n";
    let mut found = codes(src);
    found.sort();
    let mut expected = vec![
        ("SCY001", 2),
        ("SCY001", 3),
        ("SCY007", 4),
        ("SCY007", 4),
        ("SCY002", 6),
        ("DL3059", 7),
        ("SCY005", 7),
        ("DL4006", 8),
        ("SCY006", 8),
        ("SCY003", 10),
        ("SCY004", 3),
    ];
    expected.sort();
    assert_eq!(found, expected);
}

/// A scratch directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn copy_sources_must_be_in_the_context() {
    let unique =
        format!("lint-dockerfile-context-{}-{:?}", std::process::id(), std::thread::current().id());
    let dir = TempDir(std::env::temp_dir().join(unique.replace(['(', ')'], "")));
    let root = camino::Utf8PathBuf::from_path_buf(dir.0.clone()).expect("a UTF-8 temp dir");
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
        "FROM {PINNED}\nCOPY README.md KEEP.md /app/\nCOPY secret.txt missing.txt src/*.py /app/src/\nADD https://example.com/x /x\nCOPY --from=0 /nowhere /x\nCOPY $DIR/x /x\n{}",
        tail()
    );
    std::fs::write(root.join("Dockerfile"), &dockerfile).expect("write the Dockerfile");
    let view =
        ContextView::list(&root, &root.join("Dockerfile"), crate::build_context::Builder::Classic)
            .expect("list the context");
    let options = Options { context: Some(view), ..Options::default() };
    let found: Vec<(&str, usize, usize)> =
        lint(&dockerfile, &options).iter().map(|f| (f.code, f.line, f.column)).collect();
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
