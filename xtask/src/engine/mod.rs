//! The container engine: which one (docker or podman), whether it is installed
//! and its daemon reachable, what it can do, and the only code that spawns
//! processes ([`exec`]). Tasks build [`EngineCommand`]s as data and hand them here.

mod command;
pub mod exec;
pub mod inspect;
pub mod types;

use anyhow::Result;
use camino::Utf8PathBuf;

pub use command::{push_pair, Effect, EngineCommand};

use crate::context::{Context, Env};
use crate::error::usage;
use crate::output;

/// The engines this tool drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

impl EngineKind {
    /// Parses `docker` or `podman` (as given to `--engine` or `CONTAINER_ENGINE`).
    pub fn parse(name: &str) -> Result<EngineKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "docker" => Ok(EngineKind::Docker),
            "podman" => Ok(EngineKind::Podman),
            other => Err(usage(format!(
                "unknown container engine `{other}`\n  \
                 use --engine docker or --engine podman (or set CONTAINER_ENGINE to one of them)"
            ))),
        }
    }

    /// The program name looked up on PATH.
    pub fn program_name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }

    /// The name users know it by, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            EngineKind::Docker => "Docker",
            EngineKind::Podman => "Podman",
        }
    }
}

/// A detected engine: its kind and the program that runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    pub kind: EngineKind,
    pub program: Utf8PathBuf,
}

/// Finds `program` on the `PATH` of `env`, like `command -v`.
pub fn find_on_path(env: &Env, program: &str) -> Option<Utf8PathBuf> {
    let path = env.get("PATH")?;
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Utf8PathBuf::from(dir).join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|meta| meta.is_file() && is_executable(&meta))
                .unwrap_or(false)
        })
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

/// Picks the engine: the explicit choice (`--engine`, else `CONTAINER_ENGINE`),
/// else docker, else podman. Fails with an install hint when none is on PATH.
pub fn detect(choice: Option<&str>, env: &Env) -> Result<Engine> {
    let choice = choice.or_else(|| env.get("CONTAINER_ENGINE"));
    if let Some(name) = choice {
        let kind = EngineKind::parse(name)?;
        return match find_on_path(env, kind.program_name()) {
            Some(program) => Ok(Engine { kind, program }),
            None => Err(not_installed(kind)),
        };
    }
    for kind in [EngineKind::Docker, EngineKind::Podman] {
        if let Some(program) = find_on_path(env, kind.program_name()) {
            return Ok(Engine { kind, program });
        }
    }
    Err(not_installed(EngineKind::Docker))
}

fn not_installed(kind: EngineKind) -> anyhow::Error {
    let hint = match kind {
        EngineKind::Docker => {
            "  install it: apt-get install -y docker.io (Debian/Ubuntu) or see \
             https://docs.docker.com/engine/install/\n  \
             or use Podman instead: --engine podman (or CONTAINER_ENGINE=podman)"
        }
        EngineKind::Podman => {
            "  install it: apt-get install -y podman (Debian/Ubuntu) or see \
             https://podman.io/docs/installation\n  \
             or use Docker instead: --engine docker (or CONTAINER_ENGINE=docker)"
        }
    };
    usage(format!("{} is not installed or not in PATH\n{hint}", kind.display_name()))
}

impl Engine {
    /// Detects the engine for a task's context; `-v` says which and why.
    pub fn from_context(ctx: &Context) -> Result<Engine> {
        let choice = crate::context::engine_choice(ctx.engine_choice.clone(), &ctx.env)?;
        let engine = detect(choice.as_deref(), &ctx.env)?;
        let why = if ctx.engine_choice.is_some() || ctx.env.is_set("CONTAINER_ENGINE") {
            "as asked (--engine or CONTAINER_ENGINE)"
        } else {
            "found on PATH (docker is tried first, then podman)"
        };
        output::detail(
            ctx,
            &format!("engine: {} ({}), {why}", engine.kind.program_name(), engine.program),
        );
        Ok(engine)
    }

    /// The program as a string, for rendering.
    pub fn program_str(&self) -> &str {
        self.program.as_str()
    }

    /// Turns an engine client's complaint into an actionable error.
    pub fn diagnose_unreachable(&self, env: &Env, stderr: &str) -> anyhow::Error {
        usage(diagnose(self.kind, env, stderr))
    }
}

/// Which of the known reasons an engine client could not reach its daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreachable {
    PermissionDenied { socket: String },
    SocketMissing { socket: String },
    NotRunning { endpoint: String },
}

/// Classifies the client's error text (pure; the filesystem is asked only
/// whether a unix socket exists).
pub fn classify(kind: EngineKind, env: &Env, stderr: &str) -> Unreachable {
    let endpoint = daemon_endpoint(kind, env, stderr);
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("permission denied") {
        return Unreachable::PermissionDenied { socket: endpoint };
    }
    if let Some(path) = endpoint.strip_prefix("unix://") {
        if !std::path::Path::new(path).exists() {
            return Unreachable::SocketMissing { socket: endpoint };
        }
    }
    Unreachable::NotRunning { endpoint }
}

fn daemon_endpoint(kind: EngineKind, env: &Env, stderr: &str) -> String {
    // The client names the endpoint it tried; trust that over our guess.
    if let Some(start) = stderr.find("unix://") {
        let rest = &stderr[start..];
        let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
        return rest[..end].trim_end_matches(['.', ',', ':']).to_string();
    }
    if let Some(host) = env.get("DOCKER_HOST").filter(|_| kind == EngineKind::Docker) {
        return host.to_string();
    }
    match kind {
        EngineKind::Docker => "unix:///var/run/docker.sock".to_string(),
        EngineKind::Podman => "unix:///run/podman/podman.sock".to_string(),
    }
}

fn diagnose(kind: EngineKind, env: &Env, stderr: &str) -> String {
    let name = kind.display_name();
    let start_hint = match kind {
        EngineKind::Docker => {
            "  start it: systemctl start docker \
             (or, without systemd: dockerd > /var/log/dockerd.log 2>&1 &)"
        }
        EngineKind::Podman => "  podman needs no daemon; check `podman info` for the cause below",
    };
    let detail = stderr.trim();
    match classify(kind, env, stderr) {
        Unreachable::PermissionDenied { socket } => format!(
            "permission denied on the {name} socket {socket}\n  \
             add yourself to the docker group (usermod -aG docker $USER, then log in again), \
             or run as root\n  engine said: {detail}"
        ),
        Unreachable::SocketMissing { socket } => format!(
            "{name} daemon is not running (its socket {socket} does not exist)\n{start_hint}"
        ),
        Unreachable::NotRunning { endpoint } => format!(
            "{name} daemon is not running (nothing answers at {endpoint})\n{start_hint}\n  \
             engine said: {detail}"
        ),
    }
}

#[cfg(test)]
mod tests;
