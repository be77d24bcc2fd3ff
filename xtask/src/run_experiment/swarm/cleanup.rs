//! Nothing of a swarm run outlives it: a guard removes its service (and waits,
//! through the manager, until the task containers are gone from every node
//! that is up), its secrets, helper containers, staged inputs and the volume
//! it made, on every exit path; and a sweep on start removes what runs whose
//! owner process died left behind.
//!
//! The guard holds only what the engine layer says it created (an action that
//! returned `Acted::Ran`, a helper that will run): under `--dry-run` nothing
//! was created, so it has nothing to remove and prints nothing.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::plan::ROLE;
use crate::container::{guard, host, OWNER_LABEL, ROLE_LABEL};
use crate::context::Context;
use crate::engine::types::{json_lines, WireTask, JSON_LINES};
use crate::engine::{exec, Engine, EngineCommand};
use crate::output;

/// Label the engine puts on a service's task containers.
const SERVICE_NAME_LABEL: &str = "com.docker.swarm.service.name";

/// What a run has created so far; removed on drop unless already gone.
pub struct SwarmResources {
    ctx: Context,
    engine: Engine,
    service: Option<String>,
    secrets: Vec<String>,
    helpers: Vec<String>,
    tidy: Option<EngineCommand>,
    volume: Option<EngineCommand>,
    untag: Option<EngineCommand>,
}

impl SwarmResources {
    pub fn new(ctx: &Context, engine: &Engine) -> SwarmResources {
        SwarmResources {
            ctx: ctx.clone(),
            engine: engine.clone(),
            service: None,
            secrets: Vec::new(),
            helpers: Vec::new(),
            tidy: None,
            volume: None,
            untag: None,
        }
    }

    pub fn service_created(&mut self, name: &str) {
        self.service = Some(name.to_string());
    }

    pub fn secret_created(&mut self, name: &str) {
        self.secrets.push(name.to_string());
    }

    /// A helper container about to run as `command` (removed if the run is
    /// cut short); one that is only printed (`--dry-run`) leaves nothing.
    pub fn helper_starting(&mut self, name: &str, command: &EngineCommand) {
        if exec::will_run(&self.ctx, command) {
            self.helpers.push(name.to_string());
        }
    }

    /// The helper ended; the engine removed it (`--rm`).
    pub fn helper_ended(&mut self, name: &str) {
        self.helpers.retain(|h| h != name);
    }

    /// The command that removes the staged inputs from a volume the run keeps.
    pub fn tidy_with(&mut self, command: EngineCommand) {
        self.tidy = Some(command);
    }

    /// The command that removes the volume the run made.
    pub fn volume_created(&mut self, remove: EngineCommand) {
        self.volume = Some(remove);
    }

    /// The command that drops the image tag made for the push.
    pub fn untag_with(&mut self, command: EngineCommand) {
        self.untag = Some(command);
    }

    /// Removes the service and waits (bounded) until its task containers are
    /// gone: this node's are removed at once, the other nodes' by their engines.
    pub fn remove_service(&mut self) {
        let Some(name) = self.service.take() else { return };
        let id = EngineCommand::query(["service", "inspect", "--format", "{{.ID}}", name.as_str()]);
        let id = exec::output(&self.ctx, &self.engine, &id)
            .ok()
            .filter(|out| out.status.success())
            .map(|out| out.stdout.trim().to_string())
            .unwrap_or_default();
        let rm = super::plan::service_rm(&name);
        if let Ok(out) = exec::output(&self.ctx, &self.engine, &rm) {
            if !out.status.success() && !out.stderr.to_ascii_lowercase().contains("not found") {
                output::warn(
                    &self.ctx,
                    &format!("could not remove service {name}: {}", out.stderr.trim()),
                );
            }
        }
        if !exec::will_run(&self.ctx, &rm) {
            // Only printed (a leftover found under --dry-run): nothing goes away to wait for.
            return;
        }
        wait_for_task_containers(&self.ctx, &self.engine, &name, &id);
    }

    /// Removes everything left, in dependency order.
    pub fn release(&mut self) {
        self.remove_service();
        for name in std::mem::take(&mut self.helpers) {
            guard::remove_quietly(&self.ctx, &self.engine, &name);
        }
        if !self.secrets.is_empty() {
            let mut argv = vec!["secret".to_string(), "rm".to_string()];
            argv.append(&mut self.secrets);
            let _ = exec::output(&self.ctx, &self.engine, &EngineCommand::action(argv));
        }
        let steps = [self.tidy.take(), self.volume.take(), self.untag.take()];
        for command in steps.into_iter().flatten() {
            match exec::output(&self.ctx, &self.engine, &command) {
                Ok(out) if !out.status.success() => {
                    output::warn(&self.ctx, &format!("cleanup step failed: {}", out.stderr.trim()));
                }
                _ => {}
            }
        }
    }
}

