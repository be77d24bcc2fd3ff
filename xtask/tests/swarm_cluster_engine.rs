//! run-experiment --swarm on a real 3-node swarm (tests/swarm/cluster.sh): the
//! merged results equal a local run and come from several nodes; after a
//! success, a failed shard and Ctrl-C nothing of the run is left on any node;
//! canary secrets never show; a node that dies mid-run has its shards moved;
//! a node that cannot pull the image or lacks the volume is named with the fix.
//! The tests share the swarm and run one at a time.

#[path = "support/cluster.rs"]
mod cluster;
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cluster::Cluster;
use serde_json::Value;
use support::project::{
    fake_project, json_file, project_root, run_xtask, text, wait_for, without_timings, ResultsDir,
    TempDir,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn swarm_run(c: &Cluster, project: Option<&Path>, flags: &[&str], experiment: &[&str]) -> Output {
    let mut command = c.xtask();
    if let Some(project) = project {
        command.args(["--project-dir", project.to_str().unwrap()]);
    }
    command.arg("run-experiment").args(c.swarm_flags()).args(flags).arg("--").args(experiment);
    command.output().expect("xtask runs")
}

fn units(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "result.json")
        .map(|e| e.path().parent().unwrap().strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

#[test]
fn merged_results_equal_a_local_run_and_come_from_several_nodes() {
    let Some(c) = cluster::cluster() else { return };
    let _serial = serial();
    let root = project_root();
    let (local_id, swarm_id) = (support::unique_name("mn-local"), support::unique_name("mn-swarm"));
    let local = ResultsDir(root.join("results").join(&local_id));
    let sharded = ResultsDir(root.join("results").join(&swarm_id));
    let experiment = ["--tiers", "T0", "T1", "T2", "T3", "T4", "T5"];
    let mut args = vec!["run-experiment", "--no-build", "--image", c.image, "--"];
    args.extend(experiment);
    args.extend(["--experiment-id", local_id.as_str(), "--fresh"]);
    let out = run_xtask(&args);
    assert!(out.status.success(), "local run: {}", text(&out.stderr));

    let flags = ["--shards", "6", "--experiment-id", swarm_id.as_str(), "--fresh"];
    let out = swarm_run(c, None, &flags, &experiment);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "swarm run: {}\n{stderr}", text(&out.stdout));
    assert!(stderr.contains("shards: 6/6 done"), "{stderr}");
    assert_eq!(units(&local.0), units(&sharded.0), "same units");
    let mut nodes = BTreeSet::new();
    for unit in units(&sharded.0) {
        let a = json_file(&local.0.join(&unit).join("result.json"));
        let b = json_file(&sharded.0.join(&unit).join("result.json"));
        for field in ["tier", "run", "status", "score", "grade", "passed", "criteria", "error"] {
            assert_eq!(without_timings(&a[field]), without_timings(&b[field]), "{unit}: {field}");
        }
        nodes.insert(b["node"].as_str().unwrap_or_default().to_string());
    }
    let names: BTreeSet<String> = c.node_names().into_iter().collect();
    assert!(nodes.is_subset(&names), "nodes {nodes:?} are not the swarm's {names:?}");
    assert!(nodes.len() >= 2, "every shard ran on {nodes:?}");
    let (a, b) =
        (json_file(&local.0.join("summary.json")), json_file(&sharded.0.join("summary.json")));
    for field in ["complete", "missing"] {
        assert_eq!(a[field], b[field], "summary: {field}");
    }
    for field in ["runs", "completed", "passed", "mean_score"] {
        assert_eq!(a["totals"][field], b["totals"][field], "summary totals: {field}");
    }
    c.assert_clean(20);
}

/// Shard 1 always fails; the others record the secrets' hashes and their node.
const ONE_FAILS: &str = r#"import hashlib, json, os, pathlib, sys, time
args = sys.argv[1:]
experiment = args[args.index("--experiment-id") + 1]
results = pathlib.Path("results") / experiment
if "--summarize-only" in args:
    rows = sorted(p.parent.name for p in results.glob("*/result.json"))
    (results / "summary.json").write_text(json.dumps({"shards": rows}))
    sys.exit(0)
index = args[args.index("--shard") + 1].split("/")[0]
time.sleep(2)
if index == "1":
    print("shard 1: the judge's disk is full", flush=True)
    sys.exit(4)
sha = lambda text: hashlib.sha256(text.encode()).hexdigest()
out = results / f"shard-{index}"
out.mkdir(parents=True, exist_ok=True)
record = {
    "key": sha(os.environ.get("ANTHROPIC_API_KEY", "")),
    "node": os.environ.get("SCYLLA_NODE"),
}
(out / "result.json").write_text(json.dumps(record))
"#;

/// Service inspect and task logs of the run's services, on the manager.
fn visible(c: &Cluster) -> String {
    let filter = format!("label={}", cluster::ROLE);
    let mut seen = String::new();
    let services = c.run(1, &["service", "ls", "--filter", &filter, "--format", "{{.Name}}"]);
    for service in services.lines() {
        seen.push_str(&text(&c.docker(1, &["service", "inspect", service]).stdout));
        let logs = c.docker(1, &["service", "logs", "--raw", service]);
        seen.push_str(&text(&logs.stdout));
        seen.push_str(&text(&logs.stderr));
    }
    seen
}

#[test]
fn a_failed_shard_is_named_the_others_kept_no_secret_shows_and_no_node_keeps_anything() {
    let Some(c) = cluster::cluster() else { return };
    let _serial = serial();
    let project = fake_project(ONE_FAILS);
    let canary = format!("canary-{}", support::unique_name("mn-secret"));
    let id = support::unique_name("mn-fails");
    let mut child = c
        .xtask()
        .args(["--project-dir", project.path.to_str().unwrap(), "run-experiment"])
        .args(c.swarm_flags())
        .args(["--shards", "3", "--retries", "1", "--experiment-id", id.as_str()])
        .env("ANTHROPIC_API_KEY", &canary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        assert!(!visible(c).contains(&canary), "canary in service inspect or task logs");
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = child.wait_with_output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("after 2 attempt(s): task: non-zero exit (4)"), "{all}");
    assert!(all.contains("shard 1: the judge's disk is full"), "its log is shown: {all}");
    assert!(all.contains("shard(s) 1 failed; the others' results are in"), "{all}");
    assert!(!all.contains(&canary), "canary in the run's output");
    for index in [0, 2] {
        let record =
            json_file(&project.path.join(format!("results/{id}/shard-{index}/result.json")));
        assert!(record["node"].as_str().is_some_and(|n| n.starts_with("scylla-node-")));
    }
    assert!(support::project::grep_tree(&project.path, &canary).is_empty());
    assert!(support::project::grep_tree(&c.results_dir(), &canary).is_empty());
    c.assert_clean(20);
}

#[test]
fn sigint_leaves_nothing_on_any_node() {
    let Some(c) = cluster::cluster() else { return };
    let _serial = serial();
    let project = fake_project("import time\nprint('started', flush=True)\ntime.sleep(120)\n");
    let mut child = c
        .xtask()
        .args(["--project-dir", project.path.to_str().unwrap(), "run-experiment"])
        .args(c.swarm_flags())
        .args(["--shards", "3", "--experiment-id", &support::unique_name("mn-sleepy")])
        .env("ANTHROPIC_API_KEY", "signal-test-key")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let filter = format!("label={}", cluster::ROLE);
    let running_on = |i| {
        let out = c.docker(i, &["ps", "--filter", &filter, "--filter", "status=running", "-q"]);
        !text(&out.stdout).trim().is_empty()
    };
    let spread = wait_for(60, || (1..=cluster::NODES).filter(|&i| running_on(i)).count() >= 2);
    assert!(spread, "the shards never ran on two nodes: {:?}", c.leftovers());
    support::project::kill(&child.id().to_string(), "-INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    c.assert_clean(5);
}

/// Each shard sleeps, then writes one result per unit it owns.
const SLOW_SHARDS: &str = r#"import json, os, pathlib, sys, time
args = sys.argv[1:]
experiment = args[args.index("--experiment-id") + 1]
results = pathlib.Path("results") / experiment
if "--summarize-only" in args:
    sys.exit(0)
index = args[args.index("--shard") + 1].split("/")[0]
out = results / f"shard-{index}"
if (out / "result.json").exists():
    sys.exit(0)
time.sleep(12)
out.mkdir(parents=True, exist_ok=True)
(out / "result.json").write_text(json.dumps({"node": os.environ.get("SCYLLA_NODE")}))
"#;

/// Starts a slow 3-shard run, waits until node 3 runs a shard, kills node 3.
fn kill_node_mid_run(c: &Cluster, project: &TempDir, id: &str, retries: &str) -> Output {
    let child = c
        .xtask()
        .args(["--project-dir", project.path.to_str().unwrap(), "run-experiment"])
        .args(c.swarm_flags())
        .args(["--shards", "3", "--retries", retries, "--experiment-id", id])
        .args(["--constraint", "node.role==worker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let filter = format!("label={}", cluster::ROLE);
    let on_node_3 = wait_for(60, || {
        let out = c.docker(3, &["ps", "--filter", &filter, "--filter", "status=running", "-q"]);
        !text(&out.stdout).trim().is_empty()
    });
    assert!(on_node_3, "no shard ran on node 3");
    c.kill_node(3);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    eprintln!("run ended {:.0} s after the node died", started.elapsed().as_secs_f64());
    out
}

#[test]
fn a_worker_that_dies_mid_run_has_its_shard_moved_or_named() {
    let Some(c) = cluster::cluster() else { return };
    let _serial = serial();
    let project = fake_project(SLOW_SHARDS);
    let dead = c.node_name(3);

    // With an attempt left, the engine moves the shard and every unit completes.
    let moved = support::unique_name("mn-moved");
    let out = kill_node_mid_run(c, &project, &moved, "1");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    c.restore_node(3);
    assert!(out.status.success(), "{all}");
    assert!(all.contains(&format!("failed on {dead} (node {dead} went down)")), "{all}");
    for index in 0..3 {
        let record =
            json_file(&project.path.join(format!("results/{moved}/shard-{index}/result.json")));
        assert_ne!(record["node"], Value::String(dead.clone()), "shard {index}");
    }
    c.assert_clean(30);

    // With none, the run fails naming the node, and keeps the others' results.
    let lost_id = support::unique_name("mn-lost");
    let out = kill_node_mid_run(c, &project, &lost_id, "0");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    c.restore_node(3);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let named = format!("failed on {dead} after 1 attempt(s): node {dead} is down");
    let lost = all.matches(&named).count();
    assert!(lost >= 1, "{all}");
    assert!(all.contains(&format!("bring {dead} back")), "{all}");
    let kept = units(&project.path.join("results").join(&lost_id));
    assert_eq!(kept.len(), 3 - lost, "the other shards' results are kept: {kept:?}\n{all}");
    c.assert_clean(30);
}

#[test]
fn a_node_that_cannot_pull_or_lacks_the_volume_is_named_with_the_fix() {
    let Some(c) = cluster::cluster() else { return };
    let _serial = serial();
    let project = fake_project(SLOW_SHARDS);
    let node = c.node_name(3);
    let pin = format!("node.hostname=={node}");
    let flags = ["--shards", "1", "--retries", "0", "--constraint", pin.as_str()];

    // A new image, so node 3 must pull it; its connections to the registry are refused.
    let tag = support::unique_name("scylla-runner:cluster-nopull");
    let dockerfile = TempDir::new("mn-nopull");
    std::fs::write(
        dockerfile.path.join("Dockerfile"),
        format!("FROM {}\nLABEL org.scylla.xtask-test=1 test.unique={tag}\n", c.image),
    )
    .unwrap();
    c.run(1, &["build", "-q", "-t", &tag, dockerfile.path.to_str().unwrap()]);
    cluster::harness(&["block-registry", "3"]);
    let mut command = c.xtask();
    command.args(["--project-dir", project.path.to_str().unwrap(), "run-experiment"]);
    let mut swarm = c.swarm_flags();
    swarm[3] = tag.clone();
    let started = Instant::now();
    let out = command
        .args(swarm)
        .args(flags)
        .args(["--experiment-id", &support::unique_name("mn-nopull")])
        .output();
    cluster::harness(&["unblock-registry", "3"]);
    let _ = c.docker(1, &["image", "rm", &tag]);
    let out = out.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    assert!(stderr.contains(&format!("node {node} cannot pull")), "{stderr}");
    assert!(stderr.contains("insecure-registries"), "{stderr}");
    c.assert_clean(20);

    // Node 3 without the shared volume: the engine makes an empty one, the shard says so.
    let restore = RestoreVolume(c, 3);
    c.run(3, &["volume", "rm", c.volume()]);
    let id = support::unique_name("mn-novolume");
    let out =
        swarm_run(c, Some(&project.path), &[&flags[..], &["--experiment-id", &id]].concat(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("node {node} has no shared results volume")), "{stderr}");
    assert!(stderr.contains("docker volume rm"), "{stderr}");
    c.assert_clean(20);
    drop(restore);
}

/// Puts node I's shared results volume back on drop.
struct RestoreVolume(&'static Cluster, usize);

impl Drop for RestoreVolume {
    fn drop(&mut self) {
        let (c, i) = (self.0, self.1);
        // The empty volume the engine made goes once no task container uses it.
        let _ = wait_for(30, || {
            let out = c.docker(i, &["volume", "inspect", "--format", "{{.Options}}", c.volume()]);
            let shared = text(&out.stdout).contains("o:bind");
            (out.status.success() && shared)
                || c.docker(i, &["volume", "rm", c.volume()]).status.success()
        });
        cluster::harness(&["up", &cluster::NODES.to_string()]);
    }
}
