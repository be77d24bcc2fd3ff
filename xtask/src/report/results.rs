//! Reading `results/<experiment-id>/`: every `result.json` under it (schema in
//! docs/experiment-runner.md), as the runner wrote it, plus per-tier aggregates.
//!
//! Values stay [`serde_json::Value`]s: the report and the export map fields one by
//! one and must tell a missing value (`null`, absent) from a zero, so a typed
//! struct with defaults would only hide that.

use std::time::SystemTime;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;

use crate::error::usage;

/// The runner's tier ids, in report order.
pub const TIER_IDS: [&str; 7] = ["T0", "T1", "T2", "T3", "T4", "T5", "T6"];
/// The file the runner writes per run.
pub const RESULT_FILE: &str = "result.json";

/// One run directory and its parsed `result.json`.
#[derive(Clone, Debug)]
pub struct Run {
    /// The run directory relative to the experiment, e.g. `T0/run-1`.
    pub unit: String,
    pub result: Value,
}

impl Run {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.result.get(key).and_then(Value::as_str)
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.result.get(key).and_then(Value::as_f64)
    }

    pub fn i64(&self, key: &str) -> Option<i64> {
        self.result.get(key).and_then(Value::as_i64)
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.result.get(key).and_then(Value::as_bool)
    }

    pub fn tier(&self) -> &str {
        self.str("tier").unwrap_or("?")
    }

    /// Completed means judged with a score, as the runner's summary counts it.
    pub fn completed(&self) -> bool {
        self.str("status") == Some("completed") && self.f64("score").is_some()
    }

    pub fn passed(&self) -> bool {
        self.completed() && self.bool("passed") == Some(true)
    }

    /// A value from the first place that holds it: top level, `provenance`, then
    /// the Claude Code CLI's block (`claude_code`), for fields that runner versions
    /// record in different places.
    pub fn lookup(&self, key: &str) -> Option<&Value> {
        let places =
            [Some(&self.result), self.result.get("provenance"), self.result.get("claude_code")];
        places.into_iter().flatten().filter_map(|place| place.get(key)).find(|v| !v.is_null())
    }

    /// The log files the runner listed for this run, relative to the experiment.
    pub fn log_paths(&self) -> Vec<String> {
        let logs = self.result.get("logs").and_then(Value::as_array);
        logs.into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| !name.contains('/') && !name.starts_with('.'))
            .map(|name| format!("{}/{name}", self.unit))
            .collect()
    }
}

/// One experiment's runs, ordered by tier, sub-test and run number.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub id: String,
    pub dir: Utf8PathBuf,
    pub runs: Vec<Run>,
    /// Run directories whose `result.json` is not a JSON object.
    pub unreadable: Vec<String>,
}

impl Experiment {
    /// Reads `results_dir/id`; a usage error names the experiments that exist.
    pub fn load(results_dir: &Utf8Path, id: &str) -> Result<Experiment> {
        if !valid_experiment_id(id) {
            return Err(usage(format!(
                "invalid experiment id `{id}`: use letters, digits, `.`, `_` and `-`"
            )));
        }
        let dir = results_dir.join(id);
        let mut runs = Vec::new();
        let mut unreadable = Vec::new();
        for path in result_files(&dir) {
            let unit = path.parent().and_then(|p| p.strip_prefix(&dir).ok()).map(|p| p.to_string());
            let Some(unit) = unit else { continue };
            let parsed = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
            match parsed {
                Some(result @ Value::Object(_)) => runs.push(Run { unit, result }),
                _ => unreadable.push(unit),
            }
        }
        if runs.is_empty() && unreadable.is_empty() {
            let known = experiment_ids(results_dir);
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(usage(format!(
                "no results for experiment `{id}` in {results_dir} (experiments there: {known})"
            )));
        }
        runs.sort_by_key(run_order);
        Ok(Experiment { id: id.to_string(), dir, runs, unreadable })
    }

    /// The tiers that have runs, in T0..T6 order.
    pub fn tiers(&self) -> Vec<&str> {
        TIER_IDS.into_iter().filter(|tier| self.runs.iter().any(|r| r.tier() == *tier)).collect()
    }

