//! `cargo xtask healthcheck` against a real engine, through the built binary.
//!
//! Every image derives from the shared project test image (built by
//! `docker-build` from the offline bases) and gets a label of its own, which
//! gives it an id of its own: an `ancestor=` filter then sees only the
//! containers of one test, however many run at once. After every check the
//! test asserts that no container of the task is left.

mod support;

use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::project::{command, project_root, run_xtask, test_image, text, wait_for};
use support::{unique_name, Engine, Resource, TEST_LABEL};

/// The label the task puts on its throwaway containers.
const ROLE: &str = "org.scylla.xtask.role=healthcheck";
/// Makes the package of the project image unimportable.
const BROKEN: &str = "USER root\nRUN rm -rf /opt/scylla/lib/scylla\nUSER scylla";

/// Builds `FROM base`, a unique label and `lines` (Dockerfile on stdin, no context).
fn image_from(engine: &Engine, base: &str, suffix: &str, lines: &str) -> (String, Resource) {
    let tag = format!("{}:{suffix}", unique_name("scylla-hc-test"));
    let resource = Resource::image(engine, &tag);
    let dockerfile =
        format!("FROM {base}\nLABEL {TEST_LABEL} org.scylla.xtask-test.image={tag}\n{lines}\n");
    // Podman's default OCI format has no HEALTHCHECK: ask for the docker format;
    // and no layer cache (each image is new by its label), whose lookup races with
    // another test's `rmi` ("getting top layer info: layer not known").
    let format: &[&str] =
        if engine.is_podman() { &["--format", "docker", "--layers=false"] } else { &[] };
    let mut child = command(&engine.program)
        .args(["build", "--quiet"])
        .args(format)
        .args(["--tag", &tag, "-"])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker build starts");
    child.stdin.take().expect("piped").write_all(dockerfile.as_bytes()).expect("written");
    let out = child.wait_with_output().expect("docker build ends");
    assert!(out.status.success(), "cannot build {tag}: {}", text(&out.stderr));
    (tag, resource)
}

/// The Python base of `.xtask/build-args` (it declares no HEALTHCHECK).
fn python_base() -> String {
    let args = std::fs::read_to_string(project_root().join(".xtask/build-args")).unwrap();
    let line = args.lines().find(|line| line.starts_with("PYTHON_BASE=")).unwrap();
    line["PYTHON_BASE=".len()..].trim().to_string()
}

/// The task's containers from `image` (any state), one id per line.
fn leftovers(engine: &Engine, image: &str) -> String {
    // Podman matches `ancestor=` only on the full name (`localhost/...`) or the id.
    let ancestor = if engine.is_podman() {
        text(&engine.run(&["image", "inspect", "--format", "{{.Id}}", image])).trim().to_string()
    } else {
        image.to_string()
    };
    let (label, ancestor) = (format!("label={ROLE}"), format!("ancestor={ancestor}"));
    text(&engine.run(&["ps", "--all", "--quiet", "--filter", &label, "--filter", &ancestor]))
}

fn assert_no_leftovers(engine: &Engine, image: &str) {
    assert_eq!(leftovers(engine, image).trim(), "", "containers left behind from {image}");
}

fn healthcheck(engine: &Engine, args: &[&str]) -> Output {
    let mut all = vec!["healthcheck"];
    all.extend_from_slice(args);
    engine.run_xtask(&all)
}

/// The one JSON object of `--format json`.
fn json(out: &Output) -> Value {
    let stdout = text(&out.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?}, stderr {}", text(&out.stderr)))
}

