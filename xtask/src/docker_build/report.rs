//! What docker-build prints: the one-line summary or JSON object of a build,
//! the `--explain` report, and the `--check-pins` / `--update-pins` table (base
//! digests and the Claude Code pin in one report, one all-or-nothing rewrite).

use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{json, Value};

use super::{claude_code, Format};
use crate::context::Context;
use crate::engine::{inspect, Engine};
use crate::error::{usage, Outcome};
use crate::image::pins::{self, PinState};
use crate::image::steps::{self, first_invalidated, Cause, Invalidation};
use crate::image::{builder_for, gather_inputs, BuildRequest, Built, SOURCE_HASH_LABEL};
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
            .map(|b| json!({"from": pins::name_tag(&b.image), "digest": b.image.sha256().map(|d| format!("sha256:{d}")), "line": b.from_line}))
            .collect();
        let object = json!({
            "image": built.image.reference, "image_id": built.image.id,
            "source_hash": built.inputs.source_hash,
            "action": if built.skipped { "skipped" } else { "built" },
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

/// `--explain`: compare the fresh step records with the image's.
pub fn explain(
    ctx: &Context,
    engine: &Engine,
    request: BuildRequest,
    format: Format,
) -> Result<Outcome> {
    let inputs = gather_inputs(ctx, request, builder_for(ctx, engine))?;
    let tag = inputs.request.tag.clone();
    let image = inspect::image(ctx, engine, &tag)?;
    let old = image
        .as_ref()
        .and_then(|i| i.labels.get(steps::STEPS_LABEL))
        .and_then(|l| steps::from_label(l));
    let up_to_date =
        image.as_ref().and_then(|i| i.labels.get(SOURCE_HASH_LABEL)) == Some(&inputs.source_hash);
    let invalidated = old.as_ref().map(|old| first_invalidated(old, &inputs.steps));
    if format == Format::Json {
        let stages: Vec<Value> =
            invalidated.iter().flatten().map(|i| invalidation_json(Some(i))).collect();
        output::result_line(
            &json!({"image": tag, "exists": image.is_some(), "up_to_date": up_to_date,
                    "source_hash": inputs.source_hash, "invalidated": stages})
            .to_string(),
        );
        return Ok(Outcome::Success);
    }
    match (&image, invalidated) {
        (None, _) => output::result_line(&format!("{tag} does not exist: every step will be built")),
        (Some(_), None) => output::result_line(&format!("{tag} has no step records (not built by this tool): every step will be built")),
        (Some(_), Some(list)) if list.is_empty() && up_to_date => {
            output::result_line(&format!("{tag} is up to date: nothing to rebuild"))
        }
        (Some(_), Some(list)) if list.is_empty() => output::result_line(&format!(
            "{tag}: no step changed, but the source hash differs (a context file no COPY reads changed); every layer stays cached"
        )),
        (Some(_), Some(list)) => {
            for i in &list {
                let stage = inputs.parsed.stages.get(i.stage).and_then(|s| s.name.clone()).unwrap_or_else(|| i.stage.to_string());
                output::result_line(&format!(
                    "stage {stage}: steps 1-{} stay cached; step {} (line {}: {}) is the first rebuilt: {}",
                    i.step - 1, i.step, i.line, i.text, cause_text(&i.cause)
                ));
            }
        }
    }
    Ok(Outcome::Success)
}

/// How `--check-pins` / `--update-pins` run.
#[derive(Clone, Debug)]
pub struct PinsMode {
    pub update: bool,
    pub timeout: Duration,
    /// Where Claude Code's package document is read.
    pub npm_registry: String,
}

/// `--check-pins` and `--update-pins`: base digests and the Claude Code pin.
pub fn pins_mode(
    ctx: &Context,
    request: &BuildRequest,
    mode: &PinsMode,
    format: Format,
) -> Result<Outcome> {
    let file = &request.dockerfile;
    let source = std::fs::read_to_string(file)
        .map_err(|e| usage(format!("cannot read the Dockerfile {file}: {e}")))?;
    let parsed = crate::dockerfile::parse(&source);
    let bases = pins::external_bases(file, &parsed, &request.build_args)?;
    let cli_pin = claude_code::find(file, &parsed, &request.build_args)?;
    let reports = pins::check(&bases, mode.timeout);
    let cli = cli_pin.map(|pin| claude_code::check(&pin, &mode.npm_registry, mode.timeout));
    if mode.update {
        return update_pins(ctx, file, &source, &reports, cli.as_ref());
    }
    let mut rows = Vec::new();
    for report in &reports {
        let (state, detail) = match &report.state {
            PinState::Current => ("current", String::new()),
            PinState::Stale { current } => ("stale", format!("tag now points to {current}")),
            PinState::Unpinned { current } => ("unpinned", format!("pin it: @{current}")),
            PinState::Unreachable { reason } => ("unreachable", reason.clone()),
        };
        rows.push((report.base.defined_line, pins::name_tag(&report.base.image), state, detail));
    }
    if let Some(cli) = &cli {
        let (state, detail) = claude_code::describe(&cli.state);
        let name = format!("{}@{}", claude_code::PACKAGE, cli.pin.version);
        rows.push((cli.pin.version_line, name, state, detail));
    }
    if format == Format::Json {
        let rows: Vec<Value> = rows
            .iter()
            .map(|(line, image, state, detail)| {
                json!({"line": line, "image": image, "state": state, "detail": detail})
            })
            .collect();
        output::result_line(&Value::Array(rows).to_string());
    } else {
        for (line, image, state, detail) in &rows {
            output::result_line(&format!("{file}:{line}: {state:<11} {image} {detail}"));
        }
    }
    if rows.iter().any(|row| row.2 == "unreachable") {
        return Err(usage("a registry did not answer; the report above says which\n  check the network, or pass --registry-timeout SECONDS"));
    }
    let current = rows.iter().all(|row| row.2 == "current");
    Ok(if current { Outcome::Success } else { Outcome::Failure })
}

/// Rewrites every stale pin in one write, or changes nothing.
fn update_pins(
    ctx: &Context,
    file: &camino::Utf8Path,
    source: &str,
    reports: &[pins::PinReport],
    cli: Option<&claude_code::CliReport>,
) -> Result<Outcome> {
    let mut rewrite = pins::rewrite(source, reports)?;
    if let Some(cli) = cli {
        let (text, edits, note) = claude_code::rewrite(&rewrite.text, cli)?;
        rewrite.text = text;
        rewrite.edits.extend(edits);
        rewrite.notes.extend(note);
    }
    for (line, before, after) in &rewrite.edits {
        output::result_line(&format!("{file}:{line}\n- {before}\n+ {after}"));
    }
    if !rewrite.edits.is_empty() {
        let temporary = file.with_extension("xtask-tmp");
        std::fs::write(&temporary, &rewrite.text)
            .with_context(|| format!("cannot write {temporary}"))?;
        std::fs::rename(&temporary, file).with_context(|| format!("cannot replace {file}"))?;
        output::success(ctx, &format!("updated {} pin(s) in {file}", rewrite.edits.len()));
    }
    for note in &rewrite.notes {
        output::warn(ctx, note);
    }
    if rewrite.edits.is_empty() && rewrite.notes.is_empty() {
        output::result_line("every pin is current: nothing to change");
    }
    Ok(if rewrite.notes.is_empty() { Outcome::Success } else { Outcome::Failure })
}
