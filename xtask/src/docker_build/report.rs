//! What docker-build prints: the one-line summary or JSON object of a build,
//! the `--explain` report, and the `--check-pins` / `--update-pins` table (base
//! digests and the Claude Code pin in one report, one all-or-nothing rewrite).
//! Renderers only: the inspection, the registry calls and the rewrite of the
//! Dockerfile happen in `modes.rs` and `mod.rs`, which hand their results here.

use std::time::Duration;

use camino::Utf8Path;
use serde_json::{json, Value};

use super::modes::{Explanation, PinsCheck};
use super::{claude_code, Format};
use crate::context::Context;
use crate::image::pins::{self, PinState, Rewrite};
use crate::image::steps::{Cause, Invalidation};
use crate::image::Built;
use crate::output;

fn invalidation_json(invalidation: Option<&Invalidation>) -> Value {
    match invalidation {
        None => Value::Null,
        Some(i) => json!({"stage": i.stage, "step": i.step, "line": i.line, "instruction": i.text,
                          "cause": cause_text(&i.cause)}),
    }
}

fn cause_text(cause: &Cause) -> String {
    match cause {
        Cause::Instruction => {
            "the instruction, its base or its build arg changed (or it is new)".to_string()
        }
        Cause::Files { changed } => {
            let mut list: Vec<&str> = changed.iter().take(10).map(String::as_str).collect();
            if changed.len() > 10 {
                list.push("...");
            }
            format!("{} file(s) changed: {}", changed.len(), list.join(", "))
        }
        Cause::FilesUnlisted => "its input files changed".to_string(),
        Cause::Stage(stage) => format!("it reads from stage {stage}, which is rebuilt"),
    }
}

/// Prints the summary line (text) or the JSON object (stdout).
pub fn build_result(ctx: &Context, built: &Built, elapsed: Duration, format: Format) {
    let first = built.invalidated.iter().min_by_key(|i| i.line);
    if format == Format::Json {
        let bases: Vec<Value> = built
            .inputs
            .bases
            .iter()
            .map(|b| {
                let digest = b.image.sha256().map(|d| format!("sha256:{d}"));
                json!({"from": pins::name_tag(&b.image), "digest": digest, "line": b.from_line})
            })
            .collect();
        let object = json!({
            "image": built.image.reference, "image_id": built.image.id,
            "source_hash": built.inputs.source_hash,
            "action": match (built.skipped, built.printed) {
                (true, _) => "skipped",
                (false, true) => "printed",
                (false, false) => "built",
            },
            "duration_ms": elapsed.as_millis() as u64, "bases": bases,
            "first_invalidated_step": invalidation_json(first),
        });
        output::result_line(&object.to_string());
        return;
    }
    let hash = output::short_digest(&built.inputs.source_hash);
    if built.skipped {
        output::result_line(&format!(
            "{} is up to date (source hash {hash})",
            built.image.reference
        ));
    } else if built.printed {
        let tag = &built.image.reference;
        output::note(ctx, &format!("would build {tag}, source hash {hash} (--dry-run)"));
    } else {
        output::success(
            ctx,
            &format!(
                "built {} ({}) in {:.1} s, source hash {hash}",
                built.image.reference,
                output::short_digest(&built.image.id),
                elapsed.as_secs_f64()
            ),
        );
    }
}

