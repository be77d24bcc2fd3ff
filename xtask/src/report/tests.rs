//! Mapping and rendering tests on results the real runner wrote:
//! `xtask/tests/data/report/claude-sample` (regenerate with its `generate.sh`):
//! two judged claude-code runs on T0, an agent that failed at once on T1 and an
//! agent that timed out on T2.

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{json, Value};

use super::export::{self, export_run};
use super::results::{Aggregate, Experiment};
use super::*;

fn data_dir() -> Utf8PathBuf {
    Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/report")
}

fn sample() -> Experiment {
    Experiment::load(&data_dir(), "claude-sample").expect("the sample loads")
}

fn run<'a>(experiment: &'a Experiment, unit: &str) -> &'a results::Run {
    experiment.runs.iter().find(|r| r.unit == unit).expect("unit exists")
}

#[test]
fn runs_load_in_tier_order() {
    let experiment = sample();
    let units: Vec<&str> = experiment.runs.iter().map(|r| r.unit.as_str()).collect();
    assert_eq!(units, ["T0/run-1", "T0/run-2", "T1/run-1", "T2/run-1"]);
    assert_eq!(experiment.tiers(), ["T0", "T1", "T2"]);
}

#[test]
fn a_judged_run_maps_every_field() {
    let experiment = sample();
    let source = run(&experiment, "T0/run-1");
    let exported = export_run(source).unwrap();
    assert_eq!(exported.relative_dir, "T0/00/run_01");
    let out = &exported.run_result;
    assert_eq!(out["run_number"], 1);
    assert_eq!(out["exit_code"], source.result["exit_code"]);
    assert_eq!(out["judge_score"], source.result["score"]);
    assert_eq!(out["judge_passed"], source.result["passed"]);
    assert_eq!(out["judge_grade"], source.result["grade"]);
    assert_eq!(out["cost_usd"], source.result["cost_usd"]);
    assert_eq!(out["duration_seconds"], source.result["total_duration_s"]);
    assert_eq!(out["agent_duration_seconds"], source.result["agent_duration_s"]);
    assert_eq!(out["judge_duration_seconds"], source.result["judge_duration_s"]);
    let tokens = &source.result["tokens"];
    assert_eq!(
        out["token_stats"],
        json!({
            "input_tokens": tokens["input"],
            "output_tokens": tokens["output"],
            "cache_creation_tokens": tokens["cache_creation"],
            "cache_read_tokens": tokens["cache_read"],
        })
    );
    let (judgment, model) = exported.judgment.as_ref().expect("judged");
    assert_eq!(model, "opus", "the LLM judge's model");
    assert_eq!(judgment["score"], source.result["score"]);
    assert_eq!(judgment["is_valid"], true);
    let functional = &judgment["criteria_scores"]["functional"];
    assert_eq!(
        functional["achieved"],
        source.result["categories"]["functional"]["achieved_points"]
    );
    assert_eq!(functional["max"], source.result["categories"]["functional"]["applicable_points"]);
    assert_eq!(functional["items"]["F1"]["achieved"], 1.0);
    assert_eq!(functional["items"]["F1"]["max"], 1.0);
    let q4 = &judgment["criteria_scores"]["code_quality"]["items"]["Q4"];
    assert_eq!((&q4["achieved"], &q4["max"]), (&json!("N/A"), &json!("N/A")));
    let cli = &source.result["claude_code"];
    assert_eq!(
        exported.agent_model.as_deref(),
        cli["model"].as_str(),
        "the model the CLI reported"
    );
    assert_eq!(exported.agent_result["num_turns"], cli["num_turns"]);
}

#[test]
fn an_errored_run_is_exported_with_what_it_has() {
    let experiment = sample();
    let source = run(&experiment, "T1/run-1");
    assert_eq!(source.str("status"), Some("error"));
    let exported = export_run(source).unwrap();
    let out = exported.run_result.as_object().unwrap();
    assert_eq!(out["exit_code"], export::UNKNOWN_EXIT_CODE, "unknown exit code");
    for absent in [
        "judge_score",
        "judge_passed",
        "judge_grade",
        "cost_usd",
        "token_stats",
        "agent_duration_seconds",
        "judge_duration_seconds",
        "judges",
    ] {
        assert!(!out.contains_key(absent), "{absent} must be left out, not invented: {out:?}");
    }
    assert_eq!(out["duration_seconds"], source.result["total_duration_s"]);
    assert_eq!(out["status"], "error");
    assert!(out["error"].as_str().unwrap().contains("Invalid API key"));
    assert!(exported.judgment.is_none(), "never judged, so no judgment");
}

