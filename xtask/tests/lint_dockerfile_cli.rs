//! `cargo xtask lint-dockerfile` as a user runs it: ShellCheck through the real
//! `shellcheck` program (one process per run, pragmas and `--ignore` honoured, skipped
//! with a `-v` note when absent), one build-context listing per context, and the
//! closing count on stderr.
//!
//! Without `shellcheck` on PATH the ShellCheck test prints `skipped: <reason>`; in CI
//! (`CI=true`, where `.ci/run` installs it) it fails instead.

mod support;

use support::project::{find_program, run_xtask, text, xtask, TempDir};

fn shellcheck_installed() -> bool {
    if find_program("shellcheck").is_some() {
        return true;
    }
    let reason = "shellcheck is not installed (apt-get install shellcheck)";
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
    eprintln!("skipped: {reason}");
    false
}

fn json(stdout: &[u8]) -> Vec<(String, u64)> {
    let value: serde_json::Value = serde_json::from_slice(stdout).expect("json output");
    let mut found: Vec<(String, u64)> = value
        .as_array()
        .expect("an array")
        .iter()
        .map(|f| (f["code"].as_str().unwrap_or("").to_string(), f["line"].as_u64().unwrap_or(0)))
        .collect();
    found.sort();
    found
}

const BASE: &str = "FROM python:3.12-slim\
                    @sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c\n";
const TAIL: &str = "USER 1000\nHEALTHCHECK CMD [\"true\"]\n";

#[test]
fn shellcheck_findings_use_hadolint_mapping_pragmas_and_one_process() {
    if !shellcheck_installed() {
        return;
    }
    let dir = TempDir::new("lint-shellcheck");
    // A fresh comment makes the scripts new to ShellCheck's result cache.
    let fresh = format!("# {}\n", dir.path.display());
    let first = dir.path.join("a.Dockerfile");
    let second = dir.path.join("b.Dockerfile");
    // ARG names are exported to the script, so $VERSION is not an unquoted unknown.
    let script = "ARG VERSION=1\n\
                  RUN echo $VERSION && echo `date` > /tmp/out\n\
                  # hadolint ignore=SC2164,DL3003\n\
                  RUN cd /tmp\n\
                  RUN echo $UNSET_ONE {fresh}";
    let script = script.replace("{fresh}", &fresh);
    std::fs::write(&first, format!("{BASE}{script}{TAIL}")).unwrap();
    let marker = format!("RUN [ -f $MARKER ] && echo found {fresh}");
    std::fs::write(&second, format!("{BASE}{marker}{TAIL}")).unwrap();
    let (a, b) = (first.to_str().unwrap(), second.to_str().unwrap());
    let out = run_xtask(&["-v", "lint-dockerfile", "--no-context", "--format", "json", a, b]);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("shellcheck --norc").count(), 1, "one process: {stderr}");
    assert_eq!(
        json(&out.stdout),
        vec![
            ("DL3059".to_string(), 6),
            ("SC2006".to_string(), 3),
            ("SC2086".to_string(), 2),
            ("SC2086".to_string(), 6),
        ],
        "{}",
        text(&out.stdout)
    );
    // The same scripts again: ShellCheck's answers come from the cache.
    let again = run_xtask(&["-v", "lint-dockerfile", "--no-context", "--format", "json", a, b]);
    assert_eq!(text(&again.stderr).matches("shellcheck --norc").count(), 0);
    assert_eq!(json(&again.stdout), json(&out.stdout));
    let ignored = run_xtask(&[
        "lint-dockerfile",
        "--no-context",
        "--format",
        "json",
        "--ignore",
        "SC2086",
        b,
    ]);
    assert_eq!(json(&ignored.stdout), vec![]);
    let off =
        run_xtask(&["lint-dockerfile", "--no-context", "--format", "json", "--no-shellcheck", b]);
    assert_eq!(json(&off.stdout), vec![]);
}

