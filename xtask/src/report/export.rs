//! `--export-analysis DIR`: an experiment in the directory layout ProjectScylla's
//! analysis loader reads, field by field (the mapping is in
//! docs/experiment-runner.md, *Export to ProjectScylla's analysis layout*):
//!
//! ```text
//! DIR/<id>/<start, YYYY-MM-DDTHH-MM-SS>-<id>/
//!   config/experiment.json   rubric.yaml
//!   completed/<tier>/<NN>/run_<NN>/
//!     run_result.json  scylla_result.json
//!     agent/result.json  agent/MODEL.md  agent/<agent logs>
//!     judge/judge_01/judgment.json  judge/judge_01/MODEL.md  judge/<judge logs>
//! ```
//!
//! A value the results do not have is left out (the loader's schema requires only
//! `run_number` and `exit_code`), and an unknown exit code is `-1`, the value the
//! loader itself uses for one. Nothing is computed that the runner did not record.
//! The mapping functions are pure; [`write_experiment`] does the I/O.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{json, Map, Value};

use super::results::{Experiment, Run};
use crate::error::usage;

/// The loader's exit code for "unknown".
pub const UNKNOWN_EXIT_CODE: i64 = -1;

/// Where one run goes under `completed/`, and what is written there.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedRun {
    /// `<tier>/<NN>/run_<NN>`.
    pub relative_dir: String,
    pub run_result: Value,
    pub agent_result: Value,
    pub agent_model: Option<String>,
    /// `judgment.json` and the judge's model, when the run was judged.
    pub judgment: Option<(Value, String)>,
}

/// The timestamp directory name: the experiment's start, then its id.
pub fn timestamp_dir(experiment: &Experiment) -> Result<String> {
    let started = experiment.started_at().ok_or_else(|| {
        usage(format!(
            "experiment `{}` has no run with a start time (`started_at`), so it has no \
             timestamp directory; rerun it or remove its broken runs",
            experiment.id
        ))
    })?;
    Ok(format!("{}-{}", upstream_timestamp(started)?, experiment.id))
}

/// `2026-12-01T09:05:08Z` → `2026-12-01T09-05-08` (the form upstream names its
/// experiment directories with).
pub fn upstream_timestamp(iso: &str) -> Result<String> {
    let digits_at = |range: std::ops::Range<usize>| {
        iso.get(range).is_some_and(|part| part.bytes().all(|b| b.is_ascii_digit()))
    };
    let shape = iso.len() >= 19
        && [(0..4), (5..7), (8..10), (11..13), (14..16), (17..19)].into_iter().all(digits_at)
        && &iso[4..5] == "-"
        && &iso[7..8] == "-"
        && &iso[10..11] == "T"
        && &iso[13..14] == ":"
        && &iso[16..17] == ":";
    if !shape {
        return Err(usage(format!("unexpected start time `{iso}`: expected YYYY-MM-DDTHH:MM:SSZ")));
    }
    Ok(iso[..19].replace(':', "-"))
}

/// The sub-test directory: `00` without sub-tests, else the `NN` of `NN-name`.
pub fn subtest_dir(subtest: Option<&str>) -> Result<String> {
    match subtest {
        None => Ok("00".to_string()),
        Some(name) => {
            let digits = name.get(..2).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
            digits.map(str::to_string).ok_or_else(|| {
                usage(format!("sub-test `{name}` does not start with two digits (NN-name)"))
            })
        }
    }
}

/// Maps one run; pure.
pub fn export_run(run: &Run) -> Result<ExportedRun> {
    let run_number = run
        .i64("run")
        .filter(|n| (1..=99).contains(n))
        .ok_or_else(|| usage(format!("{}: `run` is not a run number from 1 to 99", run.unit)))?;
    let relative_dir =
        format!("{}/{}/run_{run_number:02}", run.tier(), subtest_dir(run.str("subtest"))?);
    let judged = run.result.pointer("/judge/method").is_some_and(|m| !m.is_null());
    let judgment = judged.then(|| (judgment(run), judge_model(run)));
    Ok(ExportedRun {
        relative_dir,
        run_result: run_result(run, run_number, judgment.as_ref().map(|j| &j.1)),
        agent_result: agent_result(run),
        agent_model: agent_model(run),
        judgment,
    })
}

