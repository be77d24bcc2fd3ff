//! `cargo xtask report [EXPERIMENT_ID...]`: what an experiment's results say, for
//! people: `results/<id>/report.html` (one self-contained page with SVG charts:
//! per tier the score distribution, pass rate, mean cost, cost of a pass, agent
//! and judge time; every run with links to its logs; the provenance) and
//! `report.md` with the same tables. Several ids give one page with the
//! experiments side by side, `results/report-<id>+<id>.html`.
//!
//! `--export-analysis DIR` writes ProjectScylla's analysis layout instead
//! ([`export`]). No engine is involved: the task reads `results/` only.
//!
//! Flags become a [`ReportPlan`] (paths checked, ids resolved, every output path
//! decided) before any file is written; `--dry-run` prints that plan and writes nothing.

pub mod export;
pub mod html;
pub mod markdown;
pub mod results;
pub mod svg;
pub mod tables;

use std::time::{Duration, SystemTime};

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};

use crate::context::Context;
use crate::error::{usage, Outcome};
use crate::output;
use results::Experiment;

/// Write an experiment's report (HTML with charts, Markdown), or export it for ProjectScylla's
/// analysis.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    cargo xtask report                              # the most recent experiment\n  \
    cargo xtask report test-001-T0                  # results/test-001-T0/report.html \
                                                      and report.md\n  \
    cargo xtask report test-001-T0 test-001-T0-T1   # side by side: results/report-<a>+<b>.html\n  \
    cargo xtask report --export-analysis fullruns test-001-T0\n\n\
    The page needs no network and runs no script; open it in any browser or print it.\n\
    Exit codes: 0 written, 1 a file that cannot be written, 2 no such experiment,\n\
    unreadable results, or a results or export path that is empty or not a directory.")]
pub struct Args {
    /// Experiments under the results directory [default: the most recent one]
    #[arg(value_name = "EXPERIMENT_ID")]
    pub experiments: Vec<String>,
    /// Write ProjectScylla's analysis layout (DIR/<id>/<start>-<id>/completed/...) instead
    #[arg(long, value_name = "DIR")]
    pub export_analysis: Option<Utf8PathBuf>,
    /// Where the experiments are [default: results/ in the project directory]
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<Utf8PathBuf>,
}

/// What the task writes, decided before it writes anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportPlan {
    pub results_dir: Utf8PathBuf,
    pub experiment_ids: Vec<String>,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The page and its Markdown twin; `prefixes[i]` leads from them to experiment i.
    Report { html: Utf8PathBuf, markdown: Utf8PathBuf, prefixes: Vec<String> },
    /// ProjectScylla's analysis layout under this directory.
    Export { dir: Utf8PathBuf },
}

impl ReportPlan {
    /// Checks the results and export paths, then resolves the ids (none: the most
    /// recent experiment) and the output paths.
    pub fn new(
        results_dir: Utf8PathBuf,
        ids: &[String],
        export: Option<Utf8PathBuf>,
    ) -> Result<ReportPlan> {
        check_results_dir(&results_dir)?;
        if let Some(dir) = &export {
            check_export_dir(dir)?;
        }
        let experiment_ids = if ids.is_empty() {
            let latest = results::most_recent(&results_dir, SystemTime::UNIX_EPOCH);
            vec![latest.ok_or_else(|| {
                usage(format!(
                    "no experiment results in {results_dir}; \
                     run one first: cargo xtask run-experiment -- --tiers T0"
                ))
            })?]
        } else {
            let mut unique: Vec<String> = Vec::new();
            for id in ids {
                if !results::valid_experiment_id(id) {
                    return Err(usage(format!(
                        "invalid experiment id `{id}`: use letters, digits, `.`, `_` and `-`"
                    )));
                }
                if !unique.contains(id) {
                    unique.push(id.clone());
                }
            }
            unique
        };
        let action = match export {
            Some(dir) => Action::Export { dir },
            None => report_paths(&results_dir, &experiment_ids),
        };
        Ok(ReportPlan { results_dir, experiment_ids, action })
    }

    /// The files or directories the plan writes, one per line, for `--dry-run`.
    pub fn describe(&self) -> Vec<String> {
        match &self.action {
            Action::Report { html, markdown, .. } => {
                vec![format!("would write {html}"), format!("would write {markdown}")]
            }
            Action::Export { dir } => self
                .experiment_ids
                .iter()
                .map(|id| format!("would export {id} to {dir}/{id}/<start time>-{id}/"))
                .collect(),
        }
    }
}

/// The results directory must be one: an empty path, a missing directory or a file
/// is a usage error that says so, before any experiment is looked for.
fn check_results_dir(results_dir: &Utf8Path) -> Result<()> {
    if results_dir.as_str().is_empty() {
        return Err(usage(
            "--results-dir needs a directory, got an empty path; pass the directory \
             run-experiment wrote the results to, or leave the flag out for results/",
        ));
    }
    match std::fs::metadata(results_dir) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(usage(format!(
            "the results directory {results_dir} is not a directory; pass --results-dir \
             with the directory run-experiment wrote the results to"
        ))),
        Err(_) => Err(usage(format!(
            "the results directory {results_dir} does not exist; pass --results-dir \
             with the directory run-experiment wrote the results to (by default results/ \
             of the project)"
        ))),
    }
}