#[test]
fn a_timed_out_run_keeps_its_exit_code_and_its_verdict() {
    let experiment = sample();
    let exported = export_run(run(&experiment, "T2/run-1")).unwrap();
    let out = &exported.run_result;
    assert_eq!(out["exit_code"], 124);
    assert_eq!(out["timed_out"], true);
    assert!(out.get("cost_usd").is_none(), "the agent's cost is unknown: {out}");
    assert!(out["judge_score"].as_f64().unwrap() < 0.6);
    assert_eq!(out["judge_passed"], false);
}

#[test]
fn timestamps_and_subtests_take_upstreams_form() {
    assert_eq!(export::upstream_timestamp("2026-12-01T09:05:08Z").unwrap(), "2026-12-01T09-05-08");
    assert!(export::upstream_timestamp("yesterday").is_err());
    assert_eq!(export::subtest_dir(None).unwrap(), "00");
    assert_eq!(export::subtest_dir(Some("03-delegate")).unwrap(), "03");
    assert!(export::subtest_dir(Some("x-1")).is_err());
    let experiment = sample();
    let started = experiment.started_at().unwrap();
    assert_eq!(
        export::timestamp_dir(&experiment).unwrap(),
        format!("{}-claude-sample", export::upstream_timestamp(started).unwrap())
    );
}

#[test]
fn the_rubric_and_config_come_from_the_runs() {
    let experiment = sample();
    let rubric = export::rubric_yaml(&experiment).unwrap();
    assert!(rubric.starts_with("categories:\n"), "{rubric}");
    assert!(rubric.contains("  \"functional\":\n    weight: 0.35\n"), "{rubric}");
    let runs: Vec<_> = experiment.runs.iter().map(|r| export_run(r).unwrap()).collect();
    let config = export::experiment_config(&experiment, &runs);
    assert_eq!(
        config["models"],
        json!(["claude-sonnet-4-5", "sonnet"]),
        "reported, then asked for"
    );
    assert_eq!(config["tiers_to_run"], json!(["T0", "T1", "T2"]));
}

#[test]
fn aggregates_follow_the_definitions() {
    let experiment = sample();
    let t0 = Aggregate::of(experiment.tier_runs("T0"));
    let costs: Vec<f64> = experiment.tier_runs("T0").map(|r| r.f64("cost_usd").unwrap()).collect();
    assert_eq!((t0.runs, t0.passed, t0.errors), (2, 2, 0));
    assert_eq!(t0.pass_rate(), Some(1.0));
    let total: f64 = costs.iter().sum();
    assert!((t0.cost_per_pass().unwrap() - total / 2.0).abs() < 1e-12);
    let t1 = Aggregate::of(experiment.tier_runs("T1"));
    assert_eq!((t1.errors, t1.pass_rate(), t1.cost_per_pass()), (1, None, None));
    let t2 = Aggregate::of(experiment.tier_runs("T2"));
    assert_eq!(t2.cost_per_pass(), None, "no pass and an unknown cost");
    assert_eq!(tables::cost_per_pass_text(&t2), "no pass");
}

