//! What run-experiment and shell share: the container specification (mounts,
//! user mapping, limits, hardening, labels) rendered as a `create` argv, the
//! secrets bundle delivered into a created container, and the guard that
//! removes a container on every exit path.

pub mod guard;
pub mod host;
pub mod options;
pub mod secrets;
mod spec;

pub use spec::{ContainerSpec, Limits, UserMapping, CACHE_VOLUMES};

/// Label on every container this tool creates; its value is the owner
/// (`host:pid:start-time`), so a later run can tell a live owner from a dead one.
pub const OWNER_LABEL: &str = "org.scylla.xtask.owner";
/// Label naming the task that made a container (`run-experiment`, `shell`, ...).
pub const ROLE_LABEL: &str = "org.scylla.xtask.role";

/// Where the project is mounted inside the container.
pub const WORKSPACE: &str = "/workspace";

/// Streams `bundle` into the created container `name` as files owned by `user`.
pub fn deliver_secrets(
    ctx: &crate::context::Context,
    engine: &crate::engine::Engine,
    name: &str,
    user: &UserMapping,
    bundle: &secrets::SecretBundle,
) -> anyhow::Result<()> {
    use crate::engine::{exec, EngineCommand};
    if bundle.is_empty() {
        return Ok(());
    }
    let (uid, gid) = user.runtime_ids();
    let target = format!("{name}:/");
    let copy =
        EngineCommand::action(["cp", "-", target.as_str()]).with_stdin(bundle.to_tar(uid, gid)?);
    let out = exec::output(ctx, engine, &copy)?;
    if !out.status.success() {
        anyhow::bail!("cannot deliver secrets into container {name}: {}", out.stderr.trim());
    }
    crate::output::detail(ctx, &format!("delivered {} as files", bundle.file_names().join(", ")));
    Ok(())
}
