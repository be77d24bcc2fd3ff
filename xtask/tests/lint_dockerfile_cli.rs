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

#[test]
fn codes_that_name_no_rule_are_warned_about_once_each() {
    let dir = TempDir::new("lint-unknown-codes");
    let file = dir.path.join("Dockerfile");
    std::fs::write(&file, format!("{BASE}{TAIL}")).unwrap();
    let config = dir.path.join("lint.yaml");
    std::fs::write(&config, "ignored: [nope, DL3068]\noverride:\n  error: [SCY0044]\n").unwrap();
    let (file, config) = (file.to_str().unwrap(), config.to_str().unwrap());
    let ignores = ["NOPE", "DL3O08", "DL3005", "SC2086", "dl3008"];
    let lint = |global: &[&str]| {
        let mut args = global.to_vec();
        args.extend(["lint-dockerfile", "--no-context", "--no-shellcheck", "--config", config]);
        args.push(file);
        args.extend(ignores.iter().flat_map(|code| ["--ignore", code]));
        run_xtask(&args)
    };
    let out = lint(&[]);
    assert_eq!(out.status.code(), Some(0), "warnings do not fail the run");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let rule_list = "`cargo xtask lint-dockerfile --list-rules` lists them";
    assert_eq!(
        lines,
        [
            format!(
                "WARNING: lint-dockerfile: NOPE in `ignored` of {config} is not a rule code, \
                 so it changes nothing; {rule_list}"
            )
            .as_str(),
            &format!(
                "lint-dockerfile: DL3068 in `ignored` of {config} is a hadolint rule this \
                 linter does not check; it is not used"
            ),
            &format!(
                "WARNING: lint-dockerfile: SCY0044 in `override` of {config} is not a rule \
                 code, so it changes nothing (did you mean SCY004?); {rule_list}"
            ),
            &format!(
                "WARNING: lint-dockerfile: DL3O08 in --ignore is not a rule code, so it \
                 changes nothing (did you mean DL3008?); {rule_list}"
            ),
            "lint-dockerfile: DL3005 in --ignore is a hadolint rule this linter does not \
             check; it is not used",
            "lint-dockerfile: 1 Dockerfile(s), no findings",
        ],
        "{stderr}"
    );
    let quiet = text(&lint(&["-q"]).stderr);
    assert_eq!(quiet.lines().count(), 3, "-q keeps the warnings only: {quiet}");
    assert!(quiet.lines().all(|line| line.starts_with("WARNING: ")), "{quiet}");
}

#[test]
fn list_rules_prints_the_catalog_and_lints_nothing() {
    let out = run_xtask(&["lint-dockerfile", "--list-rules"]);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    assert!(listing.lines().any(|line| line.starts_with("DL3008  warning  ")), "{listing}");
    assert!(listing.lines().any(|line| line.starts_with("SCY008  error    ")), "{listing}");
    assert_eq!(text(&out.stderr), "", "no Dockerfile was linted");
}

#[test]
fn help_has_examples_exit_codes_and_the_default_file_set() {
    let out = run_xtask(&["lint-dockerfile", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    // clap wraps long help lines; compare the words.
    let help = text(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Examples: cargo xtask lint-dockerfile "), "{help}");
    assert!(help.contains("cargo xtask lint-dockerfile --list-rules"), "{help}");
    assert!(
        help.contains("Exit codes: 0 no finding at or above the failure threshold, 1 at least one"),
        "{help}"
    );
    let default = "named Dockerfile, Containerfile, *.Dockerfile, *.Containerfile, Dockerfile.* \
                   or Containerfile.* (not *.dockerignore), outside target/, .git/ and \
                   node_modules/";
    assert!(help.contains(default), "{help}");
}
