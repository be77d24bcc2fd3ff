//! run-experiment against a real engine: the bundled oracle experiment end to
//! end, exit codes, concurrency, Ctrl-C, secrets and result ownership. Each test
//! uses a throwaway project whose entry script does what the test needs.

mod support;

use std::io::Read as _;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::project::{containers_with, fake_project, test_image, text, wait_for};
use support::Engine;

const ROLE: &str = "org.scylla.xtask.role=run-experiment";

fn run_in(
    engine: &Engine,
    project: &std::path::Path,
    image: &str,
    args: &[&str],
) -> std::process::Output {
    let project = project.to_str().unwrap();
    let mut all = vec!["--project-dir", project, "run-experiment", "--no-build", "--image", image];
    all.extend_from_slice(args);
    engine.run_xtask(&all)
}

fn owner_prefix(pid: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    format!("{}:{pid}:", host.trim())
}

fn owner_of(engine: &support::Engine, name: &str) -> String {
    let out = engine.output(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.scylla.xtask.owner\"}}",
        name,
    ]);
    format!("org.scylla.xtask.owner={}", text(&out.stdout).trim())
}

support::engine_tests! {

fn exit_codes_pass_through(engine) {
    let image = test_image(&engine);
    let project = fake_project("import sys\nsys.exit(int(sys.argv[1]))\n");
    for code in [0, 1, 42] {
        let out = run_in(&engine, &project.path, image, &["--", &code.to_string()]);
        assert_eq!(out.status.code(), Some(code), "stderr: {}", text(&out.stderr));
    }
}

fn bundled_oracle_experiment_scores_one_and_results_belong_to_the_user(engine) {
    let image = test_image(&engine);
    let root = support::project::project_root();
    let id = support::unique_name("e2e");
    let out = engine.run_xtask(&[
        "run-experiment",
        "--no-build",
        "--image",
        image,
        "--",
        "--tiers",
        "T0",
        "--runs",
        "1",
        "--experiment-id",
        &id,
        "--fresh",
    ]);
    assert!(out.status.success(), "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    let result_path = root.join("results").join(&id).join("T0/run-1/result.json");
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&result_path).unwrap()).unwrap();
    assert_eq!(result["score"].as_f64(), Some(1.0), "{result}");
    assert_eq!(result["grade"], "S");
    assert_eq!(result["agent"], "oracle");
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    assert_eq!(std::fs::metadata(&result_path).unwrap().uid(), uid);
    assert!(root.join("results").join(&id).join("summary.json").exists());
    let _ = std::fs::remove_dir_all(root.join("results").join(&id));
}

fn results_written_in_the_container_are_owned_by_the_invoking_user(engine) {
    let image = test_image(&engine);
    let project = fake_project("open('results/out.txt', 'w').write('x')\n");
    let out = run_in(&engine, &project.path, image, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::metadata(project.path.join("results/out.txt")).unwrap();
    assert_eq!(written.uid(), std::fs::metadata("/proc/self").unwrap().uid());
    let dir = std::fs::metadata(project.path.join("results")).unwrap();
    assert_eq!(dir.mode() & 0o002, 0, "results/ must not be world-writable");
}

fn concurrent_runs_do_not_collide(engine) {
    let image = test_image(&engine);
    let project = fake_project(
        "import os, time\ntime.sleep(1)\nprint(os.environ['SCYLLA_CONTAINER_NAME'])\n",
    );
    let project_dir = project.path.to_str().unwrap().to_string();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (dir, image, engine) = (project_dir.clone(), image.to_string(), engine.clone());
            std::thread::spawn(move || run_in(&engine, std::path::Path::new(&dir), &image, &[]))
        })
        .collect();
    let mut names: Vec<String> = handles
        .into_iter()
        .map(|h| {
            let out = h.join().unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout).trim().to_string()
        })
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 3, "each run has its own container: {names:?}");
}

