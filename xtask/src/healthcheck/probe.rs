//! The engine-backed checks: `--image` starts a throwaway container from a
//! [`HealthPlan`] and `--container` looks at an existing one; both poll
//! `inspect` (bounded by `--timeout`) until the engine's own probe gives a
//! verdict. The throwaway container is removed on every path: a guard removes it
//! on drop, and a signal watch turns Ctrl-C into a clean stop.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::plan::{self, HealthPlan};
use super::report::{Report, Status};
use super::timer::ProbeTimer;
use crate::container::guard::{sweep_leftovers, ContainerGuard};
use crate::container::host;
use crate::context::Context;
use crate::engine::exec::{self, Signal, SignalWatch};
use crate::engine::inspect::{self, ProbeResult};
use crate::engine::Engine;
use crate::error::usage;
use crate::output;

/// How often `inspect` asks the engine for the verdict.
const POLL_EVERY: Duration = Duration::from_millis(200);
/// How often a pause looks for a signal.
const SIGNAL_CHECK_EVERY: Duration = Duration::from_millis(50);

/// Checks `image` in a throwaway container. `None` under `--dry-run`, after
/// printing the commands that would run.
pub fn check_image(
    ctx: &Context,
    engine: &Engine,
    image: &str,
    timeout: Duration,
) -> Result<Option<Report>> {
    let info = inspect::image(ctx, engine, image)?.ok_or_else(|| {
        usage(format!(
            "no image {image}\n  build it: cargo xtask docker-build --tag {image} \
             (or name another with --image NAME:TAG)"
        ))
    })?;
    let name = host::unique_name("scylla-healthcheck");
    let plan = HealthPlan::new(image, &info, &name, &host::owner_tag(), timeout)?
        .for_engine(engine.kind, &info);
    sweep_leftovers(ctx, engine, plan::ROLE)?;
    output::detail(ctx, &timing_note(&info.healthcheck_timing, &plan));
    let watch = SignalWatch::install()?;
    output::note(
        ctx,
        &format!(
            "checking {image} in container {} (probe every {}, up to {})",
            plan.container_name,
            plan::human_duration(plan.timing.interval),
            plan::human_duration(timeout)
        ),
    );
    // Armed before `run`: a signal during `run` may still leave a container.
    let mut guard = ContainerGuard::new(ctx, engine, &plan.container_name);
    let started = Instant::now();
    let report = start_and_wait(ctx, engine, &plan, &watch, started);
    // Removed before the report is printed, so that the report comes last.
    guard.remove_now();
    let Some(mut report) = report? else { return Ok(None) };
    report.container = Some(plan.container_name.clone());
    Ok(Some(report))
}

fn start_and_wait(
    ctx: &Context,
    engine: &Engine,
    plan: &HealthPlan,
    watch: &SignalWatch,
    started: Instant,
) -> Result<Option<Report>> {
    let run = plan.run_command();
    let out = exec::output(ctx, engine, &run)?;
    if !exec::will_run(ctx, &run) {
        // Printed under --dry-run: there is no container to wait for.
        return Ok(None);
    }
    let mut report = Report::new("image", &plan.image, Status::Error);
    if let Some(signal) = watch.received() {
        report.status = Status::Interrupted(signal);
        return Ok(Some(report));
    }
    if !out.status.success() {
        return Err(anyhow!(
            "cannot start a container from {}\n  engine said: {}",
            plan.image,
            out.stderr.trim()
        ));
    }
    let mut log = ProbeLog::default();
    let timer = ProbeTimer::for_engine(ctx, engine, &plan.container_name, plan.timing.interval);
    let waited = wait_for_verdict(
        ctx,
        engine,
        &plan.container_name,
        plan.deadline,
        Some(watch),
        timer,
        &mut log,
    )?;
    report.status = verdict(waited, || {
        usage(format!(
            "container {} from {} stopped before its health probe gave a verdict\n  \
             the image must be able to run `sleep` (through its entrypoint, if that \
             runs its arguments); try: {} run --rm {} sleep 1",
            plan.container_name,
            plan.image,
            engine.kind.program_name(),
            plan.image
        ))
    })?;
    report.duration = started.elapsed();
    log.fill(&mut report);
    Ok(Some(report))
}

/// The status a wait ended in; a container that stopped has no verdict and
/// gives the caller's error instead.
fn verdict(waited: Waited, stopped: impl FnOnce() -> anyhow::Error) -> Result<Status> {
    match waited {
        Waited::Verdict(status) => Ok(status),
        Waited::TimedOut => Ok(Status::TimedOut),
        Waited::Interrupted(signal) => Ok(Status::Interrupted(signal)),
        Waited::Stopped => Err(stopped()),
    }
}

