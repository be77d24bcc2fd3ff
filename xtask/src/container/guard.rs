//! Nothing orphaned: a guard that force-removes its container when dropped
//! (errors, early returns, signals), and a sweep that removes containers whose
//! owning process died without cleaning up (SIGKILL, power loss).

use super::{host, OWNER_LABEL};
use crate::context::Context;
use crate::engine::{exec, inspect, Engine, EngineCommand};
use crate::output;

/// Removes the named container on drop unless disarmed.
pub struct ContainerGuard {
    ctx: Context,
    engine: Engine,
    name: String,
    armed: bool,
}

impl ContainerGuard {
    /// Guards `name`. Under `--dry-run` its removal is printed like any other
    /// action, where a run would remove the container.
    pub fn new(ctx: &Context, engine: &Engine, name: &str) -> ContainerGuard {
        ContainerGuard {
            ctx: ctx.clone(),
            engine: engine.clone(),
            name: name.to_string(),
            armed: true,
        }
    }

    /// The engine will remove the container itself (`--rm` after a normal exit).
    pub fn disarm(&mut self) {
        self.armed = false;
    }

    /// Removes the container now (idempotent). True when a removal ran: not
    /// when it was done already, or only printed under `--dry-run`.
    pub fn remove_now(&mut self) -> bool {
        let armed = std::mem::replace(&mut self.armed, false);
        armed && remove_quietly(&self.ctx, &self.engine, &self.name)
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        self.remove_now();
    }
}

/// `rm --force NAME`, ignoring "no such container" (it may be gone already).
/// True when the removal ran (false when it was only printed under `--dry-run`).
pub fn remove_quietly(ctx: &Context, engine: &Engine, name: &str) -> bool {
    let command = EngineCommand::action(["rm", "--force", name]);
    let runs = exec::will_run(ctx, &command);
    if let Ok(out) = exec::output(ctx, engine, &command) {
        let gone =
            out.status.success() || out.stderr.to_ascii_lowercase().contains("no such container");
        if !gone && !out.stderr.contains("already in progress") {
            output::warn(ctx, &format!("could not remove container {name}: {}", out.stderr.trim()));
        }
    }
    runs
}

/// Removes containers with `role` whose owner process on this host is gone.
/// Returns the names removed.
pub fn sweep_leftovers(ctx: &Context, engine: &Engine, role: &str) -> anyhow::Result<Vec<String>> {
    let this_host = host::hostname();
    let mut removed = Vec::new();
    for name in
        inspect::containers_with_label(ctx, engine, &format!("{}={role}", super::ROLE_LABEL))?
    {
        let Some(info) = inspect::container(ctx, engine, &name)? else { continue };
        let Some(owner) = info.labels.get(OWNER_LABEL) else { continue };
        if host::owner_is_dead(owner, &this_host) {
            output::note(
                ctx,
                &format!("removing container {name} left behind by an earlier run ({owner})"),
            );
            remove_quietly(ctx, engine, &name);
            removed.push(name);
        }
    }
    Ok(removed)
}
