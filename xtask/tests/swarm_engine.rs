//! run-experiment --swarm against a real engine and a real one-node swarm: the
//! oracle experiment as one replicated service equals a single-machine run, secrets
//! never leak, a shard that fails once is retried, Ctrl-C and SIGTERM leave
//! nothing behind. A swarm is initialised only when the engine is in none, and
//! left again only by the test that made it; the tests run one at a time.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::project::{
    fake_project, json_file, project_root, run_xtask, test_image, text, wait_for, without_timings,
    xtask, ResultsDir, TempDir,
};

const ROLE: &str = "org.scylla.xtask.role=run-experiment-swarm";

/// One swarm test at a time: they share the engine's one swarm.
static SERIAL: Mutex<()> = Mutex::new(());

/// The engine's swarm for one test; leaves it on drop only if it made it.
struct Swarm {
    engine: support::Engine,
    created: bool,
    _serial: MutexGuard<'static, ()>,
}

fn swarm_state(engine: &support::Engine) -> String {
    text(&engine.run(&["info", "--format", "{{.Swarm.LocalNodeState}}"])).trim().to_string()
}

impl Swarm {
    fn join(engine: &support::Engine) -> Swarm {
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let created = swarm_state(engine) == "inactive";
        if created {
            engine.run(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        }
        let manager = text(&engine.run(&["info", "--format", "{{.Swarm.ControlAvailable}}"]));
        assert_eq!(manager.trim(), "true", "the engine is in a swarm but not a manager");
        Swarm { engine: engine.clone(), created, _serial: serial }
    }

    /// The node's host name, as shards record it.
    fn node_name(&self) -> String {
        text(&self.engine.run(&["node", "ls", "--format", "{{.Hostname}}"])).trim().to_string()
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if self.created {
            let _ = self.engine.output(&["swarm", "leave", "--force"]);
        }
    }
}

/// Services, secrets, volumes and containers of swarm runs still present.
fn leftovers(engine: &support::Engine) -> Vec<String> {
    let filter = format!("label={ROLE}");
    let mut found = Vec::new();
    for kind in [&["service", "ls"][..], &["secret", "ls"], &["volume", "ls"], &["ps", "--all"]] {
        let mut args = kind.to_vec();
        args.extend(["--filter", filter.as_str(), "--format", "{{.Names}}"]);
        if kind[0] != "ps" {
            *args.last_mut().unwrap() = "{{.Name}}";
        }
        found.extend(text(&engine.run(&args)).lines().map(|l| format!("{} {l}", kind[0])));
    }
    found
}

fn assert_clean(engine: &support::Engine) {
    let clean = wait_for(20, || leftovers(engine).is_empty());
    assert!(clean, "left behind: {:?}", leftovers(engine));
}

fn swarm_run(project: Option<&Path>, image: &str, flags: &[&str], experiment: &[&str]) -> Output {
    let mut args: Vec<&str> = Vec::new();
    if let Some(project) = project {
        args.extend(["--project-dir", project.to_str().unwrap()]);
    }
    args.extend(["run-experiment", "--swarm", "--no-build", "--image", image]);
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(experiment);
    run_xtask(&args)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    files.sort();
    files
}

/// The results of a swarm run equal a single-machine run's: layout, scores,
/// grades, criteria and summary; timings and ids aside, the node recorded.
fn assert_same_results(single: &Path, sharded: &Path, node: &str) {
    use std::os::unix::fs::MetadataExt;
    assert_eq!(files_under(single), files_under(sharded), "same layout");
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    for unit in ["T0/run-1", "T1/run-1"] {
        let a = json_file(&single.join(unit).join("result.json"));
        let b = json_file(&sharded.join(unit).join("result.json"));
        for field in ["schema_version", "tier", "run", "unit", "status", "score", "grade", "passed"]
        {
            assert_eq!(a[field], b[field], "{unit}: {field}");
        }
        for field in ["agent", "criteria", "categories", "error", "fixture_id", "tier_settings"] {
            assert_eq!(without_timings(&a[field]), without_timings(&b[field]), "{unit}: {field}");
        }
        assert_eq!(b["score"].as_f64(), Some(1.0), "{b}");
        assert_eq!(b["node"], Value::String(node.to_string()), "shards record their node");
        let owner = std::fs::metadata(sharded.join(unit).join("result.json")).unwrap().uid();
        assert_eq!(owner, uid, "results belong to the invoking user");
    }
    let (a, b) =
        (json_file(&single.join("summary.json")), json_file(&sharded.join("summary.json")));
    for field in ["schema_version", "complete", "missing", "agents"] {
        assert_eq!(a[field], b[field], "summary: {field}");
    }
    for field in ["runs", "completed", "errors", "passed", "pass_rate", "mean_score", "best_score"]
    {
        assert_eq!(a["totals"][field], b["totals"][field], "summary totals: {field}");
    }
}

/// Why the podman half of every test here is skipped.
const NO_SWARM: &str =
    "podman has no swarm mode: run-experiment --swarm drives a Docker Swarm replicated job";

support::engine_tests! {
docker_only = NO_SWARM;
fn oracle_experiment_as_a_replicated_job_equals_a_single_machine_run(engine) {
    let image = test_image(&engine);
    let swarm = Swarm::join(&engine);
    let root = project_root();
    let (single_id, sharded_id) = (support::unique_name("single"), support::unique_name("sharded"));
    let single = ResultsDir(root.join("results").join(&single_id));
    let sharded = ResultsDir(root.join("results").join(&sharded_id));
    let experiment = ["--tiers", "T0", "T1", "--runs", "1"];

    let mut args = vec!["run-experiment", "--no-build", "--image", image, "--"];
    args.extend(experiment);
    args.extend(["--experiment-id", single_id.as_str(), "--fresh"]);
    let out = run_xtask(&args);
    assert!(out.status.success(), "single machine: {}", text(&out.stderr));

    // The local registry serves the offline bases, so it runs wherever the image was built.
    let port = std::env::var("SCYLLA_REGISTRY_PORT").unwrap_or_else(|_| "5000".into());
    let registry = format!("127.0.0.1:{port}");
    let started = Instant::now();
    // -v: the engine commands are echoed only then.
    let flags = [
        "-v",
        "--shards",
        "2",
        "--registry",
        registry.as_str(),
        "--experiment-id",
        sharded_id.as_str(),
        "--fresh",
    ];
    let out = swarm_run(None, image, &flags, &experiment);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "swarm: {}\n{stderr}", text(&out.stdout));
    eprintln!("swarm run of the oracle experiment: {:.1} s", started.elapsed().as_secs_f64());
    assert!(stderr.contains("service create --detach --quiet"), "{stderr}");
    assert!(stderr.contains("--mode replicated --replicas 2"), "{stderr}");
    assert!(stderr.contains("--with-registry-auth --init --cap-drop ALL"), "{stderr}");
    let image_line = format!("image {registry}/scylla-runner@sha256:");
    assert!(stderr.contains(&image_line), "the job runs the pushed image by digest: {stderr}");
    assert!(stderr.contains("shards: 2/2 done"), "{stderr}");
    assert!(text(&out.stdout).contains("2/2 completed, 2 passed"), "{}", text(&out.stdout));

    assert_same_results(&single.0, &sharded.0, &swarm.node_name());
    assert_clean(&engine);

    // The same id again resumes: completed units are kept, not redone.
    let started_at =
        |unit: &str| json_file(&sharded.0.join(unit).join("result.json"))["started_at"].clone();
    let before = [started_at("T0/run-1"), started_at("T1/run-1")];
    let out = swarm_run(
        None,
        image,
        &["--shards", "2", "--experiment-id", sharded_id.as_str()],
        &experiment,
    );
    assert!(out.status.success(), "resume: {}", text(&out.stderr));
    assert_eq!(
        [started_at("T0/run-1"), started_at("T1/run-1")],
        before,
        "a resumed run redid units"
    );
    assert_clean(&engine);
}

/// Fails once per shard (a marker in the volume's results/), then records
/// what it received; `--summarize-only` lists the shards.
const FAIL_ONCE: &str = r#"import hashlib, json, os, pathlib, sys, time
args = sys.argv[1:]
experiment = args[args.index("--experiment-id") + 1]
results = pathlib.Path("results")
if "--summarize-only" in args:
    rows = sorted(p.parent.name for p in (results / experiment).glob("*/result.json"))
    (results / experiment / "summary.json").write_text(json.dumps({"shards": rows}))
    print("summary of", len(rows), "shards", flush=True)
    sys.exit(0)
index = args[args.index("--shard") + 1].split("/")[0]
marker = results / f"failed-once-{index}"
if not marker.exists():
    marker.write_text("1")
    print(f"shard {index}: failing on purpose", flush=True)
    sys.exit(3)
def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()
creds = pathlib.Path.home() / ".claude" / ".credentials.json"
out = results / experiment / f"shard-{index}"
out.mkdir(parents=True, exist_ok=True)
record = {"key": sha(os.environ.get("ANTHROPIC_API_KEY", "")),
          "creds": sha(creds.read_text()) if creds.exists() else None,
          "node": os.environ.get("SCYLLA_NODE")}
(out / "result.json").write_text(json.dumps(record))
print(f"shard {index}: done", flush=True)
time.sleep(3)
"#;

fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What the engine shows about the run's services and secrets, and every argv.
fn visible_state(engine: &support::Engine) -> (String, bool) {
    let filter = format!("label={ROLE}");
    let mut seen = support::project::ps_all();
    let services =
        text(&engine.run(&["service", "ls", "--filter", &filter, "--format", "{{.Name}}"]));
    let secrets =
        text(&engine.run(&["secret", "ls", "--filter", &filter, "--format", "{{.Name}}"]));
    for service in services.lines() {
        seen.push_str(&text(&engine.output(&["service", "inspect", service]).stdout));
        let logs = engine.output(&["service", "logs", "--raw", service]);
        seen.push_str(&text(&logs.stdout));
        seen.push_str(&text(&logs.stderr));
    }
    for secret in secrets.lines() {
        seen.push_str(&text(&engine.output(&["secret", "inspect", secret]).stdout));
    }
    (seen, !services.trim().is_empty())
}

docker_only = NO_SWARM;
fn a_shard_that_fails_once_is_retried_and_secrets_never_leak(engine) {
    let image = test_image(&engine);
    let swarm = Swarm::join(&engine);
    let project = fake_project(FAIL_ONCE);
    let outside = TempDir::new("xtask-creds");
    let canary = format!("canary-{}", support::unique_name("swarm-secret"));
    let credentials = outside.path.join("credentials.json");
    let credentials_text = format!("{{\"token\": \"{canary}-file\"}}");
    std::fs::write(&credentials, &credentials_text).unwrap();
    let id = "retry-once";
    let mut child = xtask()
        .args(["--project-dir", project.path.to_str().unwrap(), "run-experiment", "--swarm"])
        .args(["--no-build", "--image", image, "--shards", "2", "--retries", "1"])
        .args(["--credentials", credentials.to_str().unwrap(), "--experiment-id", id])
        .env("ANTHROPIC_API_KEY", &canary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut service_seen = false;
    while child.try_wait().unwrap().is_none() {
        let (seen, service) = visible_state(&engine);
        assert!(
            !seen.contains(&canary),
            "canary visible in argv, service inspect, logs or secrets"
        );
        service_seen |= service;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(service_seen, "the job was never observed while it ran");
    let out = child.wait_with_output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(&canary), "canary in the task's output");
    for index in 0..2 {
        let line = format!(
            "shard {index} failed on {} (task: non-zero exit (3)); the engine retries it (1 of 1)",
            swarm.node_name()
        );
        assert!(all.contains(&line), "missing `{line}` in:\n{all}");
        let result = format!("results/{id}/shard-{index}/result.json");
        let record = json_file(&project.path.join(result));
        assert_eq!(record["key"], Value::String(sha256(&canary)), "shard {index} got the key");
        assert_eq!(
            record["creds"],
            Value::String(sha256(&credentials_text)),
            "and the credentials"
        );
        assert_eq!(record["node"], Value::String(swarm.node_name()));
    }
    assert!(all.contains("shards: 2/2 done, 0 running, 0 failed"), "{all}");
    let summary = json_file(&project.path.join(format!("results/{id}/summary.json")));
    assert_eq!(summary["shards"], serde_json::json!(["shard-0", "shard-1"]));
    let found = support::project::grep_tree(&project.path, &canary);
    assert!(found.is_empty(), "canary written to the host: {found:?}");
    assert_clean(&engine);
}

/// A secret, a volume and a container labelled as a swarm run's whose owner
/// process is gone, for the sweep on start; returns their names.
fn dead_owner_leftovers(engine: &support::Engine, image: &str) -> Vec<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let owner = format!("org.scylla.xtask.owner={}:4294967:1", host.trim());
    let name = support::unique_name("scylla-swarm-dead");
    let labels = ["--label", ROLE, "--label", owner.as_str()];
    let value = TempDir::new("xtask-secret");
    let file = value.path.join("value");
    std::fs::write(&file, "x").unwrap();
    for kind in ["secret", "volume"] {
        let mut args = vec![kind, "create"];
        args.extend(labels);
        args.push(&name);
        if kind == "secret" {
            args.push(file.to_str().unwrap());
        }
        engine.run(&args);
    }
    let container = format!("{name}-helper");
    let mut args = vec!["create", "--name", container.as_str()];
    args.extend(labels);
    args.extend([image, "true"]);
    engine.run(&args);
    vec![name, container]
}

/// Shard 1 always fails with a message; shard 0 records a result.
const SHARD_ONE_FAILS: &str = r#"import json, pathlib, sys
args = sys.argv[1:]
experiment = args[args.index("--experiment-id") + 1]
results = pathlib.Path("results") / experiment
if "--summarize-only" in args:
    (results / "summary.json").write_text(json.dumps({"complete": False}))
    sys.exit(1)
index = args[args.index("--shard") + 1].split("/")[0]
if index == "1":
    print("boom: the judge's disk is full", flush=True)
    sys.exit(4)
(results / "shard-0").mkdir(parents=True, exist_ok=True)
(results / "shard-0" / "result.json").write_text("{}")
"#;

docker_only = NO_SWARM;
fn a_shard_failing_for_good_is_named_with_its_log_and_the_others_are_kept(engine) {
    let image = test_image(&engine);
    let swarm = Swarm::join(&engine);
    let project = fake_project(SHARD_ONE_FAILS);
    let dead = dead_owner_leftovers(&engine, image);
    let flags = ["--shards", "2", "--retries", "1", "--experiment-id", "fails"];
    let out = swarm_run(Some(&project.path), image, &flags, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let named = format!(
        "shard 1 failed on {} after 2 attempt(s): task: non-zero exit (4)",
        swarm.node_name()
    );
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stderr.contains("its last lines:\n    boom: the judge's disk is full"), "{stderr}");
    assert!(stderr.contains("shard(s) 1 failed; the others' results are in"), "{stderr}");
    assert!(project.path.join("results/fails/shard-0/result.json").is_file());
    assert!(project.path.join("results/fails/summary.json").is_file());
    for name in dead {
        assert!(stderr.contains(&name), "{name} of a dead owner was not swept: {stderr}");
    }
    assert_clean(&engine);
}

docker_only = NO_SWARM;
fn sigint_and_sigterm_remove_the_job_its_secrets_and_helpers(engine) {
    let image = test_image(&engine);
    let _swarm = Swarm::join(&engine);
    let project = fake_project("import time\nprint('started', flush=True)\ntime.sleep(120)\n");
    for (signal, expected) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = xtask()
            .args(["--project-dir", project.path.to_str().unwrap(), "run-experiment", "--swarm"])
            .args(["--no-build", "--image", image, "--shards", "2", "--experiment-id", "sleepy"])
            .env("ANTHROPIC_API_KEY", "signal-test-key")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let running = format!("label={ROLE}");
        let started = wait_for(30, || {
            let out = engine.run(&["ps", "--filter", &running, "--filter", "status=running", "-q"]);
            text(&out).lines().count() >= 2
        });
        assert!(started, "the shards never started");
        let sent = Instant::now();
        support::project::kill(&child.id().to_string(), signal);
        let status = child.wait().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(20), "took {:?} to stop", sent.elapsed());
        assert_eq!(status.code(), Some(expected));
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(stderr.contains("removing the job, its secrets and helpers"), "{stderr}");
        // Nothing of the run is left, right away: the task waits for its containers.
        assert!(leftovers(&engine).is_empty(), "left behind: {:?}", leftovers(&engine));
    }
}