#[test]
fn without_shellcheck_the_run_says_so_with_v_only() {
    let dir = TempDir::new("lint-no-shellcheck");
    let file = dir.path.join("Dockerfile");
    std::fs::write(&file, format!("{BASE}RUN cd /tmp\n{TAIL}")).unwrap();
    let path = file.to_str().unwrap();
    let run = |verbose: bool| {
        let mut command = xtask();
        command.env("PATH", "/nonexistent");
        if verbose {
            command.arg("-v");
        }
        command.args(["lint-dockerfile", "--no-context", "--format", "json", path]);
        command.output().expect("xtask runs")
    };
    let quiet = run(false);
    assert_eq!(json(&quiet.stdout), vec![("DL3003".to_string(), 2)]);
    assert!(!text(&quiet.stderr).contains("shellcheck"), "{}", text(&quiet.stderr));
    let verbose = run(true);
    assert!(
        text(&verbose.stderr).contains("shellcheck is not installed"),
        "{}",
        text(&verbose.stderr)
    );
}

#[test]
fn one_context_listing_for_many_dockerfiles() {
    let dir = TempDir::new("lint-context-once");
    std::fs::write(dir.path.join("app.py"), "print(1)\n").unwrap();
    let mut files = Vec::new();
    for i in 0..30 {
        let file = dir.path.join(format!("{i}.Dockerfile"));
        std::fs::write(&file, format!("{BASE}COPY app.py missing{i}.py /app/\n{TAIL}")).unwrap();
        files.push(file.to_str().unwrap().to_string());
    }
    let context = dir.path.to_str().unwrap();
    let mut args =
        vec!["-v", "lint-dockerfile", "--no-shellcheck", "--format", "json", "--context", context];
    args.extend(files.iter().map(String::as_str));
    let out = run_xtask(&args);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("1 build context listing(s) for 30 Dockerfile(s)"), "{stderr}");
    let found = json(&out.stdout);
    assert_eq!(found.len(), 30, "one SCY008 per file: {found:?}");
    assert!(found.iter().all(|(code, line)| code == "SCY008" && *line == 2));
}

#[test]
fn long_scripts_are_left_to_the_other_rules() {
    if !shellcheck_installed() {
        return;
    }
    let dir = TempDir::new("lint-long-run");
    let file = dir.path.join("Dockerfile");
    let words = "$a ".repeat(30_000);
    std::fs::write(&file, format!("{BASE}RUN echo {words}\n{TAIL}")).unwrap();
    let out = run_xtask(&[
        "-v",
        "lint-dockerfile",
        "--no-context",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("1 RUN script(s) over 64 KB (the first on line 2)"), "{stderr}");
    assert_eq!(stderr.matches("shellcheck --norc").count(), 0, "{stderr}");
    assert_eq!(json(&out.stdout), vec![]);
}

#[test]
fn a_run_ends_with_a_count_on_stderr_unless_quiet() {
    let dir = TempDir::new("lint-summary");
    let clean = dir.path.join("Dockerfile");
    std::fs::write(&clean, format!("{BASE}{TAIL}")).unwrap();
    let dirty = dir.path.join("app.Dockerfile");
    std::fs::write(&dirty, format!("{BASE}RUN cd /tmp\n{TAIL}")).unwrap();
    let (clean, dirty) = (clean.to_str().unwrap(), dirty.to_str().unwrap());
    let lint = |args: &[&str]| {
        let mut all = vec!["lint-dockerfile", "--no-context", "--no-shellcheck"];
        all.extend(args);
        run_xtask(&all)
    };
    let out = lint(&[clean]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "", "tty prints findings only");
    assert_eq!(text(&out.stderr), "lint-dockerfile: 1 Dockerfile(s), no findings\n");
    let out = lint(&["--format", "json", clean, dirty]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout), vec![("DL3003".to_string(), 2)], "stdout stays JSON");
    assert_eq!(text(&out.stderr), "lint-dockerfile: 2 Dockerfile(s), 1 finding(s) (warning 1)\n");
    let quiet = run_xtask(&["-q", "lint-dockerfile", "--no-context", "--no-shellcheck", clean]);
    assert_eq!((quiet.status.code(), text(&quiet.stderr)), (Some(0), String::new()));
}
