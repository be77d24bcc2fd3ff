//! What every task receives: the project root, the global flags and a snapshot of
//! the environment, so that tasks and their plan builders never read process state
//! on their own (and tests can hand them any environment as a value).

use std::collections::BTreeMap;
use std::io::IsTerminal;

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::usage;

/// The values `--engine` and `CONTAINER_ENGINE` take.
pub const ENGINE_CHOICES: [&str; 2] = ["docker", "podman"];

/// How much a task prints on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and the final result only.
    Quiet,
    /// Progress, warnings, the result.
    Normal,
    /// Also the engine commands as they run and the reasoning: cache decisions,
    /// detected capabilities, timings.
    Verbose,
}

/// The environment variables a task may look at, captured once in `main`.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Captures the current process environment (non-UTF-8 entries are skipped).
    pub fn capture() -> Env {
        Env { vars: std::env::vars().collect() }
    }

    /// An environment built from pairs; for tests and plan builders.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The variable's value, if it is set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Whether the variable is set and not empty.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names of all variables, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}

/// The engine asked for: `--engine` (already checked by the parser), else
/// `CONTAINER_ENGINE`, where an empty value means unset and any other value
/// must be one of [`ENGINE_CHOICES`].
pub fn engine_choice(flag: Option<String>, env: &Env) -> anyhow::Result<Option<String>> {
    if flag.is_some() {
        return Ok(flag);
    }
    let Some(value) = env.get("CONTAINER_ENGINE") else { return Ok(None) };
    let name = value.trim().to_ascii_lowercase();
    if ENGINE_CHOICES.contains(&name.as_str()) {
        return Ok(Some(name));
    }
    Err(usage(format!(
        "CONTAINER_ENGINE is set to `{value}`, which is not a container engine\n  \
         set it to one of: {}; or unset it (then docker, else podman, is used)",
        ENGINE_CHOICES.join(", ")
    )))
}

/// The project directory: `--project-dir`, else `SCYLLA_PROJECT_DIR` (empty means
/// unset), else `default`. It must exist, for every task: the ones that mount it need
/// its source (`--volume` used to create a mistyped one), and the others would look
/// for the wrong files under it.
pub fn project_dir(
    flag: Option<Utf8PathBuf>,
    env: &Env,
    default: Utf8PathBuf,
) -> anyhow::Result<Utf8PathBuf> {
    if flag.as_ref().is_some_and(|dir| dir.as_str().is_empty()) {
        return Err(usage(
            "--project-dir needs a directory (the project root, holding docker/ and scripts/)",
        ));
    }
    let dir =
        flag.or_else(|| env.get("SCYLLA_PROJECT_DIR").map(Utf8PathBuf::from)).unwrap_or(default);
    if dir.is_dir() {
        return Ok(dir);
    }
    Err(usage(format!(
        "the project directory {dir} is not a directory\n  \
         pass an existing one with --project-dir DIR (or SCYLLA_PROJECT_DIR)"
    )))
}

/// Shared state handed to every task.
#[derive(Clone, Debug)]
pub struct Context {
    /// The workspace root (the directory holding the top-level `Cargo.toml`).
    pub root: Utf8PathBuf,
    pub verbosity: Verbosity,
    /// Print the engine commands a task would run, secrets redacted, and run none.
    pub dry_run: bool,
    /// `--engine` as given; `CONTAINER_ENGINE` is read with it ([`engine_choice`]) when a
    /// task looks for its engine, so tasks that drive none never trip over it.
    pub engine_choice: Option<String>,
    pub env: Env,
    pub stdout_is_tty: bool,
    pub stderr_is_tty: bool,
    pub stdin_is_tty: bool,
}

impl Context {
    /// A context for `root` with the process's real terminals and environment.
    pub fn new(
        root: Utf8PathBuf,
        verbosity: Verbosity,
        dry_run: bool,
        engine_choice: Option<String>,
    ) -> Context {
        Context {
            root,
            verbosity,
            dry_run,
            engine_choice,
            env: Env::capture(),
            stdout_is_tty: std::io::stdout().is_terminal(),
            stderr_is_tty: std::io::stderr().is_terminal(),
            stdin_is_tty: std::io::stdin().is_terminal(),
        }
    }

    /// Colour on stdout: only on a terminal, never with `NO_COLOR` set.
    pub fn stdout_color(&self) -> bool {
        self.stdout_is_tty && !self.env.is_set("NO_COLOR")
    }

    /// Colour on stderr: only on a terminal, never with `NO_COLOR` set.
    pub fn stderr_color(&self) -> bool {
        self.stderr_is_tty && !self.env.is_set("NO_COLOR")
    }

    /// A path relative to the project root.
    pub fn path(&self, relative: impl AsRef<Utf8Path>) -> Utf8PathBuf {
        self.root.join(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_engine_is_checked_and_empty_means_unset() {
        let env = |value: &str| Env::from_pairs([("CONTAINER_ENGINE", value)]);
        assert_eq!(engine_choice(None, &env("")).unwrap(), None);
        assert_eq!(engine_choice(None, &Env::default()).unwrap(), None);
        assert_eq!(engine_choice(None, &env(" Podman ")).unwrap().as_deref(), Some("podman"));
        let message = engine_choice(None, &env("nonexistent")).unwrap_err().to_string();
        assert!(message.starts_with("CONTAINER_ENGINE is set to `nonexistent`"), "{message}");
        assert!(message.contains("docker, podman") && !message.contains("--engine"), "{message}");
        // The flag wins over a bad variable, as it does over a good one.
        let flag = engine_choice(Some("docker".into()), &env("nonexistent")).unwrap();
        assert_eq!(flag.as_deref(), Some("docker"));
    }
}
