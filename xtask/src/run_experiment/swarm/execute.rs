//! Runs a [`SwarmPlan`]: leftovers of dead runs swept, the image delivered,
//! volume, staged inputs, secrets, the replicated job followed to its end,
//! failed shards explained, the summary written, results copied back — with
//! [`SwarmResources`] removing everything on every path.
//!
//! Each step follows what the engine layer did, not `--dry-run`: an action
//! that was only printed created nothing to record for removal, and a job that
//! was only printed has nothing to follow, so the helpers that would end it are
//! printed too and the run ends there.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::cleanup::{self, SwarmResources};
use super::cluster;
use super::plan::{SwarmPlan, SHARD_WRAPPER_SOURCE};
use super::progress::{event, task_rows, ShardState, ShardView, Tracker};
use super::transfer::{self, Inputs};
use crate::container::secrets::SecretBundle;
use crate::context::Context;
use crate::engine::exec::{self, Acted, Signal, SignalWatch};
use crate::engine::types::{json_lines, WireTask, JSON_LINES};
use crate::engine::{Engine, EngineCommand};
use crate::error::Outcome;
use crate::output;

/// How often the job is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(1000);
/// Lines of a failed shard's log shown at the end.
const LOG_TAIL: &str = "12";
/// How long a node is down before its tasks count as lost (the engine moves
/// a down node's tasks as soon as it marks the node down).
const DOWN_GRACE: Duration = Duration::from_secs(10);

fn stopped(ctx: &Context, resources: &mut SwarmResources, signal: Signal) -> Outcome {
    let what = signal.past_tense();
    output::warn(ctx, &format!("{what}: removing the job, its secrets and helpers"));
    resources.release();
    Outcome::Code(signal.exit_code())
}

/// Creates the volume (when the run makes its own) and stages the inputs in
/// it with a helper running `image`.
fn prepare_volume(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    image: &str,
    resources: &mut SwarmResources,
) -> Result<()> {
    let request = &plan.request;
    let resume =
        (!request.fresh).then(|| (plan.host_experiment_dir(), request.experiment_id.clone()));
    let inputs = Inputs {
        project_dir: &request.project_dir,
        run_name: &request.run_name,
        extra_paths: request.extra_paths.clone(),
        wrapper: SHARD_WRAPPER_SOURCE,
        resume_from: resume,
    };
    let archive = transfer::input_archive(&inputs, request.uid, request.gid)?;
    let seed = plan.seed_helper(image, archive);
    if request.volume.created_by_run {
        let created = exec::act(ctx, engine, &plan.volume_create(), "create the results volume")?;
        if let Acted::Ran(_) = created {
            resources.volume_created(plan.volume_rm());
        }
    } else if exec::will_run(ctx, &seed) {
        // Staging can stop half-way: whatever part of the inputs landed goes.
        resources.tidy_with(plan.tidy_helper(image));
    }
    let name = plan.helper_name("seed");
    resources.helper_starting(&name, &seed);
    exec::checked(ctx, engine, &seed, "stage the inputs in the results volume")?;
    resources.helper_ended(&name);
    Ok(())
}

fn create_secrets(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    bundle: &SecretBundle,
    resources: &mut SwarmResources,
) -> Result<()> {
    for (secret, (_, value)) in plan.secrets.iter().zip(bundle.files()) {
        // The engine's message names the secret, never its value.
        let what = format!("create swarm secret {}", secret.name);
        if let Acted::Ran(_) = exec::act(ctx, engine, &plan.secret_create(secret, value), &what)? {
            resources.secret_created(&secret.name);
        }
    }
    if !plan.secrets.is_empty() {
        let targets: Vec<&str> = plan.secrets.iter().map(|s| s.target.as_str()).collect();
        output::detail(ctx, &format!("swarm secrets for {}", targets.join(", ")));
    }
    Ok(())
}

/// Sleeps one poll interval; returns a signal if one came.
fn pause(watch: &SignalWatch) -> Option<Signal> {
    watch.sleep(POLL_INTERVAL)
}

