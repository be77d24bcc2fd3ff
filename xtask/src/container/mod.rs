//! What run-experiment and shell share: the container specification (mounts,
//! user mapping, limits, hardening, labels) rendered as a `create` argv, the
//! variables forwarded to it, the secrets bundle delivered into the started
//! container's tmpfs, the write-back of refreshed credentials, and the guard
//! that removes a container on every exit path.

pub mod auth;
pub mod forward;
pub mod guard;
pub mod host;
pub mod options;
pub mod refresh;
pub mod secrets;
mod spec;

pub use spec::{push_cache_env, ContainerSpec, Limits, UserMapping, CACHE_VOLUMES};

use crate::context::Context;
use crate::engine::{exec, Engine, EngineCommand};
use crate::error::usage;
use crate::image::ImageState;

/// Label on every container this tool creates; its value is the owner
/// (`host:pid:start-time`), so a later run can tell a live owner from a dead one.
pub const OWNER_LABEL: &str = "org.scylla.xtask.owner";
/// Label naming the task that made a container (`run-experiment`, `shell`, ...).
pub const ROLE_LABEL: &str = "org.scylla.xtask.role";

/// What a container this tool creates is for: the value of its [`ROLE_LABEL`],
/// by which a later run finds its own leftovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    RunExperiment,
    RunExperimentSwarm,
    Shell,
    Healthcheck,
}

impl Role {
    pub const fn name(self) -> &'static str {
        match self {
            Role::RunExperiment => "run-experiment",
            Role::RunExperimentSwarm => "run-experiment-swarm",
            Role::Shell => "shell",
            Role::Healthcheck => "healthcheck",
        }
    }

    /// `ROLE_LABEL=name`, for `--label` and `--filter label=`.
    pub fn label(self) -> String {
        format!("{ROLE_LABEL}={}", self.name())
    }
}

/// The labels of a container of `role` made for `owner`.
pub fn labels(role: Role, owner: &str) -> Vec<(String, String)> {
    vec![
        (ROLE_LABEL.to_string(), role.name().to_string()),
        (OWNER_LABEL.to_string(), owner.to_string()),
    ]
}

/// What a container is told about its image and itself (recorded in each
/// result's provenance).
pub fn identity_env(image: &ImageState, container_name: &str) -> Vec<(String, String)> {
    vec![
        ("SCYLLA_IMAGE_ID".to_string(), image.id.clone()),
        ("SCYLLA_SOURCE_HASH".to_string(), image.source_hash.clone().unwrap_or_default()),
        ("SCYLLA_CONTAINER_NAME".to_string(), container_name.to_string()),
    ]
}

/// Where the project is mounted inside the container.
pub const WORKSPACE: &str = "/workspace";

/// `exec --interactive --user U:G NAME scylla-entrypoint --receive-secrets`:
/// the entrypoint unpacks the tar on its stdin into the secrets tmpfs;
/// `--keeper-follows` announces the credentials keeper started next.
pub fn receive_command(name: &str, user: &UserMapping, keeper_follows: bool) -> EngineCommand {
    let (uid, gid) = user.runtime_ids();
    let user = format!("{uid}:{gid}");
    let mut argv: Vec<String> =
        ["exec", "--interactive", "--user", &user, name, refresh::ENTRYPOINT, "--receive-secrets"]
            .map(String::from)
            .to_vec();
    if keeper_follows {
        argv.push("--keeper-follows".to_string());
    }
    EngineCommand::action(argv)
}

/// Streams `bundle` into the RUNNING container `name`, over `exec` stdin into
/// the tmpfs at `/run/secrets`, as files owned by `user`. (`cp` would write
/// beneath the tmpfs, into the container's layer on the host's disk.)
pub fn deliver_secrets(
    ctx: &Context,
    engine: &Engine,
    name: &str,
    user: &UserMapping,
    bundle: &secrets::SecretBundle,
    keeper_follows: bool,
) -> anyhow::Result<()> {
    if bundle.is_empty() {
        return Ok(());
    }
    let (uid, gid) = user.runtime_ids();
    let deliver = receive_command(name, user, keeper_follows).with_stdin(bundle.to_tar(uid, gid)?);
    exec::checked(ctx, engine, &deliver, &format!("deliver secrets into container {name}"))?;
    crate::output::detail(
        ctx,
        &format!("delivered {} into memory", bundle.file_names().join(", ")),
    );
    Ok(())
}

/// Waits (at most 30 s, and never past a signal) until the container `name`
/// runs; `false` when it ended or never started.
/// A `--network` the engine does not have is a usage error before anything is
/// made (the engine would refuse it only at `run`, in its own words). Other
/// failures of the query are left to the launch to report.
pub fn require_network(
    ctx: &Context,
    engine: &Engine,
    network: Option<&str>,
) -> anyhow::Result<()> {
    let Some(name) = network else { return Ok(()) };
    let query = EngineCommand::query(["network", "inspect", "--format", "{{.Name}}", name]);
    let out = exec::output(ctx, engine, &query)?;
    if out.status.success() || !out.stderr.to_ascii_lowercase().contains("not found") {
        return Ok(());
    }
    let program = engine.kind.program_name();
    Err(usage(format!(
        "--network {name}: this engine has no such network\n  \
         see the ones it has with `{program} network ls`, \
         or make it: {program} network create {name}"
    )))
}

pub fn wait_until_running(
    ctx: &Context,
    engine: &Engine,
    name: &str,
    watch: &crate::engine::exec::SignalWatch,
) -> bool {
    let query = EngineCommand::query(["inspect", "--format", "{{.State.Status}}", name]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline && watch.received().is_none() {
        match exec::output(ctx, engine, &query) {
            Ok(out) if out.stdout.trim() == "running" => return true,
            Ok(out) if ["exited", "dead", "removing"].contains(&out.stdout.trim()) => return false,
            _ => {
                watch.sleep(std::time::Duration::from_millis(50));
            }
        }
    }
    false
}
