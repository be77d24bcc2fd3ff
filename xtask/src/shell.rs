//! `cargo xtask shell [NAME]`: an interactive bash in a scylla-runner container.
//!
//! NAME running → exec a shell in it; NAME stopped → start it, then exec; no
//! NAME → create it (same mounts, user mapping, limits and secrets as
//! run-experiment, kept alive by `sleep infinity` under an init), then exec.
//! Every shell enters through the image's entrypoint (`--shell`), so the
//! credentials are set up on this path too, and a banner says how to use it.
//! `--rm` removes the container when the shell exits (also after SIGHUP, when
//! the terminal goes away); `--list` prints the shell containers.
//! Secrets live in the container's tmpfs, which a stop empties: starting a
//! stopped container delivers them again from the current environment.

use anyhow::Result;

use crate::container::auth::{warn_about_credentials, warn_about_files, Purpose};
use crate::container::guard::ContainerGuard;
use crate::container::options::{host_cpu_count, ContainerOptions};
use crate::container::secrets::SecretBundle;
use crate::container::{
    self, deliver_secrets, host, identity_env, labels, ContainerSpec, Role, UserMapping, ROLE_LABEL,
};
use crate::context::Context;
use crate::engine::exec::SignalWatch;
use crate::engine::{exec, inspect, Engine, EngineCommand, EngineKind};
use crate::error::{usage, Outcome};
use crate::image::{self, ImageState};
use crate::output;

const ROLE: Role = Role::Shell;
/// The image's entrypoint, which prepares the environment before the shell.
const ENTRYPOINT: &str = "/usr/local/bin/scylla-entrypoint";

/// Open an interactive shell in a scylla-runner container.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    cargo xtask shell                 # a new container scylla-shell-<time>-<random>\n  \
    cargo xtask shell mybox           # attach to mybox, start it, or create it\n  \
    cargo xtask shell --rm            # a container removed when the shell exits\n  \
    cargo xtask shell --list          # the shell containers and their state\n  \
    docker rm --force mybox           # when done with a kept one\n\n\
    Needs a terminal. Exit code: the shell's own; 2 for usage errors.")]
pub struct Args {
    /// Container name: attached to if running, started if stopped, created if absent
    pub name: Option<String>,
    /// Remove the container when the shell exits (by default it stays for the next shell)
    #[arg(long)]
    pub rm: bool,
    /// List the shell containers (name, state, status, image) and exit
    #[arg(long, conflicts_with_all = ["name", "rm"])]
    pub list: bool,
    #[command(flatten)]
    pub container: ContainerOptions,
}

/// What to do with the named container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellAction {
    Attach,
    StartThenAttach,
    Create,
}

/// Checks a container name against the engine's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() <= 128
    {
        return Ok(());
    }
    Err(usage(format!(
        "invalid container name `{name}`\n  \
         use letters, digits, `_`, `.` and `-`, starting with a letter or digit (e.g. scylla-dev)"
    )))
}

/// The exec command that opens the shell through the entrypoint; with `remove`,
/// the banner is told that the container goes when the shell exits.
pub fn exec_command(name: &str, remove: bool) -> EngineCommand {
    let mut argv = vec!["exec", "--interactive", "--tty"];
    if remove {
        argv.extend(["--env", "SCYLLA_SHELL_REMOVE=1"]);
    }
    argv.extend([name, ENTRYPOINT, "--shell"]);
    EngineCommand::action(argv)
}

/// The container spec of a new shell container (no `--rm`: it outlives the shell).
pub fn shell_spec(
    name: &str,
    options: &ContainerOptions,
    ctx: &Context,
    engine: &Engine,
    image: &ImageState,
) -> Result<ContainerSpec> {
    let (uid, gid) = host::user_ids();
    Ok(ContainerSpec {
        name: name.to_string(),
        image: image.reference.clone(),
        labels: labels(ROLE, "user"),
        user: UserMapping::for_engine(engine.kind, uid, gid),
        project_dir: ctx.root.clone(),
        tty: false,
        interactive: false,
        auto_remove: false,
        limits: options.limits(Some(host_cpu_count()))?,
        cache_volumes: options.cache_volumes,
        plain_env: identity_env(image, name)
            .into_iter()
            .chain(options.forwarding(&ctx.env)?.plain)
            .collect(),
        network: options.network()?,
        engine: engine.kind,
        command: vec!["sleep".to_string(), "infinity".to_string()],
    })
}