/// Follows the job until every shard is done or failed for good.
fn follow(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    watch: &SignalWatch,
) -> Result<std::result::Result<Tracker, Signal>> {
    let request = &plan.request;
    let mut tracker = Tracker::new(request.max_concurrent, request.shards, request.retries);
    let mut down_since: BTreeMap<String, Instant> = BTreeMap::new();
    let mut views: Vec<ShardView> = tracker.views();
    let mut counts = String::new();
    let started = Instant::now();
    let ps = EngineCommand::query([
        "service",
        "ps",
        "--no-trunc",
        "--format",
        JSON_LINES,
        request.run_name.as_str(),
    ]);
    let listing = format!("{} service ps", engine.program_str());
    loop {
        let text = exec::checked(ctx, engine, &ps, "follow the job")?;
        tracker.update(task_rows(json_lines::<WireTask>(&listing, &text)?));
        let down = cluster::down_nodes(ctx, engine)?;
        down_since.retain(|node, _| down.contains(node));
        for node in down {
            down_since.entry(node).or_insert_with(Instant::now);
        }
        tracker.down_nodes = down_since
            .iter()
            .filter(|(_, since)| since.elapsed() >= DOWN_GRACE)
            .map(|(node, _)| node.clone())
            .collect();
        let now = tracker.views();
        let elapsed = started.elapsed().as_secs();
        for (before, view) in views.iter().zip(&now) {
            if let Some(line) = event(Some(before), view, request.retries) {
                output::note(ctx, &format!("[{elapsed:>4} s] {line}"));
            }
        }
        views = now;
        if tracker.counts_line() != counts {
            counts = tracker.counts_line();
            output::note(ctx, &format!("[{elapsed:>4} s] {counts}"));
        }
        if tracker.finished() {
            return Ok(Ok(tracker));
        }
        if let Some(signal) = pause(watch) {
            return Ok(Err(signal));
        }
    }
}

/// Names each failed shard with the last lines of its last attempt's log and,
/// for the failures a node causes, the fix.
fn report_failures(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    image: &str,
    tracker: &Tracker,
) -> Vec<u32> {
    let mut failed = Vec::new();
    for view in tracker.views().iter().filter(|v| v.state == ShardState::Failed) {
        failed.push(view.index);
        let node = if view.last_failure_node.is_empty() { "?" } else { &view.last_failure_node };
        let mut message = format!(
            "{} failed on {node} after {} attempt(s): {}",
            view.label, view.failed_attempts, view.last_failure
        );
        if let Some(fix) = cluster::node_fix(&view.last_failure, node, plan, image) {
            message.push_str(&format!("\n  {fix}"));
        }
        if let Some(task) = &view.last_failed_task {
            let logs = EngineCommand::query(["service", "logs", "--raw", "--tail", LOG_TAIL, task]);
            if let Ok(out) = exec::output(ctx, engine, &logs) {
                message.push_str("\n  its last lines:");
                for line in out.stdout.lines().chain(out.stderr.lines()) {
                    message.push_str(&format!("\n    {line}"));
                }
            }
        }
        output::warn(ctx, &message);
    }
    failed
}

/// Streams `results/<id>/` out of the volume and unpacks it here.
fn collect(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    image: &str,
    resources: &mut SwarmResources,
) -> Result<usize> {
    let name = plan.helper_name("collect");
    let command = plan.collect_helper(image);
    resources.helper_starting(&name, &command);
    let (status, bytes, stderr) = exec::output_bytes(ctx, engine, &command)?;
    resources.helper_ended(&name);
    if !status.success() {
        if stderr.contains("Cannot stat") || stderr.contains("No such file") {
            output::warn(ctx, "no shard wrote any result: there is nothing to copy back");
            return Ok(0);
        }
        return Err(anyhow!("cannot copy the results out of the volume: {}", stderr.trim()));
    }
    let results_dir = plan.request.project_dir.join("results");
    transfer::unpack_results(&bytes, &results_dir, &plan.request.experiment_id)
}