/// Reports the health of the running container `name`, waiting while it is
/// `starting`, up to `timeout`.
pub fn check_container(
    ctx: &Context,
    engine: &Engine,
    name: &str,
    timeout: Duration,
) -> Result<Report> {
    let info = inspect::container(ctx, engine, name)?.ok_or_else(|| {
        usage(format!(
            "no container named {name}\n  list them: {} ps --all --format '{{{{.Names}}}}'",
            engine.kind.program_name()
        ))
    })?;
    if info.health.is_none() {
        return Err(usage(format!(
            "container {name} has no health check: its image declares no HEALTHCHECK \
             or it was started with --no-healthcheck\n  \
             check the image instead: cargo xtask healthcheck --image IMAGE"
        )));
    }
    if !info.running {
        return Err(usage(format!(
            "container {name} is not running (status: {})\n  start it: {} start {name}",
            info.status,
            engine.kind.program_name()
        )));
    }
    let started = Instant::now();
    let mut log = ProbeLog::default();
    let interval = info.health.as_ref().map(|health| health.interval).unwrap_or_default();
    let timer = ProbeTimer::for_engine(ctx, engine, name, interval);
    if let Some(timer) = &timer {
        output::detail(
            ctx,
            &format!(
                "podman: running the probe with `podman healthcheck run` every {}",
                plan::human_duration(timer.interval())
            ),
        );
    }
    let waited = wait_for_verdict(ctx, engine, name, timeout, None, timer, &mut log)?;
    let mut report = Report::new("container", name, Status::Error);
    report.status = verdict(waited, || {
        usage(format!(
            "container {name} stopped while waiting for its health verdict\n  \
                 see why: {} logs {name}",
            engine.kind.program_name()
        ))
    })?;
    report.duration = started.elapsed();
    log.fill(&mut report);
    Ok(report)
}

/// How the wait for a verdict ended.
#[derive(Debug)]
enum Waited {
    /// The engine said `healthy` or `unhealthy`.
    Verdict(Status),
    /// Still `starting` at the deadline.
    TimedOut,
    Interrupted(Signal),
    /// The container stopped or vanished.
    Stopped,
}

/// Polls `inspect` until a verdict, the deadline, a signal or the container's end;
/// `timer` runs the probe where the engine does not (podman without systemd).
fn wait_for_verdict(
    ctx: &Context,
    engine: &Engine,
    name: &str,
    timeout: Duration,
    watch: Option<&SignalWatch>,
    mut timer: Option<ProbeTimer>,
    log: &mut ProbeLog,
) -> Result<Waited> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(signal) = watch.and_then(SignalWatch::received) {
            return Ok(Waited::Interrupted(signal));
        }
        // Ctrl-C reaches the whole process group: an `inspect` in flight dies
        // with it, and that is an interruption, not an engine failure.
        let info = match inspect::container(ctx, engine, name) {
            Ok(Some(info)) => info,
            Ok(None) => return Ok(Waited::Stopped),
            Err(error) => match watch.and_then(SignalWatch::received) {
                Some(signal) => return Ok(Waited::Interrupted(signal)),
                None => return Err(error),
            },
        };
        let health = info.health.unwrap_or_default();
        log.observe(&health.log);
        // The engine marks a container that stops `unhealthy` whatever its
        // probe said: a stopped container has no verdict.
        if !info.running {
            return Ok(Waited::Stopped);
        }
        match health.status.as_str() {
            "healthy" => return Ok(Waited::Verdict(Status::Healthy)),
            "unhealthy" => return Ok(Waited::Verdict(Status::Unhealthy)),
            _ => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Waited::TimedOut);
        }
        if let Some(timer) = timer.as_mut() {
            timer.tick(log.seen.len() as u64);
        }
        pause(POLL_EVERY.min(deadline - now), watch);
    }
}

/// Sleeps, waking early when a signal arrives.
fn pause(duration: Duration, watch: Option<&SignalWatch>) {
    let until = Instant::now() + duration;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if left.is_zero() || watch.and_then(SignalWatch::received).is_some() {
            return;
        }
        std::thread::sleep(left.min(SIGNAL_CHECK_EVERY));
    }
}

/// The probe results seen across polls. The engine keeps only the last five,
/// so probes are told apart by their start time.
#[derive(Debug, Default)]
struct ProbeLog {
    seen: BTreeSet<(String, i64, String)>,
    last: Option<ProbeResult>,
}

impl ProbeLog {
    fn observe(&mut self, results: &[ProbeResult]) {
        for result in results {
            let key = (result.start.clone(), result.exit_code, result.output.clone());
            self.seen.insert(key);
        }
        if let Some(last) = results.last() {
            self.last = Some(last.clone());
        }
    }

    fn fill(self, report: &mut Report) {
        report.probes = self.seen.len() as u64;
        report.last_probe = self.last;
    }
}

fn timing_note(declared: &inspect::HealthTiming, plan: &HealthPlan) -> String {
    let show = |d: Duration| plan::engine_duration(d);
    format!(
        "the image declares interval {}, timeout {}, start period {}, retries {} (0: engine \
         default); this check probes every {} with start period {}, timeout {}, retries {}",
        show(declared.interval),
        show(declared.timeout),
        show(declared.start_period),
        declared.retries,
        show(plan.timing.interval),
        show(plan.timing.start_period),
        show(plan.timing.timeout),
        plan.timing.retries
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(start: &str, exit_code: i64) -> ProbeResult {
        ProbeResult { exit_code, output: format!("out {start}"), start: start.to_string() }
    }

    #[test]
    fn probes_are_counted_across_the_sliding_window() {
        let mut log = ProbeLog::default();
        log.observe(&[result("t1", 1), result("t2", 1)]);
        log.observe(&[result("t1", 1), result("t2", 1), result("t3", 0)]);
        // The engine dropped t1 and t2 from its window of five meanwhile.
        log.observe(&[result("t3", 0), result("t4", 0), result("t5", 0), result("t6", 0)]);
        let mut report = Report::new("image", "x", Status::Healthy);
        log.fill(&mut report);
        assert_eq!(report.probes, 6);
        assert_eq!(report.last_probe, Some(result("t6", 0)));
    }

    #[test]
    fn no_probe_seen_leaves_the_report_empty() {
        let mut report = Report::new("container", "x", Status::TimedOut);
        ProbeLog::default().fill(&mut report);
        assert_eq!(report.probes, 0);
        assert_eq!(report.last_probe, None);
    }
}