impl Args {
    pub fn run(self, ctx: &Context) -> Result<Outcome> {
        if self.list {
            return list(ctx);
        }
        let name = match &self.name {
            Some(name) => {
                validate_name(name)?;
                name.clone()
            }
            None => host::unique_name("scylla-shell"),
        };
        let attach = exec_command(&name, self.rm);
        // A terminal is needed only where the attach will run (not when printed).
        if exec::will_run(ctx, &attach) && !(ctx.stdin_is_tty && ctx.stdout_is_tty) {
            return Err(usage(
                "shell needs a terminal, and stdin or stdout is not one\n  \
                 run it from an interactive terminal; from scripts use \
                 `cargo xtask run-experiment -- ...` instead",
            ));
        }
        // Bad flags are reported before the engine is asked anything.
        self.container.image()?;
        self.container.limits(Some(host_cpu_count()))?;
        self.container.forwarding(&ctx.env)?;
        let network = self.container.network()?;
        let engine = Engine::from_context(ctx)?;
        container::require_network(ctx, &engine, network.as_deref())?;
        let action = match inspect::container(ctx, &engine, &name)? {
            Some(info) if info.labels.get(ROLE_LABEL).map(String::as_str) != Some(ROLE.name()) => {
                return Err(usage(format!(
                    "container {name} exists but was not made by `cargo xtask shell`\n  \
                     pick another name, or use: {} exec -it {name} bash",
                    engine.kind.program_name()
                )))
            }
            Some(info) if info.running => ShellAction::Attach,
            Some(_) => ShellAction::StartThenAttach,
            None => ShellAction::Create,
        };
        // With --rm, a closed terminal (SIGHUP) or a signal must not kill this
        // process before it removes the container: the flags only record them.
        let _watch = if self.rm { Some(SignalWatch::install()?) } else { None };
        match action {
            ShellAction::Attach => {}
            ShellAction::StartThenAttach => {
                start(ctx, &engine, &name)?;
                let (uid, gid) = host::user_ids();
                let user = UserMapping::for_engine(engine.kind, uid, gid);
                deliver_secrets(
                    ctx,
                    &engine,
                    &name,
                    &user,
                    &collect(ctx, &self.container)?,
                    false,
                )?;
            }
            ShellAction::Create => create(ctx, &engine, &name, &self.container)?,
        }
        let removal = self.rm.then(|| ContainerGuard::new(ctx, &engine, &name));
        let code = exec::interactive(ctx, &engine, &attach);
        if let Some(mut guard) = removal {
            if guard.remove_now() {
                output::note(ctx, &format!("removed container {name}"));
            }
        }
        Ok(Outcome::Code(code?))
    }
}

/// `ps --all` of the containers `shell` made, printed on stdout.
fn list(ctx: &Context) -> Result<Outcome> {
    let engine = Engine::from_context(ctx)?;
    let filter = format!("label={}", ROLE.label());
    // Podman 4.3 renders `.State` as the status text ("Up 3 seconds ago"); the
    // state itself is `.ListContainer.State`, a column podman cannot name.
    let state = match engine.kind {
        EngineKind::Docker => "{{.State}}",
        EngineKind::Podman => "{{.ListContainer.State}}",
    };
    let format = format!("table {{{{.Names}}}}\t{state}\t{{{{.Status}}}}\t{{{{.Image}}}}");
    let query = EngineCommand::query(["ps", "--all", "--filter", &filter, "--format", &format]);
    let listed = exec::checked(ctx, &engine, &query, "list the shell containers")?;
    let unnamed = "<no value>";
    let table = listed.trim_end().replacen(unnamed, &format!("{:<1$}", "STATE", unnamed.len()), 1);
    output::result_line(&table);
    Ok(Outcome::Success)
}

fn start(ctx: &Context, engine: &Engine, name: &str) -> Result<()> {
    let start = EngineCommand::action(["start", name]);
    exec::checked(ctx, engine, &start, &format!("start container {name}")).map(drop)
}

fn create(ctx: &Context, engine: &Engine, name: &str, options: &ContainerOptions) -> Result<()> {
    let image = image::image_for_run(ctx, engine, &options.image, options.no_build)?;
    let spec = shell_spec(name, options, ctx, engine, &image)?;
    let bundle = collect(ctx, options)?;
    // Until its secrets are in, a failure must not leave a half-made container.
    let mut guard = ContainerGuard::new(ctx, engine, name);
    let create = spec.create_command();
    exec::checked(ctx, engine, &create, &format!("create container {name}"))?;
    start(ctx, engine, name)?;
    deliver_secrets(ctx, engine, name, &spec.user, &bundle, false)?;
    guard.disarm();
    Ok(())
}

/// The secrets for a shell container, with the warnings about them.
fn collect(ctx: &Context, options: &ContainerOptions) -> Result<SecretBundle> {
    let forwarding = options.forwarding(&ctx.env)?;
    let (mut bundle, status) =
        SecretBundle::collect(&ctx.env, &forwarding.secret_names, options.credentials.as_deref())?;
    warn_about_files(ctx, &bundle.add_files(&forwarding.secret_files));
    warn_about_credentials(ctx, &status, &bundle, &forwarding, Purpose::Shell);
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_engine_rule_exactly() {
        assert!(validate_name("scylla-shell-1").is_ok());
        assert!(validate_name("my.box_2").is_ok());
        assert!(validate_name("-x").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("^box$").is_err());
        assert!(validate_name("").is_err());
    }

    #[test]
    fn shells_enter_through_the_entrypoint() {
        assert_eq!(exec_command("box", true).args[3..6], ["--env", "SCYLLA_SHELL_REMOVE=1", "box"]);
        assert_eq!(
            exec_command("box", false).args,
            [
                "exec",
                "--interactive",
                "--tty",
                "box",
                "/usr/local/bin/scylla-entrypoint",
                "--shell"
            ]
        );
    }
}