fn run_result(run: &Run, run_number: i64, judge: Option<&String>) -> Value {
    let mut out = Map::new();
    out.insert("run_number".into(), json!(run_number));
    out.insert("exit_code".into(), json!(run.i64("exit_code").unwrap_or(UNKNOWN_EXIT_CODE)));
    if run.completed() {
        put(&mut out, "judge_score", run.result.get("score"));
        put(&mut out, "judge_passed", run.result.get("passed"));
        put(&mut out, "judge_grade", run.result.get("grade").filter(|g| is_grade(g)));
    }
    put(&mut out, "judge_reasoning", run.result.get("reasoning"));
    put(&mut out, "cost_usd", run.result.get("cost_usd").filter(|c| c.as_f64() >= Some(0.0)));
    put(&mut out, "duration_seconds", run.result.get("total_duration_s"));
    put(&mut out, "agent_duration_seconds", run.result.get("agent_duration_s"));
    put(&mut out, "judge_duration_seconds", run.result.get("judge_duration_s"));
    if let Some(tokens) = token_stats(run.result.get("tokens")) {
        out.insert("token_stats".into(), tokens);
    }
    if let Some(criteria) = judge.and_then(|_| criteria_scores(run)) {
        out.insert("criteria_scores".into(), criteria);
    }
    if let (Some(model), true) = (judge, run.completed()) {
        let mut entry = Map::new();
        entry.insert("model".into(), json!(model));
        entry.insert("judge_number".into(), json!(1));
        for (to, from) in [("score", "score"), ("passed", "passed"), ("grade", "grade")] {
            put(&mut entry, to, run.result.get(from));
        }
        put(&mut entry, "reasoning", run.result.get("reasoning"));
        out.insert("judges".into(), Value::Array(vec![Value::Object(entry)]));
    }
    // Not in upstream's schema (which allows more fields): what the run was.
    out.insert("status".into(), json!(run.str("status").unwrap_or("error")));
    put(&mut out, "error", run.result.get("error"));
    put(&mut out, "timed_out", run.result.get("timed_out"));
    out.insert("scylla_unit".into(), json!(run.unit));
    Value::Object(out)
}

fn put(out: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(value) = value.filter(|v| !v.is_null()) {
        out.insert(key.into(), value.clone());
    }
}

fn is_grade(value: &Value) -> bool {
    value.as_str().is_some_and(|g| ["S", "A", "B", "C", "D", "F"].contains(&g))
}

/// The four token counts one to one (not `total_input`, which upstream defines
/// differently); none at all when the run has no token record.
pub fn token_stats(tokens: Option<&Value>) -> Option<Value> {
    let tokens = tokens.filter(|t| t.is_object())?;
    let mut out = Map::new();
    for (to, from) in [
        ("input_tokens", "input"),
        ("output_tokens", "output"),
        ("cache_creation_tokens", "cache_creation"),
        ("cache_read_tokens", "cache_read"),
    ] {
        if let Some(count) = tokens.get(from).and_then(Value::as_u64) {
            out.insert(to.into(), json!(count));
        }
    }
    Some(Value::Object(out))
}

/// `{category: {achieved, max, score, items: {id: {achieved, max, reason}}}}`;
/// an N/A item has `"N/A"` for both numbers, as upstream's judges write it.
pub fn criteria_scores(run: &Run) -> Option<Value> {
    let categories = run.result.get("categories").and_then(Value::as_object)?;
    let criteria = run.result.get("criteria").and_then(Value::as_array);
    let mut out = Map::new();
    for (name, category) in categories {
        let mut entry = Map::new();
        put(&mut entry, "achieved", category.get("achieved_points"));
        put(&mut entry, "max", category.get("applicable_points"));
        put(&mut entry, "score", category.get("score"));
        let mut items = Map::new();
        for item in criteria.into_iter().flatten() {
            if item.get("category").and_then(Value::as_str) != Some(name) {
                continue;
            }
            let Some(id) = item.get("id").and_then(Value::as_str) else { continue };
            let na = item.get("status").and_then(Value::as_str) == Some("na");
            let mut scored = Map::new();
            if na {
                scored.insert("achieved".into(), json!("N/A"));
                scored.insert("max".into(), json!("N/A"));
            } else {
                put(&mut scored, "achieved", item.get("achieved"));
                put(&mut scored, "max", item.get("points"));
            }
            put(&mut scored, "reason", item.get("reason"));
            items.insert(id.to_string(), Value::Object(scored));
        }
        entry.insert("items".into(), Value::Object(items));
        out.insert(name.clone(), Value::Object(entry));
    }
    Some(Value::Object(out))
}

fn judgment(run: &Run) -> Value {
    let mut out = Map::new();
    if run.completed() {
        put(&mut out, "score", run.result.get("score"));
        put(&mut out, "passed", run.result.get("passed"));
        put(&mut out, "grade", run.result.get("grade").filter(|g| is_grade(g)));
    }
    out.insert("is_valid".into(), json!(run.completed()));
    put(&mut out, "reasoning", run.result.get("reasoning"));
    if let Some(criteria) = criteria_scores(run) {
        out.insert("criteria_scores".into(), criteria);
    }
    Value::Object(out)
}

/// The LLM judge's model, else `commands`: the rubric's check commands judged alone.
fn judge_model(run: &Run) -> String {
    let llm = run.result.pointer("/judge/llm_model").and_then(Value::as_str);
    let used_llm =
        run.result.pointer("/judge/method").and_then(Value::as_str) == Some("commands+llm");
    match llm {
        Some(model) if used_llm => model.to_string(),
        _ => "commands".to_string(),
    }
}

/// The model the CLI reported, else the one asked for; for the oracle, which has
/// no model (it copies the reference solution), its name. None when unknown.
pub fn agent_model(run: &Run) -> Option<String> {
    let reported = run.result.pointer("/claude_code/model").filter(|m| !m.is_null());
    let asked = run.result.get("model").filter(|m| !m.is_null());
    let oracle = (run.str("agent") == Some("oracle")).then_some("oracle");
    reported.or(asked).and_then(Value::as_str).or(oracle).map(str::to_string)
}