    pub fn tier_runs<'a>(&'a self, tier: &'a str) -> impl Iterator<Item = &'a Run> + 'a {
        self.runs.iter().filter(move |run| run.tier() == tier)
    }

    /// Whether it has runs and every one used the oracle agent, which copies the
    /// reference solution instead of asking a model.
    pub fn oracle_only(&self) -> bool {
        !self.runs.is_empty() && self.runs.iter().all(|run| run.str("agent") == Some("oracle"))
    }

    /// The earliest `started_at` of its runs (ISO 8601 UTC, so strings order by time).
    pub fn started_at(&self) -> Option<&str> {
        self.runs.iter().filter_map(|run| run.str("started_at")).min()
    }
}

fn run_order(run: &Run) -> (usize, String, i64, String) {
    let tier = TIER_IDS.iter().position(|t| *t == run.tier()).unwrap_or(TIER_IDS.len());
    let subtest = run.str("subtest").unwrap_or_default().to_string();
    (tier, subtest, run.i64("run").unwrap_or(0), run.unit.clone())
}

/// The runner's rule for experiment ids; it also keeps ids from naming other paths.
pub fn valid_experiment_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn result_files(dir: &Utf8Path) -> Vec<Utf8PathBuf> {
    let mut found: Vec<Utf8PathBuf> = walkdir::WalkDir::new(dir)
        .max_depth(4)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() == RESULT_FILE)
        .filter_map(|e| Utf8PathBuf::from_path_buf(e.into_path()).ok())
        .collect();
    found.sort();
    found
}

/// Experiment directories under `results_dir` (those holding a run's result).
pub fn experiment_ids(results_dir: &Utf8Path) -> Vec<String> {
    let mut ids: Vec<String> = experiment_dirs(results_dir).into_iter().map(|(id, _)| id).collect();
    ids.sort();
    ids
}

fn experiment_dirs(results_dir: &Utf8Path) -> Vec<(String, SystemTime)> {
    let Ok(entries) = results_dir.read_dir_utf8() else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir() && valid_experiment_id(entry.file_name()))
        .filter(|entry| !result_files(entry.path()).is_empty())
        .map(|entry| {
            let summary = entry.path().join("summary.json");
            let stamp = std::fs::metadata(&summary)
                .or_else(|_| std::fs::metadata(entry.path()))
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (entry.file_name().to_string(), stamp)
        })
        .collect()
}

/// The experiment whose `summary.json` (else directory) changed last, if it
/// changed at or after `since`.
pub fn most_recent(results_dir: &Utf8Path, since: SystemTime) -> Option<String> {
    experiment_dirs(results_dir)
        .into_iter()
        .filter(|(_, stamp)| *stamp >= since)
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
        .map(|(id, _)| id)
}

/// Per-tier (or whole-experiment) figures, computed from the runs alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregate {
    pub runs: usize,
    pub completed: usize,
    pub errors: usize,
    pub passed: usize,
    pub scores: Vec<f64>,
    /// Sum of the runs' `cost_usd` where known.
    pub known_cost: f64,
    pub runs_with_cost: usize,
    pub agent_seconds: Vec<f64>,
    pub judge_seconds: Vec<f64>,
}

impl Aggregate {
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a Run>) -> Aggregate {
        let mut agg = Aggregate::default();
        for run in runs {
            agg.runs += 1;
            if run.completed() {
                agg.completed += 1;
                agg.scores.push(run.f64("score").unwrap_or_default());
            } else {
                agg.errors += 1;
            }
            agg.passed += usize::from(run.passed());
            if let Some(cost) = run.f64("cost_usd") {
                agg.known_cost += cost;
                agg.runs_with_cost += 1;
            }
            agg.agent_seconds.extend(run.f64("agent_duration_s"));
            agg.judge_seconds.extend(run.f64("judge_duration_s"));
        }
        agg
    }

    /// Passes over completed runs, as the runner's summary defines it.
    pub fn pass_rate(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.passed as f64 / self.completed as f64)
    }

    pub fn mean_score(&self) -> Option<f64> {
        mean(&self.scores)
    }

    /// Mean over the runs whose cost is known.
    pub fn mean_cost(&self) -> Option<f64> {
        (self.runs_with_cost > 0).then(|| self.known_cost / self.runs_with_cost as f64)
    }

    /// Total cost / passes; unknown when a run's cost is unknown or nothing passed.
    pub fn cost_per_pass(&self) -> Option<f64> {
        (self.passed > 0 && self.runs_with_cost == self.runs)
            .then(|| self.known_cost / self.passed as f64)
    }

    pub fn mean_agent_seconds(&self) -> Option<f64> {
        mean(&self.agent_seconds)
    }

    pub fn mean_judge_seconds(&self) -> Option<f64> {
        mean(&self.judge_seconds)
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}
