//! The real Claude Code CLI in the real image, against the scripted Messages API
//! stand-in (`tests/claude_api/server.py`) on the bridge's gateway address: test-001
//! solved and judged by the LLM judge, every API fault ending as
//! docs/experiment-runner.md says, and no secret value anywhere it could leak.
//!
//! Each test runs a throwaway copy of the runner (scripts/, src/scylla/ and the
//! test-001 fixture) so that results and short fixture timeouts stay out of the
//! repository.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::project::{
    command, containers_with, grep_tree, project_root, ps_all, test_image, text, wait_for, xtask,
    TempDir,
};

const ROLE: &str = "org.scylla.xtask.role=run-experiment";
/// Settings the runner passes to `claude` untouched, forwarded with `--env NAME`.
const FORWARDED: [&str; 3] =
    ["ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"];

/// The stand-in, serving one scenario on the bridge's gateway; killed on drop.
struct StandIn {
    child: Child,
    url: String,
    record: PathBuf,
    _dir: TempDir,
}

impl StandIn {
    fn start(engine: &support::Engine, scenario: &str, delay: Option<&str>) -> StandIn {
        let dir = TempDir::new("claude-api");
        let record = dir.path.join("requests.jsonl");
        let host = bridge_gateway(engine);
        let server = project_root().join("tests/claude_api/server.py");
        let scenario = project_root().join("tests/claude_api/scenarios").join(scenario);
        let mut cmd = command("python3");
        cmd.arg(server).args(["--host", &host, "--port", "0", "--scenario"]).arg(&scenario);
        cmd.arg("--record").arg(&record);
        if let Some(delay) = delay {
            cmd.args(["--delay", delay]);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("python3 runs the stand-in");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url =
            line.trim().strip_prefix("listening on ").expect("the stand-in starts").to_owned();
        StandIn { child, url, record, _dir: dir }
    }

    fn requests(&self) -> Vec<Value> {
        let data = std::fs::read_to_string(&self.record).unwrap_or_default();
        data.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Requests whose messages contain `needle` (the agent's: "hello.py" and no judge).
    fn requests_with(&self, needle: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["messages"].to_string().contains(needle)).collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The default network's gateway: where a container reaches a server on the host.
/// Docker calls it `bridge` (IPAM config), Podman `podman` (subnets, lower case).
fn bridge_gateway(engine: &support::Engine) -> String {
    let docker = ["network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"];
    let out = engine.output(&docker);
    let (config, gateway_key, subnet_key) = if out.status.success() {
        (out.stdout, "Gateway", "Subnet")
    } else {
        let podman = ["network", "inspect", "podman", "--format", "{{json .Subnets}}"];
        (engine.run(&podman), "gateway", "subnet")
    };
    let config: Value = serde_json::from_slice(&config).expect("the network config is JSON");
    let first = &config[0];
    if let Some(gateway) = first[gateway_key].as_str().filter(|g| !g.is_empty()) {
        return gateway.to_owned();
    }
    // No gateway recorded: the engine uses the subnet's first address.
    let subnet = first[subnet_key].as_str().expect("the network has a subnet");
    let network = subnet.split('/').next().unwrap();
    let mut octets: Vec<u8> = network.split('.').map(|o| o.parse().unwrap()).collect();
    octets[3] += 1;
    octets.iter().map(u8::to_string).collect::<Vec<_>>().join(".")
}

/// A copy of the runner with the test-001 fixture; `config` replaces its config.yaml.
fn runner_project(config: Option<&str>) -> TempDir {
    let dir = TempDir::new("cc-project");
    let root = project_root();
    for part in ["scripts/run_e2e_experiment.py", "src/scylla", "tests/fixtures/tests/test-001"] {
        copy_tree(&root.join(part), &dir.path.join(part));
    }
    if let Some(config) = config {
        std::fs::write(dir.path.join("tests/fixtures/tests/test-001/config.yaml"), config).unwrap();
    }
    std::fs::create_dir_all(dir.path.join("home")).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).into_iter().filter_map(Result::ok) {
        let relative = entry.path().strip_prefix(from).unwrap();
        if relative.components().any(|c| c.as_os_str() == "__pycache__") {
            continue;
        }
        let target =
            if relative.as_os_str().is_empty() { to.to_path_buf() } else { to.join(relative) };
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `run-experiment` of the copy against the stand-in, with the agent forced to Claude Code.
fn experiment(project: &TempDir, image: &str, api: &StandIn, key: &str, args: &[&str]) -> Child {
    let mut cmd = xtask();
    cmd.arg("--project-dir").arg(&project.path);
    cmd.args(["run-experiment", "--no-build", "--image", image]);
    for name in FORWARDED {
        cmd.args(["--env", name]);
    }
    cmd.arg("--").args(["--agent", "claude-code"]).args(args);
    cmd.env("HOME", project.path.join("home"))
        .env("ANTHROPIC_BASE_URL", &api.url)
        .env("ANTHROPIC_API_KEY", key)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("xtask runs")
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

fn result(project: &TempDir, experiment: &str, unit: &str) -> Value {
    let path = project.path.join("results").join(experiment).join(unit).join("result.json");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&data).unwrap()
}

fn sha256_hex(value: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn claude_code_solves_test_001_and_the_llm_judge_scores_it_s_with_no_secret_leaked() {
    let Some(engine) = support::engine() else { return };
    let image = test_image(&engine);
    let project = runner_project(None);
    // One second per answer keeps the container up long enough to look at it.
    let api = StandIn::start(&engine, "solve-test-001.json", Some("1"));
    let canary = format!("sk-canary-{}", support::unique_name("key"));
    let oauth_canary = format!("oauth-canary-{}", support::unique_name("token"));
    let file_canary = format!("file-canary-{}", support::unique_name("credentials"));
    let credentials = project.path.join("home/credentials.json");
    std::fs::write(&credentials, format!("{{\"claudeAiOauth\": {{\"note\": \"{file_canary}\"}}}}"))
        .unwrap();
    let mut cmd = xtask();
    cmd.arg("--project-dir").arg(&project.path);
    cmd.args(["-v", "run-experiment", "--no-build", "--image", image]);
    for name in FORWARDED.iter().chain(&["CLAUDE_CODE_OAUTH_TOKEN"]) {
        cmd.args(["--env", name]);
    }
    cmd.arg("--credentials").arg(&credentials);
    cmd.args(["--", "--tiers", "T0", "--agent", "claude-code", "--experiment-id", "solve"]);
    let child = cmd
        .env("HOME", project.path.join("home"))
        .env("ANTHROPIC_BASE_URL", &api.url)
        .env("ANTHROPIC_API_KEY", &canary)
        .env("CLAUDE_CODE_OAUTH_TOKEN", &oauth_canary)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(60, || !api.requests_with("hello.py").is_empty()), "the agent never asked");
    let ps = ps_all();
    for secret in [&canary, &oauth_canary, &file_canary] {
        assert!(!ps.contains(secret.as_str()), "a secret is visible in ps");
    }
    for name in containers_with(&engine, ROLE) {
        let inspected = text(&engine.output(&["inspect", &name]).stdout);
        for secret in [&canary, &oauth_canary, &file_canary] {
            assert!(!inspected.contains(secret.as_str()), "a secret is in docker inspect {name}");
        }
    }
    let out = finish(child);
    assert!(out.status.success(), "{}", describe(&out));
    let logs = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let run = result(&project, "solve", "T0/run-1");
    assert_eq!(run["score"].as_f64(), Some(1.0), "{run}");
    assert_eq!(run["grade"], "S");
    assert_eq!(run["agent"], "claude-code");
    assert_eq!(run["judge"]["method"], "commands+llm");
    let by_method = |method: &str| -> Vec<String> {
        let items = run["criteria"].as_array().unwrap().iter();
        items.filter(|i| i["method"] == method).map(|i| i["id"].as_str().unwrap().into()).collect()
    };
    assert_eq!(by_method("llm"), ["Q2", "Q3", "B3", "OQ1"], "the LLM-judged items are marked");
    let cli = &run["claude_code"];
    assert_eq!(cli["version"].as_str().map(|v| v.split('.').count()), Some(3), "{cli}");
    assert!(cli["model"].as_str().is_some_and(|m| m.starts_with("claude-")), "{cli}");
    assert_eq!(cli["num_turns"], 3, "{cli}");
    assert!(cli["session_id"].as_str().is_some_and(|s| s.len() >= 32), "{cli}");
    assert!(run["agent_cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{run}");
    assert_eq!(run["tokens"]["input"], 6300, "{run}");
    // The agent really used the tools: Write, then Bash, each answered with a tool_result.
    let agent = api.requests_with("hello.py");
    assert!(agent.iter().all(|r| r["path"] == "/v1/messages?beta=true" && r["stream"] == true));
    let mut own = agent.iter().filter(|r| !r["messages"].to_string().contains("You are the judge"));
    let last = own.next_back().unwrap().to_string();
    assert!(last.contains("File created successfully") && last.contains("Hello, World!"), "{last}");
    // The key arrived (as its hash), and no secret is in results, logs or the project.
    let keys: Vec<Value> = api.requests().iter().map(|r| r["api_key_sha256"].clone()).collect();
    let bearer: Vec<Value> =
        api.requests().iter().map(|r| r["authorization_sha256"].clone()).collect();
    assert!(
        keys.contains(&Value::from(sha256_hex(&canary)))
            || bearer.contains(&Value::from(sha256_hex(&oauth_canary))),
        "neither the key nor the token reached the API"
    );
    for secret in [&canary, &oauth_canary, &file_canary] {
        assert!(!logs.contains(secret.as_str()), "a secret is in the task's output");
        let found = grep_tree(&project.path.join("results"), secret);
        assert!(found.is_empty(), "a secret is in results: {found:?}");
    }
}

#[test]
fn api_faults_end_as_documented() {
    let Some(engine) = support::engine() else { return };
    let image = test_image(&engine);
    let project = runner_project(None);
    let key = "sk-fault-test";

    // 529 and 429, three times each: the CLI retries and the run passes.
    for scenario in ["retry-529.json", "retry-429.json"] {
        let api = StandIn::start(&engine, scenario, None);
        let id = scenario.trim_end_matches(".json");
        let out = finish(experiment(
            &project,
            image,
            &api,
            key,
            &["--tiers", "T0", "--experiment-id", id],
        ));
        assert!(out.status.success(), "{scenario}: {}", describe(&out));
        let run = result(&project, id, "T0/run-1");
        assert_eq!(run["score"].as_f64(), Some(1.0), "{scenario}: {run}");
        assert!(run["claude_code"]["api_retries"].as_u64() >= Some(3), "{scenario}: {run}");
    }

    // Malformed events: an errored run with the CLI's own one-line reason, not judged.
    let api = StandIn::start(&engine, "malformed.json", None);
    let out = finish(experiment(
        &project,
        image,
        &api,
        key,
        &["--tiers", "T0", "--experiment-id", "bad"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let run = result(&project, "bad", "T0/run-1");
    let error = run["error"].as_str().unwrap();
    assert!(error.starts_with("agent: error_during_execution: "), "{run}");
    assert!(!error.contains('\n'), "{error}");
    assert!(api.requests_with("You are the judge").is_empty(), "an errored agent was judged");
    assert!(
        text(&out.stderr).contains(&format!("[T0/run-1] ERROR: {error}")),
        "{}",
        describe(&out)
    );

    // A stream that never ends: killed at the task's timeout, judged, container gone.
    let config = project.path.join("tests/fixtures/tests/test-001/config.yaml");
    std::fs::write(config, "timeout_seconds: 6\nmax_cost_usd: 5.0\n").unwrap();
    let api = StandIn::start(&engine, "never-ends.json", None);
    let started = Instant::now();
    let out = finish(experiment(
        &project,
        image,
        &api,
        key,
        &["--tiers", "T0", "--experiment-id", "hang"],
    ));
    assert!(out.status.success(), "{}", describe(&out));
    let run = result(&project, "hang", "T0/run-1");
    assert_eq!(run["timed_out"], true, "{run}");
    assert_eq!(run["exit_code"], 124, "{run}");
    let agent_time = run["agent_duration_s"].as_f64().unwrap();
    assert!((6.0..20.0).contains(&agent_time), "stopped after {agent_time}s");
    assert!(started.elapsed() < Duration::from_secs(60));
    // `--rm`: the engine removes it right after it exits.
    let gone = wait_for(10, || own_containers(&engine, &project).is_empty());
    assert!(gone, "the container is left");
}

#[test]
fn unusable_api_answers_stop_the_experiment_in_seconds() {
    let Some(engine) = support::engine() else { return };
    let image = test_image(&engine);
    let project = runner_project(None);
    let cases = [
        ("invalid-key.json", "API error 401 authentication_error: Invalid API key"),
        (
            "unknown-model.json",
            "API error 404 not_found_error: There's an issue with the selected model",
        ),
    ];
    for (scenario, reason) in cases {
        let api = StandIn::start(&engine, scenario, None);
        let started = Instant::now();
        let args = ["--tiers", "T0", "T1", "--runs", "3", "--experiment-id", "refused"];
        let out = finish(experiment(&project, image, &api, "sk-wrong", &args));
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
        assert_eq!(out.status.code(), Some(2), "{scenario}: {}", describe(&out));
        let stderr = text(&out.stderr);
        let line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
        assert!(
            line.contains("the agent's model sonnet cannot be used: ") && line.contains(reason),
            "{stderr}"
        );
        assert!(api.requests_with("hello.py").is_empty(), "{scenario}: a unit ran");
    }
    // The agent alone refused, with 403 (not retried) or 401 (retried by the CLI for
    // minutes, so stopped after three retries): recorded with that error, never judged,
    // and the experiment stops once the same error repeats instead of paying it for
    // every unit.
    let refusals = [
        ("agent-forbidden.json", "agent: API error 403 permission_error: ", 403),
        ("agent-invalid-key.json", "agent: API error 401 authentication_failed: ", 401),
    ];
    for (scenario, prefix, status) in refusals {
        let api = StandIn::start(&engine, scenario, None);
        let id = scenario.trim_end_matches(".json");
        let args = ["--tiers", "T0", "--runs", "4", "--experiment-id", id];
        let started = Instant::now();
        let out = finish(experiment(&project, image, &api, "sk-scoped", &args));
        assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
        assert_eq!(out.status.code(), Some(2), "{scenario}: {}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("error: stopped early: 2 units in a row"), "{stderr}");
        for unit in ["T0/run-1", "T0/run-2"] {
            let run = result(&project, id, unit);
            assert!(run["error"].as_str().unwrap().starts_with(prefix), "{scenario}: {run}");
            assert_eq!(run["claude_code"]["api_error_status"], status);
        }
        let results = project.path.join("results").join(id).join("T0");
        assert!(!results.join("run-4/result.json").exists(), "the experiment went on");
        assert!(api.requests_with("You are the judge").is_empty(), "a refused agent was judged");
    }
}

#[test]
fn an_unreachable_api_stops_the_experiment_at_the_probe_in_seconds() {
    let Some(engine) = support::engine() else { return };
    let image = test_image(&engine);
    let project = runner_project(None);
    // The stand-in's address with nothing listening any more: the connection is refused.
    let mut api = StandIn::start(&engine, "solve-test-001.json", None);
    api.child.kill().unwrap();
    api.child.wait().unwrap();
    let started = Instant::now();
    let args = ["--tiers", "T0", "--runs", "3", "--experiment-id", "unreachable"];
    let out = finish(experiment(&project, image, &api, "sk-ant-fake", &args));
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("answered success") && !stderr.contains("trying again"), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(
        line.contains("the agent's model sonnet cannot be used: the CLI cannot reach the API (")
            && line.contains("ECONNREFUSED")
            && line.contains("ANTHROPIC_BASE_URL is set")
            && line.contains("cargo xtask run-experiment --network NAME"),
        "{stderr}"
    );
    let results = project.path.join("results/unreachable");
    assert!(!results.exists(), "the probe left {results:?}");
}

/// Containers of this test's runs (by the project directory they mount).
fn own_containers(engine: &support::Engine, project: &TempDir) -> Vec<String> {
    let mount = project.path.to_string_lossy().into_owned();
    containers_with(engine, ROLE)
        .into_iter()
        .filter(|name| text(&engine.output(&["inspect", name]).stdout).contains(&mount))
        .collect()
}

#[test]
fn parallel_units_stop_together_on_ctrl_c_and_a_rerun_resumes() {
    let Some(engine) = support::engine() else { return };
    let image = test_image(&engine);
    let project = runner_project(None);
    let args = ["--tiers", "T0", "--runs", "3", "--parallel", "3", "--experiment-id", "par"];
    let api = StandIn::start(&engine, "never-ends.json", None);
    let child = experiment(&project, image, &api, "sk-parallel", &args);
    let all_started = wait_for(60, || api.requests_with("hello.py").len() >= 3);
    assert!(all_started, "three agents never ran at once: {:?}", api.requests().len());
    let sent = Instant::now();
    support::project::kill(&child.id().to_string(), "-INT");
    let out = finish(child);
    assert!(sent.elapsed() < Duration::from_secs(20), "took {:?} to stop", sent.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert!(wait_for(10, || own_containers(&engine, &project).is_empty()), "a container is left");
    let results = project.path.join("results/par");
    assert!(grep_tree(&results, "\"schema_version\"").is_empty(), "an interrupted unit recorded");
    drop(api);

    // Resume with the API answering: the three units run (at once) and pass.
    let api = StandIn::start(&engine, "solve-test-001.json", None);
    let out = finish(experiment(&project, image, &api, "sk-parallel", &args));
    assert!(out.status.success(), "{}", describe(&out));
    for run in 1..=3 {
        let unit = format!("T0/run-{run}");
        assert_eq!(result(&project, "par", &unit)["grade"], "S", "{unit}");
    }
}