#[test]
fn the_page_is_self_contained_and_has_every_tiers_chart() {
    let experiment = sample();
    let page = html::render(std::slice::from_ref(&experiment), &[String::new()], "now");
    for tier in ["T0", "T1", "T2"] {
        assert!(page.contains(&format!("id=\"chart-claude-sample-{tier}\"")), "{tier}");
    }
    for chart in ["pass-rate", "mean-cost", "cost-per-pass", "agent-time", "judge-time"] {
        assert!(page.contains(&format!("id=\"{chart}-claude-sample\"")), "{chart}");
    }
    assert!(!page.contains("<script"), "no scripts");
    assert!(!page.contains("http://") || !page.contains("src=\"http"), "nothing fetched");
    assert!(page.contains("href=\"T1/run-1/agent-stderr.log\""), "links to logs");
    assert!(page.contains("Invalid API key"), "the error is shown");
    assert!(
        page.contains("sha256:0000000000000000000000000000000000000000000000000000000000000001")
    );
    assert!(page.contains("<td>Claude Code version</td><td>unknown</td>"));
    let cli = &run(&experiment, "T0/run-1").result["claude_code"];
    let session = cli["session_id"].as_str().unwrap();
    assert!(
        page.contains(&format!("<td>{}</td><td>{session}</td>", cli["num_turns"])),
        "turns, session"
    );
}

#[test]
fn markdown_has_the_same_tables() {
    let experiment = sample();
    let md = markdown::render(std::slice::from_ref(&experiment), &[String::new()], "now");
    assert!(md.contains("| Tier | Runs | Errors | Passed | Pass rate |"), "{md}");
    assert!(md.contains("| T1/run-1 | ERROR |"), "{md}");
    assert!(md.contains("[agent-stderr.log](T1/run-1/agent-stderr.log)"), "{md}");
    assert!(md.contains("| Claude Code version | unknown |"), "{md}");
}

#[test]
fn several_ids_share_one_page_with_relative_links() {
    let plan = ReportPlan::new(data_dir(), &["a".into(), "b".into(), "a".into()], None).unwrap();
    assert_eq!(plan.experiment_ids, ["a", "b"]);
    let Action::Report { html, prefixes, .. } = &plan.action else { panic!("a report") };
    assert_eq!(html, &data_dir().join("report-a+b.html"));
    assert_eq!(prefixes, &["a/", "b/"]);
    assert!(ReportPlan::new(data_dir(), &["../etc".into()], None).is_err());
}

#[test]
fn without_an_id_the_most_recent_experiment_is_reported() {
    let plan = ReportPlan::new(data_dir(), &[], None).unwrap();
    assert_eq!(plan.experiment_ids, ["claude-sample"]);
}

#[test]
fn a_missing_experiment_names_the_ones_there() {
    let error = Experiment::load(&data_dir(), "nope").unwrap_err();
    assert!(error.to_string().contains("experiments there: claude-sample"), "{error}");
    assert_eq!(crate::error::exit_code_for(&error), crate::error::EXIT_USAGE);
}

#[test]
fn utc_timestamps_are_civil_dates() {
    let at = |s: u64| utc_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    assert_eq!(at(0), "1970-01-01T00:00:00Z");
    assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(at(1_796_115_908), "2026-12-01T09:05:08Z");
}

#[test]
fn unknown_values_are_said_so() {
    let mut result = json!({"tier": "T0", "run": 1, "status": "error", "agent": "oracle"});
    result["provenance"] = Value::Null;
    let run = results::Run { unit: "T0/run-1".into(), result };
    let experiment = Experiment {
        id: "x".into(),
        dir: "x".into(),
        runs: vec![run],
        unreadable: vec!["T0/run-2".into()],
    };
    let table = tables::provenance_table(&experiment);
    assert!(table.rows.iter().any(|row| row[0].text == "Image id" && row[1].text == "unknown"));
    let runs = tables::runs_table(&experiment, "");
    assert_eq!(runs.rows[1][1].text, "INVALID");
    assert_eq!(runs.rows[1].len(), runs.headers.len());
}

#[test]
fn the_experiment_id_is_read_from_the_runners_arguments() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        experiment_id_arg(&args(&["--tiers", "T0", "--experiment-id", "x"])),
        Some("x".into())
    );
    assert_eq!(experiment_id_arg(&args(&["--experiment-id=y"])), Some("y".into()));
    assert_eq!(experiment_id_arg(&args(&["--tiers", "T0"])), None);
}

#[test]
fn dry_run_describes_every_output() {
    let dir = data_dir();
    let plan = ReportPlan::new(dir.clone(), &["a".into()], None).unwrap();
    assert_eq!(
        plan.describe(),
        [format!("would write {dir}/a/report.html"), format!("would write {dir}/a/report.md")]
    );
    let plan = ReportPlan::new(dir, &["a".into()], Some("out".into())).unwrap();
    assert_eq!(plan.describe(), ["would export a to out/a/<start time>-a/"]);
}