impl Drop for SwarmResources {
    fn drop(&mut self) {
        self.release();
    }
}

fn task_containers(ctx: &Context, engine: &Engine, service: &str) -> Vec<String> {
    let filter = format!("label={SERVICE_NAME_LABEL}={service}");
    let ps = EngineCommand::query(["ps", "--all", "--quiet", "--filter", filter.as_str()]);
    match exec::output(ctx, engine, &ps) {
        Ok(out) if out.status.success() => {
            out.stdout.split_whitespace().map(str::to_string).collect()
        }
        _ => Vec::new(),
    }
}

/// Tasks of a removed service the manager still lists, as (node, is the
/// node up); the engines remove a task's container before the manager forgets
/// the task. A removed service's tasks are named after its id.
fn tasks_left(ctx: &Context, engine: &Engine, service: &str, id: &str) -> Vec<(String, bool)> {
    let Ok(nodes) = super::cluster::nodes(ctx, engine) else { return Vec::new() };
    let listing = format!("{} node ps", engine.program_str());
    let mut left = Vec::new();
    for node in nodes {
        let ps = EngineCommand::query(["node", "ps", node.id.as_str(), "--format", JSON_LINES]);
        let Ok(out) = exec::output(ctx, engine, &ps) else { continue };
        let Ok(tasks) = json_lines::<WireTask>(&listing, &out.stdout) else { continue };
        for task in tasks {
            let name = task.task_name();
            let ours = name.starts_with(&format!("{service}."))
                || (!id.is_empty() && name.starts_with(&format!("{id}.")));
            if ours {
                left.push((task.node.clone(), !node.is_down()));
            }
        }
    }
    left
}

/// The engine removes a removed service's task containers in the background;
/// remove those on this node at once (so the volume can go) and wait, bounded,
/// until the manager lists no task of it on a node that is up.
fn wait_for_task_containers(ctx: &Context, engine: &Engine, service: &str, id: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let local = task_containers(ctx, engine, service);
        for container in &local {
            guard::remove_quietly(ctx, engine, container);
        }
        let left = tasks_left(ctx, engine, service, id);
        if local.is_empty() && left.iter().all(|(_, up)| !up) {
            let mut down: Vec<String> = left.into_iter().map(|(node, _)| node).collect();
            down.dedup();
            if !down.is_empty() {
                output::warn(
                    ctx,
                    &format!(
                        "node(s) {} are down: their engines remove this run's task containers \
                         when they come back",
                        down.join(", ")
                    ),
                );
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    output::warn(ctx, &format!("task containers of service {service} are still being removed"));
}

/// Names of `kind` objects (service, secret, volume) with the swarm role label
/// whose owner process on this host is gone.
fn dead_owned(ctx: &Context, engine: &Engine, kind: &str) -> Result<Vec<String>> {
    let filter = format!("label={ROLE_LABEL}={ROLE}");
    let ls =
        EngineCommand::query([kind, "ls", "--filter", filter.as_str(), "--format", "{{.Name}}"]);
    let out = exec::output(ctx, engine, &ls)?;
    if !out.status.success() {
        return Err(engine.diagnose_unreachable(&ctx.env, &out.stderr));
    }
    let labels = if kind == "volume" { ".Labels" } else { ".Spec.Labels" };
    let template = format!("{{{{index {labels} \"{OWNER_LABEL}\"}}}}");
    let this_host = host::hostname();
    let mut dead = Vec::new();
    for name in out.stdout.split_whitespace() {
        let inspect = EngineCommand::query([kind, "inspect", "--format", template.as_str(), name]);
        let owner = exec::output(ctx, engine, &inspect)?;
        if owner.status.success() && host::owner_is_dead(owner.stdout.trim(), &this_host) {
            dead.push(name.to_string());
        }
    }
    Ok(dead)
}

/// Removes services, containers, secrets and volumes of swarm runs whose
/// owner died without cleaning up (SIGKILL, power loss).
pub fn sweep_leftovers(ctx: &Context, engine: &Engine) -> Result<()> {
    for service in dead_owned(ctx, engine, "service")? {
        output::note(ctx, &format!("removing service {service} left behind by an earlier run"));
        let mut resources = SwarmResources::new(ctx, engine);
        resources.service_created(&service);
        resources.remove_service();
    }
    guard::sweep_leftovers(ctx, engine, ROLE)?;
    for kind in ["secret", "volume"] {
        let names = dead_owned(ctx, engine, kind)?;
        if names.is_empty() {
            continue;
        }
        output::note(
            ctx,
            &format!("removing {kind}s left behind by an earlier run: {}", names.join(", ")),
        );
        let mut argv = vec![kind.to_string(), "rm".to_string()];
        argv.extend(names);
        let _ = exec::output(ctx, engine, &EngineCommand::action(argv));
    }
    Ok(())
}