/// `--explain`: the fresh step records compared with the image's.
pub fn explain(explanation: &Explanation, format: Format) {
    let Explanation { inputs, exists, up_to_date, invalidated } = explanation;
    let (up_to_date, tag) = (*up_to_date, &inputs.request.tag);
    if format == Format::Json {
        let stages: Vec<Value> =
            invalidated.iter().flatten().map(|i| invalidation_json(Some(i))).collect();
        output::result_line(
            &json!({"image": tag, "exists": exists, "up_to_date": up_to_date,
                    "source_hash": inputs.source_hash, "invalidated": stages})
            .to_string(),
        );
        return;
    }
    let line = match (exists, invalidated) {
        (false, _) => format!("{tag} does not exist: every step will be built"),
        (true, None) => format!("{tag} {NO_RECORDS}"),
        (true, Some(list)) if list.is_empty() && up_to_date => {
            format!("{tag} is up to date: nothing to rebuild")
        }
        (true, Some(list)) if list.is_empty() => format!("{tag}: {NO_STEP_CHANGED}"),
        (true, Some(list)) => {
            for i in list {
                let stage = inputs.parsed.stages.get(i.stage).and_then(|s| s.name.clone());
                let stage = stage.unwrap_or_else(|| i.stage.to_string());
                let (kept, cause) = (i.step - 1, cause_text(&i.cause));
                output::result_line(&format!(
                    "stage {stage}: steps 1-{kept} stay cached; \
                     step {} (line {}: {}) is the first rebuilt: {cause}",
                    i.step, i.line, i.text
                ));
            }
            return;
        }
    };
    output::result_line(&line);
}

const NO_RECORDS: &str = "has no step records (not built by this tool): every step will be built";
const NO_STEP_CHANGED: &str = "no step changed, but the source hash differs \
    (a context file no COPY reads changed); every layer stays cached";

/// One row of the `--check-pins` table: line, pinned thing, state, detail.
pub type PinRow = (usize, String, &'static str, String);

/// The rows of the `--check-pins` table (pure).
pub fn pin_rows(check: &PinsCheck) -> Vec<PinRow> {
    let mut rows = Vec::new();
    for report in &check.reports {
        let (state, detail) = match &report.state {
            PinState::Current => ("current", String::new()),
            PinState::Stale { current } => ("stale", format!("tag now points to {current}")),
            PinState::Unpinned { current } => ("unpinned", format!("pin it: @{current}")),
            PinState::Unreachable { reason } => ("unreachable", reason.clone()),
        };
        rows.push((report.base.defined_line, pins::name_tag(&report.base.image), state, detail));
    }
    if let Some(cli) = &check.cli {
        let (state, detail) = claude_code::describe(&cli.state);
        let name = format!("{}@{}", claude_code::PACKAGE, cli.pin.version);
        rows.push((cli.pin.version_line, name, state, detail));
    }
    rows
}

/// Prints the `--check-pins` table.
pub fn pins_table(file: &Utf8Path, rows: &[PinRow], format: Format) {
    if format == Format::Json {
        let rows: Vec<Value> = rows
            .iter()
            .map(|(line, image, state, detail)| {
                json!({"line": line, "image": image, "state": state, "detail": detail})
            })
            .collect();
        output::result_line(&Value::Array(rows).to_string());
    } else {
        for (line, image, state, detail) in rows {
            output::result_line(&format!("{file}:{line}: {state:<11} {image} {detail}"));
        }
    }
}

/// `--update-pins`, before the file is written: each edit as a two-line diff.
pub fn pin_edits(file: &Utf8Path, rewrite: &Rewrite) {
    for (line, before, after) in &rewrite.edits {
        output::result_line(&format!("{file}:{line}\n- {before}\n+ {after}"));
    }
}

/// `--update-pins`, once the file is written (or nothing was to change).
/// What `--update-pins` did, or (`written` false, under `--dry-run`) would do.
pub fn pins_updated(ctx: &Context, file: &Utf8Path, rewrite: &Rewrite, written: bool) {
    let count = rewrite.edits.len();
    if count > 0 && written {
        output::success(ctx, &format!("updated {count} pin(s) in {file}"));
    } else if count > 0 {
        output::note(
            ctx,
            &format!("would update {count} pin(s) in {file} (--dry-run: not written)"),
        );
    }
    for note in &rewrite.notes {
        output::warn(ctx, note);
    }
    if rewrite.edits.is_empty() && rewrite.notes.is_empty() {
        output::result_line("every pin is current: nothing to change");
    }
}
