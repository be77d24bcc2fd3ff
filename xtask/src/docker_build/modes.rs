//! The work behind `--explain`, `--check-pins` and `--update-pins`: the image
//! inspected, the registries asked, the Dockerfile rewritten in one write.
//! What they find is printed by `report.rs`.

use std::time::Duration;

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::claude_code::{self, CliReport};
use super::{report, Format};
use crate::context::Context;
use crate::engine::{inspect, Engine};
use crate::error::{usage, Outcome};
use crate::image::pins::{self, PinReport, Rewrite};
use crate::image::steps::{self, first_invalidated, Invalidation};
use crate::image::{builder_for, gather_inputs, BuildInputs, BuildRequest, SOURCE_HASH_LABEL};

/// What `--explain` found: the fresh inputs and how they compare with the image.
#[derive(Debug)]
pub struct Explanation {
    pub inputs: BuildInputs,
    pub exists: bool,
    pub up_to_date: bool,
    /// `None` when the image has no step records this tool can read.
    pub invalidated: Option<Vec<Invalidation>>,
}

/// Compares the fresh step records with the image's.
pub fn explain(ctx: &Context, engine: &Engine, request: BuildRequest) -> Result<Explanation> {
    let inputs = gather_inputs(ctx, request, builder_for(ctx, engine))?;
    let image = inspect::image(ctx, engine, &inputs.request.tag)?;
    let label = |name: &str| image.as_ref().and_then(|i| i.labels.get(name));
    let old = label(steps::STEPS_LABEL).and_then(|l| steps::from_label(l));
    let up_to_date = label(SOURCE_HASH_LABEL) == Some(&inputs.source_hash);
    let invalidated = old.as_ref().map(|old| first_invalidated(old, &inputs.steps));
    Ok(Explanation { inputs, exists: image.is_some(), up_to_date, invalidated })
}

/// How `--check-pins` / `--update-pins` run.
#[derive(Clone, Debug)]
pub struct PinsMode {
    pub update: bool,
    pub timeout: Duration,
    /// Where Claude Code's package document is read.
    pub npm_registry: String,
}

/// The pins of a Dockerfile and what the registries say of them.
#[derive(Debug)]
pub struct PinsCheck {
    pub file: Utf8PathBuf,
    pub source: String,
    pub reports: Vec<PinReport>,
    pub cli: Option<CliReport>,
}

/// Asks each base's registry, and npm for Claude Code, about the pins.
pub fn check_pins(request: &BuildRequest, mode: &PinsMode) -> Result<PinsCheck> {
    let file = &request.dockerfile;
    let source = std::fs::read_to_string(file)
        .map_err(|e| usage(format!("cannot read the Dockerfile {file}: {e}")))?;
    let parsed = crate::dockerfile::parse(&source);
    let bases = pins::external_bases(file, &parsed, &request.build_args)?;
    let cli_pin = claude_code::find(file, &parsed, &request.build_args)?;
    let reports = pins::check(&bases, mode.timeout);
    let cli = cli_pin.map(|pin| claude_code::check(&pin, &mode.npm_registry, mode.timeout));
    Ok(PinsCheck { file: file.clone(), source, reports, cli })
}

/// `--check-pins` and `--update-pins`: base digests and the Claude Code pin.
pub fn pins_mode(
    ctx: &Context,
    request: &BuildRequest,
    mode: &PinsMode,
    format: Format,
) -> Result<Outcome> {
    let check = check_pins(request, mode)?;
    if mode.update {
        return update_pins(ctx, &check);
    }
    let rows = report::pin_rows(&check);
    report::pins_table(&check.file, &rows, format);
    if rows.iter().any(|row| row.2 == "unreachable") {
        return Err(usage(
            "a registry did not answer; the report above says which\n  \
             check the network, or pass --registry-timeout SECONDS",
        ));
    }
    let current = rows.iter().all(|row| row.2 == "current");
    Ok(if current { Outcome::Success } else { Outcome::Failure })
}

/// Rewrites every stale pin in one write, or changes nothing.
fn update_pins(ctx: &Context, check: &PinsCheck) -> Result<Outcome> {
    let mut rewrite = pins::rewrite(&check.source, &check.reports)?;
    if let Some(cli) = &check.cli {
        let (text, edits, note) = claude_code::rewrite(&rewrite.text, cli)?;
        rewrite.text = text;
        rewrite.edits.extend(edits);
        rewrite.notes.extend(note);
    }
    report::pin_edits(&check.file, &rewrite);
    // The Dockerfile is the one file docker-build writes itself, not through the
    // engine: under --dry-run the edits above are all it does.
    let write = !ctx.dry_run;
    if write && !rewrite.edits.is_empty() {
        replace_file(&check.file, &rewrite)?;
    }
    report::pins_updated(ctx, &check.file, &rewrite, write);
    Ok(if rewrite.notes.is_empty() { Outcome::Success } else { Outcome::Failure })
}

/// Writes beside the file, then renames: a reader sees the old or the new file.
fn replace_file(file: &Utf8Path, rewrite: &Rewrite) -> Result<()> {
    let temporary = file.with_extension("xtask-tmp");
    std::fs::write(&temporary, &rewrite.text)
        .with_context(|| format!("cannot write {temporary}"))?;
    std::fs::rename(&temporary, file).with_context(|| format!("cannot replace {file}"))
}