fn sigint_and_sigterm_stop_and_remove_the_container(engine) {
    let image = test_image(&engine);
    let project = fake_project("import time\nprint('started', flush=True)\ntime.sleep(120)\n");
    for (signal, expected) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = engine
            .xtask()
            .args([
                "--project-dir",
                project.path.to_str().unwrap(),
                "run-experiment",
                "--no-build",
                "--image",
                image,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        let mine = format!("org.scylla.xtask.owner={}", owner_prefix(&pid));
        let running = wait_for(30, || {
            containers_with(&engine, ROLE)
                .iter()
                .any(|name| owner_of(&engine, name).starts_with(&mine))
        });
        assert!(running, "the experiment container never appeared");
        std::thread::sleep(Duration::from_millis(500));
        let sent = Instant::now();
        support::project::kill(&pid, signal);
        let status = child.wait().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(15), "took {:?} to stop", sent.elapsed());
        assert_eq!(status.code(), Some(expected));
        let gone = wait_for(10, || {
            !containers_with(&engine, ROLE)
                .iter()
                .any(|name| owner_of(&engine, name).starts_with(&mine))
        });
        assert!(gone, "a container of the interrupted run is left behind");
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(stderr.contains("stopping container"), "{stderr}");
        assert!(!stderr.contains("credentials"), "no credentials advice after a stop: {stderr}");
    }
}

fn a_canary_secret_never_leaks(engine) {
    let image = test_image(&engine);
    let canary = format!("canary-{}", support::unique_name("secret"));
    let script = "import hashlib, os, sys, time\n\
                  value = os.environ.get('ANTHROPIC_API_KEY', '')\n\
                  print('sha', hashlib.sha256(value.encode()).hexdigest(), flush=True)\n\
                  open('results/ready', 'w').write('1')\n\
                  time.sleep(4)\n";
    let project = fake_project(script);
    let credentials = project.path.join("creds.json");
    std::fs::write(&credentials, format!("{{\"token\": \"{canary}-file\"}}")).unwrap();
    let child = engine
        .xtask()
        .args([
            "--project-dir",
            project.path.to_str().unwrap(),
            "-v",
            "run-experiment",
            "--no-build",
            "--image",
            image,
        ])
        .args(["--credentials", credentials.to_str().unwrap()])
        .env("ANTHROPIC_API_KEY", &canary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(30, || project.path.join("results/ready").exists()), "the run never started");
    // While it runs: not in any process's argv, not in docker inspect.
    let ps = support::project::ps_all();
    assert!(!ps.contains(&canary), "canary visible in ps");
    for name in containers_with(&engine, ROLE) {
        let inspected = text(&engine.output(&["inspect", &name]).stdout);
        assert!(!inspected.contains(&canary), "canary visible in docker inspect of {name}");
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all_output = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all_output.contains(&canary), "canary in the task's output");
    use sha2::Digest as _;
    let expected: String =
        sha2::Sha256::digest(canary.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        all_output.contains(&format!("sha {expected}")),
        "the container did not get the key: {all_output}"
    );
    std::fs::remove_file(&credentials).unwrap();
    let found = support::project::grep_tree(&project.path, &canary);
    assert!(found.is_empty(), "canary written to the host: {found:?}");
}

fn dry_run_prints_commands_without_secret_values_and_runs_nothing(engine) {
    let image = test_image(&engine);
    let project = fake_project("raise SystemExit(3)\n");
    let out = engine
        .xtask()
        .args([
            "--project-dir",
            project.path.to_str().unwrap(),
            "--dry-run",
            "run-experiment",
            "--no-build",
        ])
        .args(["--image", image, "--", "--tiers", "T0"])
        .env("ANTHROPIC_API_KEY", "dry-run-canary")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(" create --name scylla-run-"), "{stdout}");
    assert!(stdout.contains(" start --attach scylla-run-"), "{stdout}");
    // Secrets go into the started container's tmpfs over exec stdin, never `cp`.
    assert!(stdout.contains(" exec --interactive --user "), "{stdout}");
    assert!(stdout.contains(" --receive-secrets <(stdin stream, not shown)"), "{stdout}");
    assert!(!stdout.contains(" cp - "), "{stdout}");
    assert!(!format!("{stdout}{}", text(&out.stderr)).contains("dry-run-canary"));
    // The container it names must not exist (counting every run-experiment
    // container would count other tests' runs on the same engine).
    let name = stdout
        .split(" create --name ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the plan names its container")
        .trim_matches('\'');
    assert!(containers_with(&engine, ROLE).iter().all(|c| c != name), "dry run created {name}");
    assert!(!engine.output(&["container", "inspect", name]).status.success(), "{name} exists");
    assert!(!project.path.join("results").exists(), "dry run made results/");
}