fn agent_result(run: &Run) -> Value {
    let mut out = Map::new();
    for key in ["num_turns", "api_calls"] {
        if let Some(count) = run.lookup(key).filter(|v| v.is_u64()) {
            out.insert(key.into(), count.clone());
        }
    }
    if let Some(usage) = run.lookup("model_usage").or_else(|| run.lookup("modelUsage")) {
        out.insert("model_usage".into(), usage.clone());
    }
    Value::Object(out)
}

fn model_md(title: &str, model: &str) -> String {
    format!("# {title}\n\n**Model**: {model}\n")
}

/// `rubric.yaml` with each category's weight, from the runs' `categories`.
pub fn rubric_yaml(experiment: &Experiment) -> Option<String> {
    let mut weights = BTreeMap::new();
    for run in &experiment.runs {
        let categories = run.result.get("categories").and_then(Value::as_object);
        for (name, category) in categories.into_iter().flatten() {
            if let Some(weight) = category.get("weight").and_then(Value::as_f64) {
                weights.entry(name.clone()).or_insert(weight);
            }
        }
    }
    if weights.is_empty() {
        return None;
    }
    // JSON strings are YAML strings, so any category name is quoted safely.
    let mut text = String::from("categories:\n");
    for (name, weight) in weights {
        text.push_str(&format!("  {}:\n    weight: {weight}\n", json!(name)));
    }
    Some(text)
}

/// `config/experiment.json`: the id, the agent models (`models[0]` is what the
/// loader reads), the tiers and the fixture.
pub fn experiment_config(experiment: &Experiment, runs: &[ExportedRun]) -> Value {
    let mut models: Vec<String> = Vec::new();
    for model in runs.iter().filter_map(|r| r.agent_model.clone()) {
        if !models.contains(&model) {
            models.push(model);
        }
    }
    let fixture = experiment.runs.iter().find_map(|r| r.str("fixture_id"));
    json!({
        "experiment_id": experiment.id,
        "task_name": fixture,
        "models": models,
        "tiers_to_run": experiment.tiers(),
        "exported_by": "cargo xtask report --export-analysis",
    })
}

/// Writes one experiment under `out_dir`; returns its timestamp directory.
///
/// A previous export of the same experiment start is replaced, so a re-export
/// after more runs never leaves stale run directories behind.
pub fn write_experiment(experiment: &Experiment, out_dir: &Utf8Path) -> Result<Utf8PathBuf> {
    let runs: Vec<ExportedRun> = experiment.runs.iter().map(export_run).collect::<Result<_>>()?;
    let mut seen = BTreeMap::new();
    for (run, exported) in experiment.runs.iter().zip(&runs) {
        if let Some(other) = seen.insert(exported.relative_dir.clone(), &run.unit) {
            return Err(usage(format!(
                "{other} and {} both map to {}: sub-test names must differ in their first \
                 two digits",
                run.unit, exported.relative_dir
            )));
        }
    }
    let root = out_dir.join(&experiment.id).join(timestamp_dir(experiment)?);
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("cannot replace {root}"))?;
    }
    write_json(&root.join("config/experiment.json"), &experiment_config(experiment, &runs))?;
    if let Some(rubric) = rubric_yaml(experiment) {
        write_text(&root.join("rubric.yaml"), &rubric)?;
    }
    for (run, exported) in experiment.runs.iter().zip(&runs) {
        write_run(experiment, run, exported, &root.join("completed").join(&exported.relative_dir))?;
    }
    Ok(root)
}

fn write_run(
    experiment: &Experiment,
    run: &Run,
    exported: &ExportedRun,
    dir: &Utf8Path,
) -> Result<()> {
    write_json(&dir.join("run_result.json"), &exported.run_result)?;
    write_json(&dir.join("scylla_result.json"), &run.result)?;
    write_json(&dir.join("agent/result.json"), &exported.agent_result)?;
    if let Some(model) = &exported.agent_model {
        write_text(&dir.join("agent/MODEL.md"), &model_md("Agent model", model))?;
    }
    if let Some((judgment, model)) = &exported.judgment {
        write_json(&dir.join("judge/judge_01/judgment.json"), judgment)?;
        write_text(&dir.join("judge/judge_01/MODEL.md"), &model_md("Judge model", model))?;
    }
    for log in run.log_paths() {
        let source = experiment.dir.join(&log);
        let name = log.rsplit('/').next().unwrap_or(&log);
        let side = if name.starts_with("judge") { "judge" } else { "agent" };
        let target = dir.join(side).join(name);
        if source.is_file() {
            std::fs::copy(&source, &target)
                .with_context(|| format!("cannot copy {source} to {target}"))?;
        }
    }
    Ok(())
}

fn write_json(path: &Utf8Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("internal: JSON rendering failed")?;
    write_text(path, &format!("{text}\n"))
}

pub(super) fn write_text(path: &Utf8Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {parent}"))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {path}"))
}
