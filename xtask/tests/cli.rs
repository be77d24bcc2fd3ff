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

#[test]
fn container_engine_errors_name_the_variable_and_empty_means_unset() {
    let out = xtask()
        .args(["run-experiment", "--no-build"])
        .env("CONTAINER_ENGINE", "nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("ERROR: CONTAINER_ENGINE is set to `nonexistent`"), "{stderr}");
    assert!(stderr.contains("docker, podman") && !stderr.contains("'--engine"), "{stderr}");
    // Empty is unset: the default engine is looked for (and is missing from this PATH).
    let empty = support::project::TempDir::new("empty-path");
    let out = xtask()
        .args(["run-experiment", "--no-build"])
        .env("CONTAINER_ENGINE", "")
        .env("PATH", &empty.path)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("ERROR: Docker is not installed or not in PATH"), "{stderr}");
}

/// Runs `run-experiment ARGS` with an empty PATH: an error about the flags
/// (rather than about the missing engine) shows they were checked first.
fn run_without_engine(args: &[&str]) -> (Option<i32>, String) {
    let empty = support::project::TempDir::new("empty-path");
    let out = xtask()
        .arg("run-experiment")
        .args(args)
        .args(["--no-build", "--", "--tiers", "T0"])
        .env("PATH", &empty.path)
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn resource_limits_are_checked_before_the_engine_with_the_range() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let cases: [(&[&str], String); 8] = [
        (&["--memory", "0"], "--memory takes a size of at least 6m".into()),
        (&["--memory", "1k"], "--memory takes a size of at least 6m".into()),
        (&["--memory", "8x"], "in the engine's units".into()),
        (&["--cpus=-1"], format!("--cpus takes a number of CPUs from 0.01 to {cpus}")),
        (&["--cpus", "999"], format!("(this machine has {cpus}), got `999`")),
        // A value starting with `-` is the flag's value, not a flag or a tip to write `-- -1`.
        (&["--cpus", "-1"], "got `-1`".into()),
        (&["--pids-limit", "-1"], "--pids-limit takes a whole number".into()),
        (&["--memory", "-1g"], "got `-1g`".into()),
    ];
    for (args, expected) in cases {
        let (code, stderr) = run_without_engine(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("ERROR: "), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(!stderr.contains("-- -1"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_hash_cache_follows_xdg_cache_home_and_an_unwritable_one_costs_only_speed() {
    let cache = support::project::TempDir::new("xdg-cache");
    let list = |xdg: &std::path::Path, verbose: bool| {
        let mut command = xtask();
        if verbose {
            command.arg("-v");
        }
        command.args(["docker-build", "--list-context"]).env("XDG_CACHE_HOME", xdg);
        command.output().unwrap()
    };
    let out = list(&cache.path, false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let saved: Vec<_> = std::fs::read_dir(cache.path.join("scylla-xtask")).unwrap().collect();
    assert!(!saved.is_empty(), "no cache under $XDG_CACHE_HOME/scylla-xtask");

    // A cache directory that cannot be created (its parent is a file, which
    // stops root too): the task still succeeds; -v says why it got slower.
    let file = cache.path.join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let unwritable = file.join("cache");
    let out = list(&unwritable, false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), listed);
    assert!(!text(&out.stderr).contains("hash cache not saved"), "{}", text(&out.stderr));
    let out = list(&unwritable, true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("note: hash cache not saved (cannot create"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_empty_extras_group_is_named_as_empty() {
    for value in ["", "dev,"] {
        let out = xtask().args(["docker-build", "--extras", value]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("ERROR: --extras takes group names"), "{value:?}: {stderr}");
        assert!(stderr.contains("and one is empty") && stderr.contains("declares: "), "{stderr}");
    }
}

#[test]
fn a_missing_project_directory_is_refused_before_anything_is_created() {
    let parent = support::project::TempDir::new("project-parent");
    let missing = parent.path.join("typo");
    let out = xtask()
        .args(["--project-dir", missing.to_str().unwrap(), "run-experiment", "--no-build"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("ERROR: the project directory"), "{stderr}");
    assert!(stderr.contains("--project-dir DIR"), "{stderr}");
    assert!(!missing.exists(), "the task created the mistyped directory");
    // shell mounts it too (--dry-run: no terminal needed to get this far).
    let out = xtask()
        .args(["--dry-run", "--project-dir", missing.to_str().unwrap(), "shell", "--no-build"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("ERROR: the project directory"));
    // Every task: the engine-free ones would look for the wrong files there.
    for task in [&["report"][..], &["lint-dockerfile"], &["healthcheck", "--static"]] {
        let out = xtask().args(["--project-dir", missing.to_str().unwrap()]).args(task).output();
        let out = out.unwrap();
        assert_eq!(out.status.code(), Some(2), "{task:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("ERROR: the project directory"), "{task:?}: {stderr}");
    }
    let out = xtask().args(["--project-dir", "", "report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("ERROR: --project-dir needs a directory"));
}

#[test]
fn an_empty_project_dir_variable_is_unset_and_a_bad_engine_variable_stops_only_engine_tasks() {
    let out = xtask()
        .args(["lint-dockerfile", "--format", "json"])
        .env("SCYLLA_PROJECT_DIR", "")
        .env("CONTAINER_ENGINE", "foo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = xtask().args(["--dry-run", "healthcheck"]).env("CONTAINER_ENGINE", "foo").output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("ERROR: CONTAINER_ENGINE is set to `foo`"));
}

#[test]
fn a_bad_image_name_is_a_usage_error_before_any_engine_call() {
    // An empty PATH: were the engine looked for first, the error would be "not installed".
    let cases: [&[&str]; 4] = [
        &["run-experiment", "--image", "bad name", "--", "--tiers", "T0"],
        &["run-experiment", "--swarm", "--image", "Bad:x"],
        &["docker-build", "--tag", "bad name"],
        &["docker-build", "--tag", "x@sha256:12"],
    ];
    for args in cases {
        let out = xtask().args(args).env("PATH", "").output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("ERROR: --"), "{args:?}: {stderr}");
        assert!(stderr.contains("takes an image name like scylla-runner:latest"), "{stderr}");
    }
}