/// The plan's usage error (exit 2) for these paths, as text.
fn plan_error(results_dir: &Utf8Path, export: Option<&Utf8Path>) -> String {
    let ids = ["claude-sample".to_string()];
    let error = ReportPlan::new(results_dir.to_path_buf(), &ids, export.map(Utf8Path::to_path_buf))
        .expect_err("a usage error");
    assert_eq!(crate::error::exit_code_for(&error), crate::error::EXIT_USAGE, "{error}");
    format!("{error:#}")
}

#[test]
fn empty_paths_are_usage_errors_that_say_what_to_pass() {
    let message = plan_error("".into(), None);
    assert!(message.starts_with("--results-dir needs a directory, got an empty path"), "{message}");
    let message = plan_error(&data_dir(), Some("".into()));
    assert_eq!(
        message,
        "--export-analysis needs a directory, got an empty path; pass a directory to export \
         into (it is created when missing)"
    );
}

#[test]
fn a_results_dir_that_is_missing_or_a_file_is_said_so_and_an_empty_one_asks_for_a_run() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let root = Utf8Path::from_path(scratch.path()).expect("UTF-8");
    let missing = root.join("nonexistent");
    let message = plan_error(&missing, None);
    assert!(message.contains(&format!("{missing} does not exist")), "{message}");
    assert!(!message.contains("run one first"), "{message}");
    let file = root.join("results.txt");
    std::fs::write(&file, "").unwrap();
    assert!(plan_error(&file, None).contains(&format!("{file} is not a directory")));
    let error = ReportPlan::new(root.to_path_buf(), &[], None).expect_err("no experiment");
    assert!(error.to_string().starts_with(&format!("no experiment results in {root}; run one")));
}

#[test]
fn an_export_target_that_is_not_a_directory_is_named() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let root = Utf8Path::from_path(scratch.path()).expect("UTF-8");
    let file = root.join("README.md");
    std::fs::write(&file, "").unwrap();
    let message = plan_error(&data_dir(), Some(&file));
    assert!(message.starts_with(&format!("--export-analysis {file} is not a directory")));
    let under = file.join("out");
    let message = plan_error(&data_dir(), Some(&under));
    assert!(message.starts_with(&format!("--export-analysis {under}: {file} is not a directory")));
    let fresh = root.join("new/deeper");
    assert!(ReportPlan::new(data_dir(), &[], Some(fresh)).is_ok(), "created when missing");
}

/// An experiment of completed runs by these agents, in memory.
fn experiment_of(agents: &[&str]) -> Experiment {
    let runs = agents
        .iter()
        .enumerate()
        .map(|(index, agent)| {
            let result = json!({
                "tier": "T0", "run": index + 1, "status": "completed", "agent": agent,
                "score": 1.0, "passed": true, "grade": "S",
            });
            results::Run { unit: format!("T0/run-{}", index + 1), result }
        })
        .collect();
    Experiment { id: "x".into(), dir: "x".into(), runs, unreadable: Vec::new() }
}

#[test]
fn an_oracle_experiment_says_its_scores_check_the_harness() {
    let render = |experiment: &Experiment| {
        let prefixes = [String::new()];
        let experiments = std::slice::from_ref(experiment);
        (
            html::render(experiments, &prefixes, "now"),
            markdown::render(experiments, &prefixes, "now"),
        )
    };
    let (page, md) = render(&experiment_of(&["oracle", "oracle"]));
    let note = "These runs used the oracle agent (the reference solution), so the scores \
                check the harness, not a model.";
    assert!(page.contains(&format!("<p class=\"note\">{note}</p>")), "{page}");
    assert!(md.contains(&format!("## x\n\n> {note}\n\n### Per tier")), "{md}");
    for experiment in [experiment_of(&["oracle", "claude-code"]), experiment_of(&[]), sample()] {
        let (page, md) = render(&experiment);
        assert!(!page.contains("oracle agent") && !md.contains("oracle agent"), "{md}");
    }
}