fn a_network_the_engine_does_not_have_is_a_usage_error_before_anything_is_made(engine) {
    let image = test_image(&engine);
    let network = support::unique_name("no-such-net");
    let args = ["run-experiment", "--no-build", "--image", image, "--network", &network];
    let out = engine.xtask().args(args).args(["--", "--tiers", "T0"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let expected = format!("ERROR: --network {network}: this engine has no such network\n");
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains(&format!("{} network ls", engine.program)), "{stderr}");
}

fn verbose_names_the_engine_and_why_it_was_picked(engine) {
    let image = test_image(&engine);
    let args = ["-v", "--dry-run", "run-experiment", "--no-build", "--image", image];
    let out = engine.xtask().args(args).output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let asked = format!("engine: {} (", engine.program);
    let as_asked = |l: &str| l.starts_with(&asked) && l.ends_with("(--engine or CONTAINER_ENGINE)");
    assert!(stderr.lines().any(as_asked), "{stderr}");
    // Detected: docker wherever it is on PATH; podman where it is alone on PATH.
    let alone = support::project::TempDir::new("engine-path");
    let program = support::project::find_program(&engine.program).unwrap();
    std::os::unix::fs::symlink(&program, alone.path.join(&engine.program)).unwrap();
    let path = if engine.is_podman() {
        alone.path.display().to_string()
    } else {
        std::env::var("PATH").unwrap()
    };
    let out = support::project::xtask().args(args).env("PATH", path).output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let found = |l: &str| l.starts_with(&asked) && l.contains("found on PATH");
    assert!(stderr.lines().any(found), "{stderr}");
}

fn root_runs_declare_the_sandbox_claude_code_needs(engine) {
    let image = test_image(&engine);
    let project = fake_project("import os\nprint('sandbox=' + os.environ.get('IS_SANDBOX', ''))\n");
    let out = run_in(&engine, &project.path, image, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let expected = if uid == 0 { "sandbox=1" } else { "sandbox=" };
    assert!(text(&out.stdout).lines().any(|l| l == expected), "{}", text(&out.stdout));
}

fn project_paths_with_colons_commas_quotes_spaces_and_non_ascii_are_mounted(engine) {
    let image = test_image(&engine);
    let script = "import os\nopen('results/where.txt', 'w').write(os.getcwd())\n";
    for name in ["co:lon", "co,mma \"q\"", "sp ace ünï"] {
        let project = support::project::TempDir::new(name);
        std::fs::create_dir_all(project.path.join("scripts")).unwrap();
        std::fs::write(project.path.join("scripts/run_e2e_experiment.py"), script).unwrap();
        let out = run_in(&engine, &project.path, image, &[]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let written = std::fs::read_to_string(project.path.join("results/where.txt"));
        assert_eq!(written.unwrap(), "/workspace", "{name}");
    }
}

fn experiment_id_and_fresh_work_without_swarm(engine) {
    let image = test_image(&engine);
    let project = fake_project("import sys\nprint(' '.join(sys.argv[1:]))\n");
    let out = run_in(
        &engine,
        &project.path,
        image,
        &["--experiment-id", "x1", "--fresh", "--", "--tiers", "T0"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "--tiers T0 --experiment-id x1 --fresh");
}

fn the_runners_usage_error_comes_first_and_engine_commands_only_with_verbose(engine) {
    let image = test_image(&engine);
    let script = "import sys\nprint('error: argument --tiers: invalid tier', file=sys.stderr)\n\
                  sys.exit(2)\n";
    let project = fake_project(script);
    let home = support::project::TempDir::new("no-credentials-home");
    let run = |verbose: bool| {
        let mut command = engine.xtask();
        command.args(["--project-dir", project.path.to_str().unwrap()]);
        if verbose {
            command.arg("-v");
        }
        command.args(["run-experiment", "--no-build", "--image", image, "--", "--tiers", "T9"]);
        command.env("HOME", &home.path).env_remove("ANTHROPIC_API_KEY");
        command.env_remove("OPENAI_API_KEY").output().unwrap()
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let error = stderr.find("error: argument --tiers").expect("the runner's error");
    let warning = stderr.find("WARNING: no Claude credentials").expect("the warning");
    assert!(error < warning, "the usage error must come first:\n{stderr}");
    assert!(!stderr.contains("$ "), "engine commands echoed without -v:\n{stderr}");
    let verbose = text(&run(true).stderr);
    assert!(
        verbose.contains(" run --name scylla-run-"),
        "-v shows the engine commands:\n{verbose}"
    );
}
}
