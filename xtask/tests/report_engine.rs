//! `report` end to end: the bundled oracle experiment runs in the real container,
//! `run-experiment` writes its report, `report --export-analysis` writes
//! ProjectScylla's analysis layout, which is checked against the loader's field
//! list, and headless Chromium renders the page. A second, one-run experiment
//! on a copy of the fixture whose every item is N/A gives an errored run, which
//! is exported with what it has and shown side by side with the first. The page
//! of the oracle's runs says that their scores check the harness.
//!
//! Chromium is a CI prerequisite like the engine (`.ci/run` installs it): without
//! it the render prints `skipped: <reason>`, and with `SCYLLA_REQUIRE_ENGINE=1`
//! it fails instead.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::project::{
    command, find_program, project_root, run_xtask, test_image, text, ResultsDir,
};

fn read_json(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

support::engine_tests! {
fn oracle_experiment_is_reported_exported_and_rendered(engine) {
    let image = test_image(&engine);
    let id = support::unique_name("report");
    let results = project_root().join("results").join(&id);
    let _cleanup = ResultsDir(results.clone());
    let out = engine.run_xtask(&[
        "run-experiment",
        "--no-build",
        "--image",
        image,
        "--",
        "--tiers",
        "T0",
        "T1",
        "--runs",
        "2",
        "--experiment-id",
        &id,
        "--fresh",
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "stdout: {}\nstderr: {stderr}", text(&out.stdout));
    let page = results.join("report.html");
    assert!(stderr.contains(&format!("report: {}", page.display())), "{stderr}");
    assert!(results.join("report.md").is_file());

    // A second experiment whose every rubric item is N/A: its run ends in error
    // after the judge ran, which the export and the report must carry as is.
    let fixture = na_fixture(&id);
    let _cleanup_fixture = ResultsDir(fixture.clone());
    let errored_id = format!("{id}-na");
    let errored = project_root().join("results").join(&errored_id);
    let _cleanup_errored = ResultsDir(errored.clone());
    let tiers_dir = fixture.strip_prefix(project_root()).unwrap().to_str().unwrap().to_string();
    let out = engine.run_xtask(&[
        "run-experiment",
        "--no-build",
        "--image",
        image,
        "--experiment-id",
        &errored_id,
        "--",
        "--tiers-dir",
        &tiers_dir,
        "--tiers",
        "T0",
        "--fresh",
    ]);
    assert_eq!(out.status.code(), Some(1), "an errored run exits 1: {}", text(&out.stderr));

    let export = support::project::TempDir::new("analysis");
    let dir = export.path.to_str().unwrap();
    let out = run_xtask(&["report", "--export-analysis", dir, &id, &errored_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    check_export(&export.path, &results, &id);
    check_errored_export(&export.path, &errored, &errored_id);

    let out = run_xtask(&["report", &id, &errored_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let both = project_root().join("results").join(format!("report-{id}+{errored_id}.html"));
    let _cleanup_both = ResultsDir(both.clone());
    let _cleanup_both_md = ResultsDir(both.with_extension("md"));

    // The page does not depend on the engine that ran the experiments: it is
    // rendered once, in the docker half.
    if engine.is_podman() {
        return;
    }
    let Some(chromium) = chromium() else { return };
    let dom = render(&chromium, &page, &format!("{id}.png"));
    assert_charts(&dom, &id, &["T0", "T1"]);
    assert!(
        dom.contains("used the oracle agent (the reference solution), so the scores check"),
        "an oracle experiment says what its scores mean"
    );
    let dom = render(&chromium, &both, &format!("{id}-side-by-side.png"));
    assert_charts(&dom, &id, &["T0", "T1"]);
    assert_charts(&dom, &errored_id, &["T0"]);
    assert!(dom.contains("every rubric item is N/A"), "the errored run's reason is shown");
}
}

/// test-001 with every check command made inapplicable (`applicable_if: "false"`),
/// under target/ so the container sees it at /workspace.
fn na_fixture(id: &str) -> PathBuf {
    let source = project_root().join("tests/fixtures/tests/test-001");
    let target = project_root().join("target/report-fixtures").join(id);
    let _ = std::fs::remove_dir_all(&target);
    for entry in walkdir::WalkDir::new(&source).into_iter().filter_map(Result::ok) {
        let to = target.join(entry.path().strip_prefix(&source).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    let rubric_path = target.join("expected/rubric.yaml");
    let rubric = std::fs::read_to_string(&rubric_path).unwrap();
    let mut changed = String::new();
    for line in rubric.lines().filter(|l| !l.trim_start().starts_with("applicable_if:")) {
        if line.starts_with("        check_command:") {
            changed.push_str("        applicable_if: \"false\"\n");
        }
        changed.push_str(line);
        changed.push('\n');
    }
    std::fs::write(&rubric_path, changed).unwrap();
    target
}

/// The errored run: exported with what it has, nothing made up.
fn check_errored_export(export: &Path, results: &Path, id: &str) {
    let source = read_json(&results.join("T0/run-1/result.json"));
    assert_eq!(source["status"], "error", "{source}");
    let stamp = std::fs::read_dir(export.join(id)).unwrap().next().unwrap().unwrap().path();
    let run_dir = stamp.join("completed/T0/00/run_01");
    let result = read_json(&run_dir.join("run_result.json"));
    assert_eq!(result["run_number"], 1);
    assert_eq!(result["exit_code"], source["exit_code"]);
    assert_eq!(result["status"], "error");
    assert_eq!(result["error"], source["error"]);
    for absent in ["judge_score", "judge_passed", "judge_grade", "judges"] {
        assert!(result.get(absent).is_none(), "{absent} must be left out: {result}");
    }
    let judgment = read_json(&run_dir.join("judge/judge_01/judgment.json"));
    assert_eq!(judgment["is_valid"], false);
    assert!(judgment.get("score").is_none(), "{judgment}");
    let items = judgment["criteria_scores"]["functional"]["items"].as_object().unwrap();
    assert!(items.values().all(|item| item["achieved"] == "N/A" && item["max"] == "N/A"));
}

/// The export against the loader's field list (issue: upstream `loader.py`).
fn check_export(export: &Path, results: &Path, id: &str) {
    let experiment_dir = export.join(id);
    let stamps: Vec<String> = std::fs::read_dir(&experiment_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(stamps.len(), 1, "one timestamp directory: {stamps:?}");
    let first = read_json(&results.join("T0/run-1/result.json"));
    let started = first["started_at"].as_str().unwrap();
    assert_eq!(stamps[0], format!("{}-{id}", started[..19].replace(':', "-")));
    let root = experiment_dir.join(&stamps[0]);

    let config = read_json(&root.join("config/experiment.json"));
    assert_eq!(config["models"][0], "oracle", "the agent, which has no model: {config}");
    let rubric = std::fs::read_to_string(root.join("rubric.yaml")).unwrap();
    assert!(rubric.starts_with("categories:\n") && rubric.contains("    weight: "), "{rubric}");

    for tier in ["T0", "T1"] {
        for run in [1, 2] {
            let source = read_json(&results.join(format!("{tier}/run-{run}/result.json")));
            let run_dir = root.join(format!("completed/{tier}/00/run_{run:02}"));
            check_run(&run_dir, &source, run);
        }
    }
}

fn check_run(run_dir: &Path, source: &Value, run: i64) {
    let result = read_json(&run_dir.join("run_result.json"));
    assert_eq!(result["run_number"].as_i64(), Some(run));
    assert!(result["exit_code"].is_i64(), "{result}");
    let score = result["judge_score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    assert_eq!(result["judge_score"], source["score"]);
    assert_eq!(result["judge_passed"], source["passed"]);
    assert!(["S", "A", "B", "C", "D", "F"].contains(&result["judge_grade"].as_str().unwrap()));
    assert_eq!(result["cost_usd"], source["cost_usd"]);
    assert_eq!(result["duration_seconds"], source["total_duration_s"]);
    assert_eq!(result["agent_duration_seconds"], source["agent_duration_s"]);
    assert_eq!(result["judge_duration_seconds"], source["judge_duration_s"]);
    let tokens = result["token_stats"].as_object().unwrap();
    let mut keys: Vec<&str> = tokens.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["cache_creation_tokens", "cache_read_tokens", "input_tokens", "output_tokens"]
    );
    for (to, from) in [
        ("input_tokens", "input"),
        ("output_tokens", "output"),
        ("cache_creation_tokens", "cache_creation"),
        ("cache_read_tokens", "cache_read"),
    ] {
        assert_eq!(tokens[to], source["tokens"][from], "{to}");
    }

    let judgment = read_json(&run_dir.join("judge/judge_01/judgment.json"));
    assert_eq!(judgment["score"], source["score"]);
    assert_eq!(judgment["passed"], source["passed"]);
    assert_eq!(judgment["grade"], source["grade"]);
    assert_eq!(judgment["is_valid"], true);
    assert!(judgment["reasoning"].is_string());
    let criteria = judgment["criteria_scores"].as_object().unwrap();
    assert!(!criteria.is_empty());
    for (name, category) in criteria {
        assert_eq!(category["max"], source["categories"][name]["applicable_points"], "{name}");
        for key in ["achieved", "max", "score", "items"] {
            assert!(category.get(key).is_some() || key == "score", "{name}.{key}: {category}");
        }
        for (item, scored) in category["items"].as_object().unwrap() {
            for key in ["achieved", "max", "reason"] {
                assert!(scored.get(key).is_some(), "{name}.{item}.{key}: {scored}");
            }
        }
    }
    let model = std::fs::read_to_string(run_dir.join("judge/judge_01/MODEL.md")).unwrap();
    assert!(model.contains("**Model**: commands"), "the oracle run is judged by commands: {model}");
    assert!(read_json(&run_dir.join("agent/result.json")).is_object());
    assert!(run_dir.join("agent/agent.log").is_file(), "the run's logs come along");
}

/// Chromium, or None after saying why (a failure when CI requires it).
fn chromium() -> Option<PathBuf> {
    let found = find_program("chromium").or_else(|| find_program("chromium-browser"));
    if found.is_none() {
        let reason = "no chromium on PATH (apt-get install chromium)";
        if std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() == Ok("1") {
            panic!("SCYLLA_REQUIRE_ENGINE=1 but {reason}");
        }
        eprintln!("skipped: {reason}");
    }
    found
}

/// Renders a page with headless Chromium, offline: checks that it loaded whole,
/// printed nothing on the console and requested nothing, writes a PNG to
/// target/report-render/, and returns the DOM.
fn render(chromium: &Path, page: &Path, png_name: &str) -> String {
    let work = support::project::TempDir::new("chromium");
    let screenshot = project_root().join("target/report-render").join(png_name);
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    let url = format!("file://{}", page.display());

    let (dom, log) = chromium_run(chromium, &work.path, "dom", &["--dump-dom", &url]);
    assert!(dom.trim_end().ends_with("</html>"), "the page did not load whole: {dom:.300}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let requests = page_requests(&work.path.join("dom.netlog.json"));
    assert!(requests.is_empty(), "the page asked for {requests:?}");

    let shot = format!("--screenshot={}", screenshot.display());
    chromium_run(
        chromium,
        &work.path,
        "png",
        &["--window-size=1280,1600", "--hide-scrollbars", &shot, &url],
    );
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    eprintln!("rendered: {}", screenshot.display());
    dom
}

/// Every tier's score chart and the experiment's five bar charts are in the DOM.
fn assert_charts(dom: &str, id: &str, tiers: &[&str]) {
    for tier in tiers {
        assert!(dom.contains(&format!("<svg id=\"chart-{id}-{tier}\"")), "{id}: {tier}'s chart");
    }
    for chart in ["pass-rate", "mean-cost", "cost-per-pass", "agent-time", "judge-time"] {
        assert!(dom.contains(&format!("id=\"{chart}-{id}\"")), "{id}: chart {chart}");
    }
}

/// One Chromium run with a fresh profile, no name resolution (nothing leaves
/// the machine) and a net log; returns (stdout, stderr). Killed after 60 s.
fn chromium_run(chromium: &Path, work: &Path, name: &str, args: &[&str]) -> (String, String) {
    let profile = work.join(format!("{name}.profile"));
    let mut child = command(chromium.to_str().unwrap())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", work.join(format!("{name}.netlog.json")).display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium failed: {}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

/// URLs the page itself asked for (requests whose isolation key is the file
/// origin); Chromium's own background requests are not the page's.
fn page_requests(netlog: &Path) -> Vec<String> {
    let log = read_json(netlog);
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_i64();
    let events = log["events"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .filter(|e| e["type"].as_i64() == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"].as_str().is_some_and(|k| k.contains("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}
