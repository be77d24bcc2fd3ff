//! Flag parsing, mode selection, exit-code mapping and `--static` on files
//! (no engine needed).

use clap::{CommandFactory, Parser};

use super::*;
use crate::engine::exec::Signal;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
    Cli::try_parse_from(std::iter::once("healthcheck").chain(argv.iter().copied()))
        .map(|cli| cli.args)
}

fn root() -> Utf8PathBuf {
    Utf8PathBuf::from("/project")
}

#[test]
fn flags_are_well_formed() {
    Cli::command().debug_assert();
}

#[test]
fn defaults_check_the_scylla_image_for_up_to_a_minute() {
    let args = parse(&[]).unwrap();
    assert_eq!(args.mode(&root()), Mode::Image("scylla-runner:latest".to_string()));
    assert_eq!(args.timeout, Duration::from_secs(60));
    assert_eq!(args.format, Format::Text);
}

#[test]
fn each_mode_comes_from_its_flag() {
    let args = parse(&["--image", "x:1", "--timeout", "500ms", "--format", "json"]).unwrap();
    assert_eq!(args.mode(&root()), Mode::Image("x:1".to_string()));
    assert_eq!(args.timeout, Duration::from_millis(500));
    assert_eq!(args.format, Format::Json);
    let args = parse(&["--container", "box", "--timeout", "2m"]).unwrap();
    assert_eq!(args.mode(&root()), Mode::Container("box".to_string()));
    assert_eq!(args.timeout, Duration::from_secs(120));
    let args = parse(&["--static"]).unwrap();
    assert_eq!(args.mode(&root()), Mode::Static("/project/docker/Dockerfile".into()));
    let args = parse(&["--static", "--file", "/abs/Dockerfile"]).unwrap();
    assert_eq!(args.mode(&root()), Mode::Static("/abs/Dockerfile".into()));
}

#[test]
fn contradictory_or_bad_flags_are_usage_errors() {
    for argv in [
        &["--image", "a", "--container", "b"][..],
        &["--image", "a", "--static"],
        &["--container", "b", "--static"],
        &["--image", ""],
        &["--timeout", "0"],
        &["--timeout", "soon"],
        &["--format", "yaml"],
    ] {
        let error = parse(argv).unwrap_err();
        assert!(error.use_stderr(), "{argv:?} was accepted");
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("0 healthy, 1 unhealthy"), "{help}");
    assert!(help.contains("2 could not check"), "{help}");
}

#[test]
fn static_mode_reads_the_file_and_reports_findings() {
    let dir = tempfile::tempdir().unwrap();
    let file = Utf8PathBuf::from_path_buf(dir.path().join("Dockerfile")).unwrap();
    std::fs::write(&file, "FROM a\nHEALTHCHECK NONE\n").unwrap();
    let report = check_static(&file).unwrap();
    assert_eq!(report.status, Status::Unhealthy);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].line, 2);
    assert_eq!(report.to_json()["status"], "unhealthy");
}

#[test]
fn static_mode_passes_on_the_project_dockerfile() {
    let root = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let report = check_static(&root.join("docker/Dockerfile")).unwrap();
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.status, Status::Healthy);
}

#[test]
fn a_missing_dockerfile_is_exit_2_with_a_hint() {
    let error = check_static(camino::Utf8Path::new("/nonexistent/Dockerfile")).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.starts_with("cannot read /nonexistent/Dockerfile"), "{text}");
    assert!(text.contains("--file PATH"), "{text}");
    assert_eq!(exit_code_for(&error), 2);
}

#[test]
fn verdicts_map_to_exit_codes() {
    let ctx = Context::new(root(), crate::context::Verbosity::Quiet, false, None);
    let report = |status| Report::new("image", "x", status);
    assert_eq!(outcome(&ctx, &report(Status::Healthy)).unwrap(), Outcome::Success);
    assert_eq!(outcome(&ctx, &report(Status::Unhealthy)).unwrap(), Outcome::Failure);
    let mut interrupted = report(Status::Interrupted(Signal::Interrupt));
    interrupted.error = verdict_error(interrupted.status, Duration::from_secs(3));
    assert_eq!(outcome(&ctx, &interrupted).unwrap(), Outcome::Code(130));
    let mut timed_out = report(Status::TimedOut);
    timed_out.error = verdict_error(Status::TimedOut, Duration::from_secs(3));
    let error = outcome(&ctx, &timed_out).unwrap_err();
    assert!(error.to_string().starts_with("no health verdict within 3.0s"), "{error}");
    assert_eq!(exit_code_for(&error), 2);
}

#[test]
fn every_failure_to_check_exits_2() {
    let plain = anyhow::anyhow!("cannot parse the output of `docker inspect`");
    let error = could_not_check(plain.context("cannot check x"));
    assert_eq!(exit_code_for(&error), 2);
    assert_eq!(error.to_string(), "cannot check x: cannot parse the output of `docker inspect`");
    let already = usage("no image x");
    assert_eq!(could_not_check(already).to_string(), "no image x");
}