/// Everything after the job: the summary (in the volume), then the copy back.
fn finish(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    image: &str,
    resources: &mut SwarmResources,
) -> Result<(i32, usize)> {
    let name = plan.helper_name("summary");
    let command = plan.summary_helper(image);
    resources.helper_starting(&name, &command);
    // Captured, then printed: the table is a result (stdout), the log is not.
    let summary = exec::output(ctx, engine, &command)?;
    resources.helper_ended(&name);
    if !summary.stdout.is_empty() {
        output::result_line(summary.stdout.trim_end());
    }
    if !summary.stderr.trim().is_empty() {
        output::note(ctx, summary.stderr.trim_end());
    }
    let summary_code = summary.code();
    let files = collect(ctx, engine, plan, image, resources)?;
    Ok((summary_code, files))
}

/// The job was only printed (`--dry-run`): there is nothing to follow, so
/// the helpers that would end it are printed too.
fn after_a_printed_job(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    image: &str,
) -> Result<()> {
    exec::act(ctx, engine, &plan.summary_helper(image), "write the summary")?;
    exec::act(ctx, engine, &plan.collect_helper(image), "copy the results out of the volume")?;
    Ok(())
}

/// Runs the plan; secret values come from `bundle`, in the plan's order.
pub fn execute(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    bundle: &SecretBundle,
    watch: &SignalWatch,
) -> Result<Outcome> {
    let started = Instant::now();
    cleanup::sweep_leftovers(ctx, engine)?;
    let mut resources = SwarmResources::new(ctx, engine);
    let image = cluster::deliver_image(ctx, engine, plan, &mut resources)?;
    prepare_volume(ctx, engine, plan, &image, &mut resources)?;
    create_secrets(ctx, engine, plan, bundle, &mut resources)?;
    if let Some(signal) = watch.received() {
        return Ok(stopped(ctx, &mut resources, signal));
    }
    let created = exec::act(ctx, engine, &plan.service_create(&image), "create the job")?;
    if let Acted::Ran(_) = created {
        resources.service_created(&plan.request.run_name);
    }
    let request = &plan.request;
    output::note(
        ctx,
        &format!(
            "job {}: {} shard(s), at most {} at a time, image {image}",
            request.run_name, request.shards, request.max_concurrent
        ),
    );
    if created == Acted::Printed {
        after_a_printed_job(ctx, engine, plan, &image)?;
        return Ok(Outcome::Success);
    }
    let tracker = match follow(ctx, engine, plan, watch)? {
        Ok(tracker) => tracker,
        Err(signal) => return Ok(stopped(ctx, &mut resources, signal)),
    };
    let failed = report_failures(ctx, engine, plan, &image, &tracker);
    resources.remove_service();
    let (summary_code, files) = finish(ctx, engine, plan, &image, &mut resources)?;
    resources.release();
    if let Some(signal) = watch.received() {
        return Ok(Outcome::Code(signal.exit_code()));
    }
    Ok(conclude(ctx, plan, &failed, summary_code, files, started))
}

/// The final word: the failed shards, or the count of files and the time.
fn conclude(
    ctx: &Context,
    plan: &SwarmPlan,
    failed: &[u32],
    summary_code: i32,
    files: usize,
    started: Instant,
) -> Outcome {
    let request = &plan.request;
    let elapsed = started.elapsed().as_secs_f64();
    let place = plan.host_experiment_dir();
    if !failed.is_empty() {
        let list: Vec<String> = failed.iter().map(u32::to_string).collect();
        output::warn(
            ctx,
            &format!(
                "{}(s) {} failed; the others' results are in {place}",
                if request.max_concurrent < request.shards { "task" } else { "shard" },
                list.join(", ")
            ),
        );
        return Outcome::Code(crate::error::EXIT_FAILURE);
    }
    output::success(
        ctx,
        &format!("{} shard(s) done in {elapsed:.1} s; {files} file(s) in {place}", request.shards),
    );
    if summary_code == 0 {
        Outcome::Success
    } else {
        Outcome::Code(summary_code)
    }
}