docker_only = NO_SWARM;
fn dry_run_prints_the_job_without_secret_values_and_creates_nothing(engine) {
    let image = test_image(&engine);
    let _swarm = Swarm::join(&engine);
    let project = fake_project("raise SystemExit(3)\n");
    let out = xtask()
        .args(["--project-dir", project.path.to_str().unwrap(), "--dry-run", "run-experiment"])
        .args(["--swarm", "--no-build", "--image", image, "--shards", "3", "--max-concurrent", "2"])
        .args([
            "--constraint",
            "node.role==manager",
            "--experiment-id",
            "dry",
            "--",
            "--tiers",
            "T0",
        ])
        .env("ANTHROPIC_API_KEY", "dry-run-canary")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(" secret create "), "{stdout}");
    assert!(stdout.contains(" - <(stdin stream, not shown)"), "{stdout}");
    assert!(stdout.contains("--mode replicated --replicas 2 --restart-condition"), "{stdout}");
    assert!(stdout.contains("--constraint node.role==manager"), "{stdout}");
    assert!(stdout.contains("target=scylla-env-ANTHROPIC_API_KEY"), "{stdout}");
    assert!(stdout.contains("--tiers T0 --experiment-id dry"), "{stdout}");
    assert!(!format!("{stdout}{}", text(&out.stderr)).contains("dry-run-canary"));
    assert!(leftovers(&engine).is_empty(), "dry run created {:?}", leftovers(&engine));
}

docker_only = NO_SWARM;
fn outside_a_swarm_the_error_says_how_to_make_or_reach_one(engine) {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if swarm_state(&engine) != "inactive" {
        eprintln!("skipped: the engine is in a swarm these tests did not create");
        return;
    }
    let project = fake_project("raise SystemExit(3)\n");
    let out = swarm_run(Some(&project.path), "scylla-runner:none", &["--experiment-id", "x"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not in a swarm"), "{stderr}");
    assert!(stderr.contains("docker swarm init --advertise-addr 127.0.0.1"), "{stderr}");
    assert!(stderr.contains("DOCKER_HOST"), "{stderr}");
}
}
