//! The command line without an engine: help, usage errors, and the messages
//! for a missing engine program and an unreachable daemon.

mod support;

use support::project::{text, xtask};

#[test]
fn help_lists_every_task_with_examples() {
    let out = xtask().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = text(&out.stdout);
    for task in ["docker-build", "run-experiment", "shell"] {
        assert!(help.contains(task), "{task} missing from --help:\n{help}");
    }
    assert!(help.contains("cargo xtask run-experiment -- --tiers T0"), "{help}");
    let out = xtask().args(["run-experiment", "--help"]).output().unwrap();
    assert!(text(&out.stdout).contains("--cache-volumes"));
}

#[test]
fn usage_errors_exit_2() {
    let out = xtask().args(["run-experiment", "--pids-limit", "lots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // NAME=VALUE is a plain setting now; a bad name is refused without its value.
    let out =
        xtask().args(["run-experiment", "--env", "TO-KEN=hunter2", "--no-build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--env takes NAME or NAME=VALUE") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

#[test]
fn missing_engine_says_install_it() {
    let empty = support::project::TempDir::new("empty-path");
    let out =
        xtask().args(["run-experiment", "--no-build"]).env("PATH", &empty.path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("ERROR: Docker is not installed or not in PATH"), "{stderr}");
    assert!(stderr.contains("apt-get install -y docker.io"), "{stderr}");
    let out = xtask()
        .args(["--engine", "podman", "run-experiment", "--no-build"])
        .env("PATH", &empty.path)
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("Podman is not installed or not in PATH"));
}

#[test]
fn stopped_daemon_says_start_it() {
    if support::project::find_program("docker").is_none() {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no docker client on PATH to talk to a stopped daemon"
        );
        assert!(
            std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() != Ok("1"),
            "docker client required"
        );
        return;
    }
    let out = xtask()
        .args(["run-experiment", "--no-build"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("ERROR: Docker daemon is not running"), "{stderr}");
    assert!(stderr.contains("start it:"), "{stderr}");
}

#[test]
fn shell_refuses_without_a_terminal() {
    let out = xtask().args(["shell", "--no-build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("shell needs a terminal"), "{}", text(&out.stderr));
}
