//! The report's tables as data, rendered to HTML by `html` and to Markdown by
//! `markdown`, so `report.html` and `report.md` can never disagree.
//!
//! A value the results do not hold is shown as `unknown` (a field the runner did
//! not record, e.g. the Claude Code version of an oracle run) or `-` (a figure
//! that does not exist, e.g. the score of an errored run).

use serde_json::Value;

use super::results::{Aggregate, Experiment, Run};

pub const UNKNOWN: &str = "unknown";

/// Said above an experiment whose every run is the oracle's: a perfect score there
/// is the harness working, not a model's result.
pub const ORACLE_NOTE: &str = "These runs used the oracle agent (the reference solution), \
                               so the scores check the harness, not a model.";

/// The note an experiment's summary starts with, if any.
pub fn experiment_note(experiment: &Experiment) -> Option<&'static str> {
    experiment.oracle_only().then_some(ORACLE_NOTE)
}

/// A cell: its text and optional links (label, relative href).
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub text: String,
    pub links: Vec<(String, String)>,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, links: Vec::new() }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

pub fn money(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("${v:.4}"))
}

/// Seconds with the digits that matter: an oracle's agent takes milliseconds.
pub fn seconds(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 10.0 => format!("{v:.0} s"),
        Some(v) if v >= 1.0 => format!("{v:.1} s"),
        Some(v) => format!("{v:.3} s"),
        None => "-".to_string(),
    }
}

pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{:.0}%", v * 100.0))
}

pub fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

/// The cost of a pass, or why there is none.
pub fn cost_per_pass_text(agg: &Aggregate) -> String {
    match agg.cost_per_pass() {
        Some(cost) => money(Some(cost)),
        None if agg.passed == 0 => "no pass".to_string(),
        None => format!("{UNKNOWN} ({} run(s) without a cost)", agg.runs - agg.runs_with_cost),
    }
}

/// One row per tier, then the whole experiment.
pub fn tier_table(experiment: &Experiment) -> Table {
    let mut rows: Vec<Vec<Cell>> = experiment
        .tiers()
        .into_iter()
        .map(|tier| tier_row(tier, &Aggregate::of(experiment.tier_runs(tier))))
        .collect();
    rows.push(tier_row("all", &Aggregate::of(&experiment.runs)));
    Table {
        headers: vec![
            "Tier",
            "Runs",
            "Errors",
            "Passed",
            "Pass rate",
            "Mean score",
            "Mean cost",
            "Cost of a pass",
            "Mean agent time",
            "Mean judge time",
        ],
        rows,
    }
}

fn tier_row(label: &str, agg: &Aggregate) -> Vec<Cell> {
    vec![
        label.into(),
        agg.runs.to_string().into(),
        agg.errors.to_string().into(),
        agg.passed.to_string().into(),
        percent(agg.pass_rate()).into(),
        score(agg.mean_score()).into(),
        match agg.mean_cost() {
            Some(cost) => money(Some(cost)),
            None => UNKNOWN.to_string(),
        }
        .into(),
        cost_per_pass_text(agg).into(),
        seconds(agg.mean_agent_seconds()).into(),
        seconds(agg.mean_judge_seconds()).into(),
    ]
}

/// Every run with links to its logs; `prefix` leads from the page to the experiment.
pub fn runs_table(experiment: &Experiment, prefix: &str) -> Table {
    let mut rows: Vec<Vec<Cell>> = experiment.runs.iter().map(|run| run_row(run, prefix)).collect();
    for unit in &experiment.unreadable {
        let mut row: Vec<Cell> = vec![unit.as_str().into(), "INVALID".into()];
        row.resize(13, "-".into());
        row.push(format!("unreadable {}", super::results::RESULT_FILE).into());
        rows.push(row);
    }
    Table {
        headers: vec![
            "Run",
            "Status",
            "Score",
            "Grade",
            "Cost",
            "Agent time",
            "Judge time",
            "Exit code",
            "Model",
            "Tokens in/out/cache write/cache read",
            "Turns",
            "Session",
            "Logs",
            "Error",
        ],
        rows,
    }
}

fn status(run: &Run) -> &'static str {
    match (run.completed(), run.passed()) {
        (true, true) => "PASS",
        (true, false) => "FAIL",
        _ => "ERROR",
    }
}

