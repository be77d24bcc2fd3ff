//! `cargo xtask healthcheck` against a real engine, through the library API.
//!
//! The healthy image is the project image, built from `docker/Dockerfile` with
//! the offline bases named in `.xtask/build-args` (written by
//! `tests/offline/prepare.sh`); the other images derive from it, so they keep
//! its entrypoint and HEALTHCHECK. Every image and container a test makes has a
//! unique name and [`TEST_LABEL`] and is removed on drop; after every check the
//! test asserts that no container of the task is left.

mod engine_gate;

use std::time::{Duration, Instant};

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Output, Stdio};

use camino::Utf8PathBuf;
use engine_gate::{engine, unique_name, Engine, Resource, TEST_LABEL};
use xtask::context::{Context, Verbosity};
use xtask::engine::exec::Signal;
use xtask::error::{exit_code_for, Outcome};
use xtask::healthcheck::report::{Report, Status};
use xtask::healthcheck::{check, Args, Format, Mode};

/// The label the task puts on its throwaway containers.
const TASK_LABEL: &str = "org.scylla.xtask.role=healthcheck";

fn workspace_root() -> Utf8PathBuf {
    Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn context(dry_run: bool) -> Context {
    Context::new(workspace_root(), Verbosity::Quiet, dry_run, Some("docker".to_string()))
}

/// `docker build` (legacy builder, as on this project's CI) in `dir`, with
/// `stdin` as the Dockerfile when given; panics with the engine's output on failure.
#[allow(clippy::disallowed_methods)]
fn build(engine: &Engine, argv: &[String], dir: Option<&std::path::Path>, stdin: Option<&str>) {
    let mut command = Command::new(&engine.program);
    command.args(argv).env("DOCKER_BUILDKIT", "0").stdin(Stdio::piped());
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("docker build starts");
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("dockerfile written");
    drop(input);
    let output = child.wait_with_output().expect("docker build ends");
    assert!(
        output.status.success(),
        "docker {argv:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs one (ignored) test of this binary in a child process of its own
/// process group, with `env` added.
#[allow(clippy::disallowed_methods)]
fn spawn_self_in_new_group(test: &str, env: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary");
    Command::new(exe)
        .args(["--ignored", "--exact", test, "--test-threads", "1"])
        .envs(env.iter().copied())
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the child test starts")
}

/// `kill -INT -- -PGID`: SIGINT to every process of the group, as Ctrl-C does.
#[allow(clippy::disallowed_methods)]
fn interrupt_group(pgid: u32) {
    let status =
        Command::new("kill").args(["-INT", "--", &format!("-{pgid}")]).status().expect("kill runs");
    assert!(status.success(), "kill -INT -{pgid} failed");
}

/// Waits for `child` at most `limit`, killing it past that.
fn wait_bounded(child: &mut Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("child status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut output = Output {
        status: child.wait().expect("child status"),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read as _;
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut output.stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut output.stderr);
    }
    output
}

/// The offline bases (`NAME=value` lines of `.xtask/build-args`).
fn build_args() -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(workspace_root().join(".xtask/build-args")).ok()?;
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    pairs.iter().any(|(name, _)| name == "PYTHON_BASE").then_some(pairs)
}

/// The engine and the offline bases, or `None` after saying why the test is skipped.
fn setup() -> Option<(Engine, Vec<(String, String)>)> {
    let engine = engine()?;
    match build_args() {
        Some(args) => Some((engine, args)),
        None => engine_gate::skip(
            "no offline bases in .xtask/build-args (run tests/offline/prepare.sh)",
        ),
    }
}

fn python_base(args: &[(String, String)]) -> String {
    args.iter().find(|(name, _)| name == "PYTHON_BASE").map(|(_, value)| value.clone()).unwrap()
}

/// Builds the project image from `docker/Dockerfile` with the offline bases.
fn project_image(engine: &Engine, args: &[(String, String)]) -> (String, Resource) {
    let tag = format!("{}:healthy", unique_name("scylla-hc-test"));
    let resource = Resource::image(engine, &tag);
    let mut argv: Vec<String> = ["build", "--quiet", "--file", "docker/Dockerfile", "--tag", &tag]
        .map(String::from)
        .to_vec();
    // A label of its own gives the image an id of its own, so that `ancestor=`
    // filters do not match the containers of other tests' identical builds.
    argv.extend(["--label".to_string(), TEST_LABEL.to_string()]);
    argv.extend(["--label".to_string(), format!("org.scylla.xtask-test.image={tag}")]);
    for (name, value) in args {
        argv.extend(["--build-arg".to_string(), format!("{name}={value}")]);
    }
    argv.extend(["--build-arg".to_string(), "INSTALL_CLAUDE_CODE=0".to_string(), ".".to_string()]);
    build(engine, &argv, Some(workspace_root().as_std_path()), None);
    (tag, resource)
}

/// Builds `FROM base` plus `lines` from a Dockerfile on stdin (no context).
fn derived_image(engine: &Engine, base: &str, suffix: &str, lines: &str) -> (String, Resource) {
    let tag = format!("{}:{suffix}", unique_name("scylla-hc-test"));
    let resource = Resource::image(engine, &tag);
    let dockerfile =
        format!("FROM {base}\nLABEL {TEST_LABEL} org.scylla.xtask-test.image={tag}\n{lines}\n");
    let argv = ["build", "--quiet", "--tag", &tag, "-"].map(String::from);
    build(engine, &argv, None, Some(&dockerfile));
    (tag, resource)
}

/// No container of the task, from any image given, exists any more.
fn assert_no_leftovers(engine: &Engine, image: &str) {
    let ancestor = format!("ancestor={image}");
    let label = format!("label={TASK_LABEL}");
    let out = engine.run(&["ps", "--all", "--quiet", "--filter", &label, "--filter", &ancestor]);
    assert_eq!(String::from_utf8_lossy(&out).trim(), "", "containers left behind from {image}");
}

fn assert_gone(engine: &Engine, report: &Report) {
    let name = report.container.as_deref().expect("the report names its container");
    assert!(name.starts_with("scylla-healthcheck-"), "{name}");
    let filter = format!("name=^{name}$");
    let out = engine.run(&["ps", "--all", "--quiet", "--filter", &filter]);
    assert_eq!(String::from_utf8_lossy(&out).trim(), "", "{name} was not removed");
}

fn image_args(image: &str, timeout: &str, format: Format) -> Args {
    Args {
        image: Some(image.to_string()),
        container: None,
        static_check: false,
        file: "docker/Dockerfile".into(),
        timeout: xtask::healthcheck::plan::parse_timeout(timeout).unwrap(),
        format,
    }
}

fn container_args(name: &str, timeout: &str) -> Args {
    Args {
        image: None,
        container: Some(name.to_string()),
        ..image_args("unused", timeout, Format::Text)
    }
}

#[test]
fn the_project_image_is_healthy_within_seconds() {
    let Some((engine, args)) = setup() else { return };
    let (image, _image) = project_image(&engine, &args);
    let started = Instant::now();
    let report = check(&context(false), &Mode::Image(image.clone()), Duration::from_secs(60))
        .unwrap()
        .expect("a report outside --dry-run");
    let took = started.elapsed();
    assert_eq!(report.status, Status::Healthy, "{report:?}");
    let probe = report.last_probe.clone().expect("a probe ran");
    assert_eq!(probe.exit_code, 0);
    assert_eq!(probe.output.trim(), "OK");
    assert!(report.probes >= 1, "{report:?}");
    // The image probes every 30s; the check must not wait for that.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(report.duration < Duration::from_secs(10), "{report:?}");
    assert_eq!(report.to_json()["status"], "healthy");
    assert_gone(&engine, &report);
    assert_no_leftovers(&engine, &image);
}

#[test]
fn an_image_whose_package_does_not_import_is_unhealthy_with_the_error_shown() {
    let Some((engine, args)) = setup() else { return };
    let (healthy, _healthy) = project_image(&engine, &args);
    let broken_lines = "USER root\nRUN rm -rf /opt/scylla/lib/scylla\nUSER scylla";
    let (image, _image) = derived_image(&engine, &healthy, "broken", broken_lines);
    let report = check(&context(false), &Mode::Image(image.clone()), Duration::from_secs(60))
        .unwrap()
        .expect("a report outside --dry-run");
    assert_eq!(report.status, Status::Unhealthy, "{report:?}");
    let probe = report.last_probe.clone().expect("a probe ran");
    assert_eq!(probe.exit_code, 1);
    assert!(probe.output.contains("No module named 'scylla'"), "{probe:?}");
    // The image declares --retries=3, and the check keeps it.
    assert_eq!(report.probes, 3, "{report:?}");
    let text = report.text_lines().join("\n");
    assert!(text.starts_with(&format!("unhealthy: image {image} (3 probes in ")), "{text}");
    assert!(text.contains("ModuleNotFoundError: No module named 'scylla'"), "{text}");
    assert_gone(&engine, &report);
    // The task's exit code for the same image: 1.
    let outcome = image_args(&image, "60s", Format::Json).run(&context(false)).unwrap();
    assert_eq!(outcome, Outcome::Failure);
    assert_no_leftovers(&engine, &image);
}

#[test]
fn an_image_without_healthcheck_is_exit_2_and_starts_nothing() {
    let Some((engine, args)) = setup() else { return };
    // The base declares no HEALTHCHECK.
    let (image, _image) = derived_image(&engine, &python_base(&args), "nohealthcheck", "");
    let error = image_args(&image, "60s", Format::Text).run(&context(false)).unwrap_err();
    assert_eq!(exit_code_for(&error), 2);
    let text = error.to_string();
    assert!(text.starts_with(&format!("image {image} has no HEALTHCHECK")), "{text}");
    assert!(text.contains("cargo xtask healthcheck --static"), "{text}");
    assert_no_leftovers(&engine, &image);
}

#[test]
fn an_image_with_healthcheck_none_is_exit_2() {
    let Some((engine, args)) = setup() else { return };
    let (healthy, _healthy) = project_image(&engine, &args);
    let (image, _image) = derived_image(&engine, &healthy, "disabled", "HEALTHCHECK NONE");
    let error = image_args(&image, "60s", Format::Json).run(&context(false)).unwrap_err();
    assert_eq!(exit_code_for(&error), 2);
    let text = error.to_string();
    assert!(text.starts_with(&format!("image {image} disables its health check")), "{text}");
    assert_no_leftovers(&engine, &image);
}

#[test]
fn a_missing_image_is_exit_2() {
    let Some(_engine) = engine() else { return };
    let image = format!("{}:absent", unique_name("scylla-hc-test"));
    let error = image_args(&image, "60s", Format::Text).run(&context(false)).unwrap_err();
    assert_eq!(exit_code_for(&error), 2);
    assert!(error.to_string().starts_with(&format!("no image {image}\n")), "{error}");
}

#[test]
fn dry_run_starts_nothing() {
    let Some((engine, args)) = setup() else { return };
    let (image, _image) = project_image(&engine, &args);
    let report =
        check(&context(true), &Mode::Image(image.clone()), Duration::from_secs(60)).unwrap();
    assert_eq!(report, None);
    assert_no_leftovers(&engine, &image);
}

/// Starts a container the way `shell` does (kept alive, not removed by the task).
fn running_container(engine: &Engine, image: &str, extra: &[&str]) -> (String, Resource) {
    let name = unique_name("scylla-hc-test-box");
    let resource = Resource::container(engine, &name);
    let mut argv = vec!["run", "--detach", "--init", "--name", &name, "--label", TEST_LABEL];
    argv.extend_from_slice(extra);
    argv.extend_from_slice(&[image, "sleep", "300"]);
    engine.run(&argv);
    (name, resource)
}

const FAST_PROBE: [&str; 4] = ["--health-interval", "1s", "--health-start-period", "1ms"];

#[test]
fn container_mode_waits_while_starting_and_reports_healthy() {
    let Some((engine, args)) = setup() else { return };
    let (image, _image) = project_image(&engine, &args);
    let (name, _container) = running_container(&engine, &image, &FAST_PROBE);
    // Checked at once: the container is still `starting`, so the task waits.
    let report = check(&context(false), &Mode::Container(name.clone()), Duration::from_secs(30))
        .unwrap()
        .expect("container mode always reports");
    assert_eq!(report.status, Status::Healthy, "{report:?}");
    assert_eq!(report.last_probe.as_ref().map(|probe| probe.output.trim()), Some("OK"));
    assert!(report.probes >= 1, "{report:?}");
    assert!(report.duration >= Duration::from_millis(500), "did not wait: {report:?}");
    assert_eq!(report.container, None);
    // The task leaves a container it did not start alone.
    let filter = format!("name=^{name}$");
    let out = engine.run(&["ps", "--quiet", "--filter", &filter]);
    assert!(!String::from_utf8_lossy(&out).trim().is_empty(), "{name} is gone");
    let outcome = container_args(&name, "30s").run(&context(false)).unwrap();
    assert_eq!(outcome, Outcome::Success);
}

#[test]
fn container_mode_reports_an_unhealthy_container() {
    let Some((engine, args)) = setup() else { return };
    let (healthy, _healthy) = project_image(&engine, &args);
    let broken_lines = "USER root\nRUN rm -rf /opt/scylla/lib/scylla\nUSER scylla";
    let (image, _image) = derived_image(&engine, &healthy, "broken", broken_lines);
    let (name, _container) = running_container(&engine, &image, &FAST_PROBE);
    let outcome = container_args(&name, "30s").run(&context(false)).unwrap();
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn container_mode_without_a_verdict_in_time_is_exit_2() {
    let Some((engine, args)) = setup() else { return };
    let (image, _image) = project_image(&engine, &args);
    // The image's own timing: no probe for 30s.
    let (name, _container) = running_container(&engine, &image, &[]);
    let started = Instant::now();
    let error = container_args(&name, "1s").run(&context(false)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(exit_code_for(&error), 2);
    assert!(error.to_string().starts_with("no health verdict within 1.0s"), "{error}");
}

#[test]
fn container_mode_refuses_what_it_cannot_check() {
    let Some((engine, args)) = setup() else { return };
    let missing = unique_name("scylla-hc-test-none");
    let error = container_args(&missing, "5s").run(&context(false)).unwrap_err();
    assert_eq!(exit_code_for(&error), 2);
    assert!(error.to_string().starts_with(&format!("no container named {missing}\n")), "{error}");

    let (plain, _plain) = running_container(&engine, &python_base(&args), &[]);
    let error = container_args(&plain, "5s").run(&context(false)).unwrap_err();
    assert_eq!(exit_code_for(&error), 2);
    assert!(error.to_string().starts_with(&format!("container {plain} has no health check")));

    let created = unique_name("scylla-hc-test-created");
    let _created = Resource::container(&engine, &created);
    let (image, _image) = project_image(&engine, &args);
    engine.run(&["create", "--name", &created, "--label", TEST_LABEL, &image, "sleep", "300"]);
    let error = container_args(&created, "5s").run(&context(false)).unwrap_err();
    assert_eq!(exit_code_for(&error), 2);
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("container {created} has no health check"))
            || text.starts_with(&format!("container {created} is not running")),
        "{text}"
    );
}

/// Environment of the child run by [`ctrl_c_during_the_wait_removes_the_container`].
const CHILD_IMAGE_VAR: &str = "SCYLLA_HC_TEST_CHILD_IMAGE";

#[test]
fn ctrl_c_during_the_wait_removes_the_container() {
    let Some((engine, args)) = setup() else { return };
    let (healthy, _healthy) = project_image(&engine, &args);
    // A probe that never finishes in time: the check stays `starting`.
    let (image, _image) =
        derived_image(&engine, &healthy, "hanging", "HEALTHCHECK --timeout=60s CMD sleep 120");
    let mut child = spawn_self_in_new_group(
        "child_checks_an_image_until_interrupted",
        &[(CHILD_IMAGE_VAR, image.as_str())],
    );
    let label = format!("label={TASK_LABEL}");
    let ancestor = format!("ancestor={image}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while String::from_utf8_lossy(
        &engine.run(&["ps", "-q", "--filter", &label, "--filter", &ancestor]),
    )
    .trim()
    .is_empty()
    {
        assert!(Instant::now() < deadline, "the check never started its container");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Like Ctrl-C in a terminal: the whole process group gets SIGINT.
    interrupt_group(child.id());
    let output = wait_bounded(&mut child, Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}");
    assert_no_leftovers(&engine, &image);
}

/// Run only by [`ctrl_c_during_the_wait_removes_the_container`], in a child process.
#[test]
#[ignore = "run as a child process by ctrl_c_during_the_wait_removes_the_container"]
fn child_checks_an_image_until_interrupted() {
    let image = std::env::var(CHILD_IMAGE_VAR).expect("set by the parent test");
    let report = check(&context(false), &Mode::Image(image), Duration::from_secs(60))
        .unwrap()
        .expect("a report outside --dry-run");
    assert_eq!(report.status, Status::Interrupted(Signal::Interrupt), "{report:?}");
    assert_eq!(report.to_json()["status"], "error");
    let engine = engine().expect("the parent saw an engine");
    assert_gone(&engine, &report);
}