/// The export directory is created when missing, but an empty path, or a path that
/// is (or lies under) something other than a directory, is a usage error naming it.
fn check_export_dir(dir: &Utf8Path) -> Result<()> {
    let fix = "pass a directory to export into (it is created when missing)";
    if dir.as_str().is_empty() {
        return Err(usage(format!(
            "--export-analysis needs a directory, got an empty path; {fix}"
        )));
    }
    let existing = dir.ancestors().find(|path| std::fs::metadata(path).is_ok());
    match existing {
        Some(path) if !path.is_dir() && path == dir => {
            Err(usage(format!("--export-analysis {dir} is not a directory; {fix}")))
        }
        Some(path) if !path.is_dir() => {
            Err(usage(format!("--export-analysis {dir}: {path} is not a directory; {fix}")))
        }
        _ => Ok(()),
    }
}

fn report_paths(results_dir: &Utf8Path, ids: &[String]) -> Action {
    if let [id] = ids {
        let dir = results_dir.join(id);
        return Action::Report {
            html: dir.join("report.html"),
            markdown: dir.join("report.md"),
            prefixes: vec![String::new()],
        };
    }
    let name = format!("report-{}", ids.join("+"));
    Action::Report {
        html: results_dir.join(format!("{name}.html")),
        markdown: results_dir.join(format!("{name}.md")),
        prefixes: ids.iter().map(|id| format!("{id}/")).collect(),
    }
}

impl Args {
    pub fn run(self, ctx: &Context) -> Result<Outcome> {
        let results_dir = self.results_dir.clone().unwrap_or_else(|| ctx.path("results"));
        let plan = ReportPlan::new(results_dir, &self.experiments, self.export_analysis)?;
        if ctx.dry_run {
            plan.describe().iter().for_each(|line| output::result_line(line));
            return Ok(Outcome::Success);
        }
        for written in execute(&plan)? {
            output::result_line(written.as_str());
        }
        Ok(Outcome::Success)
    }
}

/// Reads the experiments and writes what the plan says; returns the paths written.
pub fn execute(plan: &ReportPlan) -> Result<Vec<Utf8PathBuf>> {
    let experiments: Vec<Experiment> = plan
        .experiment_ids
        .iter()
        .map(|id| Experiment::load(&plan.results_dir, id))
        .collect::<Result<_>>()?;
    match &plan.action {
        Action::Export { dir } => {
            experiments.iter().map(|experiment| export::write_experiment(experiment, dir)).collect()
        }
        Action::Report { html, markdown, prefixes } => {
            let now = utc_timestamp(SystemTime::now());
            export::write_text(html, &html::render(&experiments, prefixes, &now))?;
            export::write_text(markdown, &markdown::render(&experiments, prefixes, &now))?;
            Ok(vec![html.clone(), markdown.clone()])
        }
    }
}

/// After `run-experiment`: the report of the experiment that run wrote (its
/// `--experiment-id`, else the one whose summary changed since `started`), and its
/// path on stderr. A report that cannot be written is a warning: the
/// experiment's own exit code stands.
pub fn after_experiment(ctx: &Context, started: SystemTime, experiment_args: &[String]) {
    if ctx.dry_run {
        return;
    }
    let results_dir = ctx.path("results");
    // File times may be coarser than the clock; a second of slack.
    let since = started.checked_sub(Duration::from_secs(1)).unwrap_or(started);
    let id = experiment_id_arg(experiment_args)
        .filter(|id| results::valid_experiment_id(id) && results_dir.join(id).is_dir())
        .or_else(|| results::most_recent(&results_dir, since));
    let Some(id) = id else { return };
    let written = ReportPlan::new(results_dir, &[id], None).and_then(|plan| execute(&plan));
    match written {
        Ok(paths) => {
            if let Some(page) = paths.first() {
                output::note(ctx, &format!("report: {page}"));
            }
        }
        Err(error) => output::warn(ctx, &format!("cannot write the experiment report: {error:#}")),
    }
}

/// The value of `--experiment-id ID` or `--experiment-id=ID` among the runner's arguments.
pub fn experiment_id_arg(args: &[String]) -> Option<String> {
    let mut found = None;
    for (index, arg) in args.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--experiment-id=") {
            found = Some(value.to_string());
        } else if arg == "--experiment-id" {
            found = args.get(index + 1).cloned();
        }
    }
    found
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a system time (UTC, proleptic Gregorian).
pub fn utc_timestamp(time: SystemTime) -> String {
    let seconds = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, of_day) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests;