fn run_row(run: &Run, prefix: &str) -> Vec<Cell> {
    let exit = match (run.i64("exit_code"), run.bool("timed_out")) {
        (Some(code), Some(true)) => format!("{code} (timed out)"),
        (Some(code), _) => code.to_string(),
        (None, _) => "-".to_string(),
    };
    let logs: Vec<(String, String)> = run
        .log_paths()
        .into_iter()
        .map(|path| {
            (path.rsplit('/').next().unwrap_or(&path).to_string(), format!("{prefix}{path}"))
        })
        .collect();
    let result = (
        "result.json".to_string(),
        format!("{prefix}{}/{}", run.unit, super::results::RESULT_FILE),
    );
    vec![
        run.unit.as_str().into(),
        status(run).into(),
        score(run.f64("score")).into(),
        run.str("grade").unwrap_or("-").into(),
        money(run.f64("cost_usd")).into(),
        seconds(run.f64("agent_duration_s")).into(),
        seconds(run.f64("judge_duration_s")).into(),
        exit.into(),
        model(run).into(),
        tokens(run.result.get("tokens")).into(),
        text_of(cli_value(run, &["num_turns", "turns"])).into(),
        text_of(cli_value(run, &["session_id"])).into(),
        Cell { text: String::new(), links: std::iter::once(result).chain(logs).collect() },
        run.str("error").unwrap_or("").into(),
    ]
}

/// The model the CLI reported, else the one asked for, else `unknown`.
fn model(run: &Run) -> String {
    let reported = run.result.pointer("/claude_code/model").filter(|v| !v.is_null());
    match (reported, run.str("model"), run.str("agent")) {
        (Some(model), _, _) => text_of(Some(model)),
        (None, Some(model), _) => model.to_string(),
        (None, None, Some("oracle")) => "none (oracle)".to_string(),
        _ => UNKNOWN.to_string(),
    }
}

fn tokens(tokens: Option<&Value>) -> String {
    let Some(tokens) = tokens.filter(|t| t.is_object()) else { return UNKNOWN.to_string() };
    let count =
        |key: &str| tokens.get(key).and_then(Value::as_u64).map_or("?".into(), |n| n.to_string());
    ["input", "output", "cache_creation", "cache_read"].map(count).join(" / ")
}

/// A field the Claude Code CLI reports, under any of `names`.
pub fn cli_value<'a>(run: &'a Run, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| run.lookup(name))
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Bool(flag)) => flag.to_string(),
        _ => UNKNOWN.to_string(),
    }
}

/// Where the results came from: each field's distinct values over the runs.
pub fn provenance_table(experiment: &Experiment) -> Table {
    let distinct = |get: &dyn Fn(&Run) -> String| {
        let mut values: Vec<String> = Vec::new();
        for value in experiment.runs.iter().map(get) {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        if values.is_empty() {
            UNKNOWN.to_string()
        } else {
            values.join(", ")
        }
    };
    let field = |names: &'static [&'static str]| move |run: &Run| text_of(cli_value(run, names));
    let git = |run: &Run| {
        let commit = text_of(cli_value(run, &["git_commit"]));
        match run.lookup("git_dirty").and_then(Value::as_bool) {
            Some(true) => format!("{commit} (with uncommitted changes)"),
            _ => commit,
        }
    };
    let rows = [
        ("Image id", distinct(&field(&["image_id"]))),
        ("Source hash", distinct(&field(&["source_hash"]))),
        ("Claude Code version", distinct(&field(&["claude_code_version", "version"]))),
        ("Git commit", distinct(&git)),
        ("Agent", distinct(&field(&["agent"]))),
        ("Model", distinct(&model)),
        ("Judge", distinct(&|run: &Run| judge_text(run))),
        ("Fixture", distinct(&field(&["fixture_id"]))),
        ("Node", distinct(&field(&["node"]))),
        ("scylla version", distinct(&field(&["scylla_version"]))),
        ("Python version", distinct(&field(&["python_version"]))),
    ];
    Table {
        headers: vec!["Field", "Value"],
        rows: rows.into_iter().map(|(name, value)| vec![name.into(), value.into()]).collect(),
    }
}

fn judge_text(run: &Run) -> String {
    let method = run.result.pointer("/judge/method").and_then(Value::as_str);
    let model = run.result.pointer("/judge/llm_model").and_then(Value::as_str);
    match (method, model) {
        (Some("commands+llm"), Some(model)) => format!("check commands + LLM ({model})"),
        (Some("commands"), _) => "check commands".to_string(),
        (Some(other), _) => other.to_string(),
        (None, _) => "not judged".to_string(),
    }
}