support::engine_tests! {
fn the_project_image_is_healthy_within_seconds(engine) {
    let (image, _image) = image_from(&engine, test_image(&engine), "healthy", "");
    let started = Instant::now();
    let out = healthcheck(&engine, &["--image", &image, "--format", "json"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["status"], "healthy", "{report}");
    assert_eq!(report["exit_code"], 0, "{report}");
    // Docker keeps the probe's trailing newline, podman strips it.
    assert_eq!(report["output"].as_str().map(str::trim_end), Some("OK"), "{report}");
    assert!(report["probes"].as_u64().unwrap() >= 1, "{report}");
    // The image probes every 30s; the check must not wait for that.
    assert!(report["duration_ms"].as_u64().unwrap() < 10_000, "{report}");
    assert!(took < Duration::from_secs(12), "took {took:?}");
    let container = report["container"].as_str().unwrap();
    assert!(container.starts_with("scylla-healthcheck-"), "{report}");
    let filter = format!("name=^{container}$");
    assert_eq!(text(&engine.run(&["ps", "--all", "--quiet", "--filter", &filter])).trim(), "");
    assert_no_leftovers(&engine, &image);
}

fn an_image_whose_package_does_not_import_is_unhealthy_with_the_error_shown(engine) {
    let (image, _image) = image_from(&engine, test_image(&engine), "broken", BROKEN);
    let out = healthcheck(&engine, &["--image", &image, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["status"], "unhealthy", "{report}");
    assert_eq!(report["exit_code"], 1, "{report}");
    let output = report["output"].as_str().unwrap();
    assert!(output.contains("ModuleNotFoundError: No module named 'scylla'"), "{report}");
    // The image declares --retries=3, and the check keeps it.
    assert_eq!(report["probes"], 3, "{report}");
    assert_no_leftovers(&engine, &image);
}

fn an_image_without_healthcheck_is_exit_2_and_starts_nothing(engine) {
    test_image(&engine); // makes sure the offline bases exist
    let (image, _image) = image_from(&engine, &python_base(), "nohealthcheck", "");
    let out = healthcheck(&engine, &["--image", &image]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("ERROR: image {image} has no HEALTHCHECK")), "{stderr}");
    assert!(stderr.contains("cargo xtask healthcheck --static"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    assert_no_leftovers(&engine, &image);
}

fn an_image_with_healthcheck_none_is_exit_2_also_in_json(engine) {
    let (image, _image) = image_from(&engine, test_image(&engine), "disabled", "HEALTHCHECK NONE");
    let out = healthcheck(&engine, &["--image", &image, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["status"], "error", "{report}");
    assert_eq!(report["exit_code"], Value::Null, "{report}");
    let error = report["error"].as_str().unwrap();
    assert!(error.starts_with(&format!("image {image} disables its health check")), "{report}");
    assert!(text(&out.stderr).starts_with("ERROR: image "), "{}", text(&out.stderr));
    assert_no_leftovers(&engine, &image);
}

fn a_missing_image_is_exit_2(engine) {
    let image = format!("{}:absent", unique_name("scylla-hc-test"));
    let out = healthcheck(&engine, &["--image", &image]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("ERROR: no image {image}\n")), "{stderr}");
    assert!(stderr.contains(&format!("cargo xtask docker-build --tag {image}")), "{stderr}");
}

fn dry_run_prints_run_and_rm_and_starts_nothing(engine) {
    let (image, _image) = image_from(&engine, test_image(&engine), "dry", "");
    let out = healthcheck(&engine, &["--dry-run", "--image", &image]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains(" run --detach --rm --init --name scylla-healthcheck-"), "{stdout}");
    assert!(lines[0].contains(" --health-interval 1s --health-start-period 1ms "), "{stdout}");
    assert!(lines[0].ends_with(&format!(" {image} sleep 120")), "{stdout}");
    assert!(lines[1].contains(" rm --force scylla-healthcheck-"), "{stdout}");
    assert_no_leftovers(&engine, &image);
}

/// Starts a container that keeps running (as `shell` does); removed on drop.
fn running_container(engine: &Engine, image: &str, extra: &[String]) -> (String, Resource) {
    let name = unique_name("scylla-hc-test-box");
    let resource = Resource::container(engine, &name);
    let mut argv = vec!["run", "--detach", "--init", "--name", &name, "--label", TEST_LABEL];
    argv.extend(extra.iter().map(String::as_str));
    argv.extend_from_slice(&[image, "sleep", "300"]);
    engine.run(&argv);
    (name, resource)
}

/// Run flags for a probe every second. Podman 4.3 ignores the timing flags
/// unless `--health-cmd` comes with them, so there the image's own probe is
/// restated (as the task does for `--image`).
fn fast_probe(engine: &Engine, image: &str) -> Vec<String> {
    let mut flags: Vec<String> = ["--health-interval", "1s", "--health-start-period", "1ms"]
        .map(String::from)
        .to_vec();
    if engine.is_podman() {
        let inspected = text(&engine.run(&["image", "inspect", image]));
        let value: Value = serde_json::from_str(&inspected).unwrap();
        let test = value[0]["Healthcheck"]["Test"].to_string();
        flags.extend(["--health-cmd".to_string(), test]);
    }
    flags
}

fn container_mode_waits_while_starting_and_leaves_the_container_alone(engine) {
    let image = test_image(&engine);
    let (name, _container) = running_container(&engine, image, &fast_probe(&engine, image));
    // Checked at once: the container is still `starting`, so the task waits.
    let out = healthcheck(&engine, &["--container", &name, "--timeout", "30s", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["status"], "healthy", "{report}");
    // Docker keeps the probe's trailing newline, podman strips it.
    assert_eq!(report["output"].as_str().map(str::trim_end), Some("OK"), "{report}");
    assert_eq!(report["container"], Value::Null, "{report}");
    assert!(report["duration_ms"].as_u64().unwrap() >= 300, "did not wait: {report}");
    let filter = format!("name=^{name}$");
    let running = text(&engine.run(&["ps", "--quiet", "--filter", &filter]));
    assert!(!running.trim().is_empty(), "{name} no longer runs");
}

fn container_mode_shows_the_failing_probe(engine) {
    let (image, _image) = image_from(&engine, test_image(&engine), "broken", BROKEN);
    let (name, _container) = running_container(&engine, &image, &fast_probe(&engine, &image));
    let out = healthcheck(&engine, &["--container", &name, "--timeout", "30s"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("unhealthy: container {name} (")), "{stdout}");
    assert!(stdout.contains("  last probe: exit code 1, output:\n"), "{stdout}");
    assert!(stdout.contains("    ModuleNotFoundError: No module named 'scylla'"), "{stdout}");
}

fn container_mode_without_a_verdict_in_time_is_exit_2(engine) {
    // The image's own timing: the first probe comes after 30s.
    let (name, _container) = running_container(&engine, test_image(&engine), &[]);
    let started = Instant::now();
    let out = healthcheck(&engine, &["--container", &name, "--timeout", "1s"]);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("starting: container {name}: no verdict after")));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("ERROR: no health verdict within 1.0s"), "{stderr}");
}

fn container_mode_refuses_what_it_cannot_check(engine) {
    let missing = unique_name("scylla-hc-test-none");
    let out = healthcheck(&engine, &["--container", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with(&format!("ERROR: no container named {missing}\n")));

    test_image(&engine); // makes sure the offline bases exist
    let (plain, _plain) = running_container(&engine, &python_base(), &[]);
    let out = healthcheck(&engine, &["--container", &plain]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("ERROR: container {plain} has no health check")));

    let image = test_image(&engine);
    let (stopped, _stopped) = running_container(&engine, image, &fast_probe(&engine, image));
    engine.run(&["kill", &stopped]);
    let out = healthcheck(&engine, &["--container", &stopped]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("ERROR: container {stopped} is not running")), "{stderr}");
    assert!(stderr.contains(&format!("start it: {} start {stopped}", engine.program)), "{stderr}");
}

fn signals_during_the_wait_remove_the_container(engine) {
    // A probe that does not finish in time: the check stays `starting`.
    let hanging = "HEALTHCHECK --timeout=60s CMD sleep 120";
    let (image, _image) = image_from(&engine, test_image(&engine), "hanging", hanging);
    // Ctrl-C in a terminal reaches the whole process group; SIGTERM (a CI
    // cancel) reaches the task alone.
    for (signal, to_group, code, name) in
        [("INT", true, 130, "SIGINT"), ("TERM", false, 143, "SIGTERM")]
    {
        let mut child = engine
            .xtask()
            .args(["healthcheck", "--image", &image])
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("xtask starts");
        let started = wait_for(60, || !leftovers(&engine, &image).trim().is_empty());
        assert!(started, "the check never started its container");
        let target = if to_group { format!("-{}", child.id()) } else { child.id().to_string() };
        send_signal(signal, &target);
        let status = wait_bounded(&mut child, Duration::from_secs(30));
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(status.code(), Some(code), "{name}: {stderr}");
        let warning =
            format!("WARNING: interrupted by {name}; the throwaway container was removed");
        assert!(stderr.contains(&warning), "{stderr}");
        assert_no_leftovers(&engine, &image);
    }
}

/// `kill -s SIGNAL -- TARGET`, where a negative target is a process group.
/// Both `-s` and `--` matter: procps-ng 4.0.2 runs `kill -INT -PGID` as
/// `kill(-1, SIGINT)`, which signals every process the user may signal.
fn send_signal(signal: &str, target: &str) {
    let status = command("kill").args(["-s", signal, "--", target]).status().expect("kill runs");
    assert!(status.success(), "kill -s {signal} -- {target} failed");
}

/// Waits for `child` at most `limit`; kills it and fails past that.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("xtask did not end within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
}

#[test]
fn static_mode_needs_no_engine() {
    let out = run_xtask(&["healthcheck", "--engine", "podman", "--static"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("healthy: static "), "{}", text(&out.stdout));
    let dir = support::project::TempDir::new("xtask-healthcheck-static");
    let file = dir.path.join("Dockerfile");
    std::fs::write(&file, "FROM a\nHEALTHCHECK NONE\n").unwrap();
    let out = run_xtask(&["healthcheck", "--static", "--file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "{}:2: HEALTHCHECK NONE disables the health check; declare a probe with CMD",
        file.display()
    );
    assert!(text(&out.stdout).contains(&expected), "{}", text(&out.stdout));
}
