//! Podman's health timers, stood in for while a check waits.
//!
//! Docker's daemon runs a container's HEALTHCHECK itself. Podman has no daemon:
//! `podman run` asks systemd for a transient timer that calls `podman healthcheck
//! run NAME`, and where systemd is not running (containers, CI sandboxes) it only
//! logs `unable to get systemd connection to add healthchecks` and no probe ever
//! runs, so the health stays `starting` for good. [`ProbeTimer`] does the timer's
//! job during the wait: it runs `podman healthcheck run NAME` on the container's
//! own interval (the first one interval after the wait begins, as the engine's
//! first probe comes one interval after the start). The probe runs on a thread,
//! so a probe that hangs until its timeout never delays a signal or the deadline.
//! Where a systemd timer does run, each new result it records pushes the next
//! probe a whole interval away, so the probe never runs more often than declared.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::context::Context;
use crate::engine::exec;
use crate::engine::{Engine, EngineCommand, EngineKind};
use crate::output;

/// The engines' default interval, used when the container declares none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Runs the probe of one podman container on its interval.
pub struct ProbeTimer {
    ctx: Context,
    engine: Engine,
    container_name: String,
    interval: Duration,
    next_due: Instant,
    /// Probe results seen so far (all sources); a change means a probe ran.
    results_seen: u64,
    running: Option<JoinHandle<()>>,
}

impl ProbeTimer {
    /// A timer for `container_name` on podman; `None` on Docker, whose daemon probes.
    pub fn for_engine(
        ctx: &Context,
        engine: &Engine,
        container_name: &str,
        interval: Duration,
    ) -> Option<ProbeTimer> {
        if engine.kind != EngineKind::Podman {
            return None;
        }
        let interval = if interval.is_zero() { DEFAULT_INTERVAL } else { interval };
        Some(ProbeTimer {
            ctx: ctx.clone(),
            engine: engine.clone(),
            container_name: container_name.to_string(),
            interval,
            next_due: Instant::now() + interval,
            results_seen: 0,
            running: None,
        })
    }

    /// The interval the timer keeps.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Called on every poll with the number of probe results seen so far: starts
    /// a probe when one is due and none is running.
    pub fn tick(&mut self, results_seen: u64) {
        let now = Instant::now();
        if results_seen != self.results_seen {
            self.results_seen = results_seen;
            self.next_due = self.next_due.max(now + self.interval);
        }
        if self.running.as_ref().is_some_and(|probe| !probe.is_finished()) {
            return;
        }
        if self.running.take().is_some() {
            self.next_due = self.next_due.max(now + self.interval);
        }
        if now < self.next_due {
            return;
        }
        let (ctx, engine) = (self.ctx.clone(), self.engine.clone());
        // A query: the probe only observes the container (its result updates the
        // health record), so `--dry-run --container` still gets a verdict.
        let command = EngineCommand::query(["healthcheck", "run", self.container_name.as_str()]);
        self.running = Some(std::thread::spawn(move || {
            match exec::output(&ctx, &engine, &command) {
                // 0: healthy, 1: unhealthy; the health record says which, with the output.
                Ok(out) if out.code() <= 1 => {}
                Ok(out) => output::detail(
                    &ctx,
                    &format!("podman healthcheck run failed: {}", out.stderr.trim()),
                ),
                Err(error) => output::detail(&ctx, &format!("{error:#}")),
            }
        }));
    }
}
