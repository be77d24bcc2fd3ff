//! Shared helpers for integration tests that need a real container engine.
//!
//! [`engine`] is the Docker gate: without a reachable engine it prints `skipped: <reason>` on
//! the real stderr (the harness captures `eprintln!`, not direct writes) and returns `None`;
//! with `SCYLLA_REQUIRE_ENGINE=1` (CI) it panics with the reason instead. Tests never return
//! quietly. [`Resource`] removes what a test created (images, containers) on drop, so a
//! failing assertion still cleans up. Every resource a test creates carries [`TEST_LABEL`].
//!
//! Both engines: [`engine_tests!`] turns one test body into a `docker` and a `podman` test
//! (`NAME::docker`, `NAME::podman`), each gated by [`engine_named`]; podman is required
//! when `SCYLLA_REQUIRE_PODMAN=1`. A body that cannot apply to podman is declared with
//! `docker_only = "why"`, and its podman test prints `skipped: podman: why`. Drive xtask
//! through [`Engine::xtask`] / [`Engine::run_xtask`], which pass `--engine` explicitly.

#![allow(dead_code)]

use std::io::Write as _;
use std::process::{Command, Output};

/// Label put on every image and container the tests create (`docker image prune --filter`).
pub const TEST_LABEL: &str = "org.scylla.xtask-test=1";

/// A reachable engine CLI.
#[derive(Clone, Debug)]
pub struct Engine {
    /// The program to run (`docker` or `podman`), also the `--engine` value.
    pub program: String,
}

impl Engine {
    /// Whether this is podman (rootful here: the tests run as root in CI).
    pub fn is_podman(&self) -> bool {
        self.program == "podman"
    }

    /// The xtask binary with `--engine` set to this engine.
    pub fn xtask(&self) -> Command {
        let mut command = project::xtask();
        command.args(["--engine", &self.program]);
        command
    }

    /// Runs xtask on this engine with `args` and returns its output.
    pub fn run_xtask(&self, args: &[&str]) -> Output {
        self.xtask().args(args).output().expect("xtask runs")
    }

    /// Runs the engine with `args` and returns its output, whatever the exit status.
    #[allow(clippy::disallowed_methods)]
    pub fn output(&self, args: &[&str]) -> Output {
        Command::new(&self.program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} {args:?}: {e}", self.program))
    }

    /// Runs the engine and panics with its stderr unless it succeeds; returns stdout.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let output = self.output(args);
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}",
            self.program,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

/// The engine, or `None` after printing `skipped: <reason>` (panics instead when
/// `SCYLLA_REQUIRE_ENGINE=1`).
#[allow(clippy::disallowed_methods)]
pub fn engine() -> Option<Engine> {
    let program = "docker".to_owned();
    let reason =
        match Command::new(&program).args(["info", "--format", "{{.ServerVersion}}"]).output() {
            Ok(output) if output.status.success() => return Some(Engine { program }),
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                format!("`docker info` failed: {}", stderr.lines().next().unwrap_or("no output"))
            }
            Err(error) => format!("cannot run docker: {error}"),
        };
    if std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() == Ok("1") {
        panic!("SCYLLA_REQUIRE_ENGINE=1 but no container engine is usable: {reason}");
    }
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
    None
}

/// The variable that makes a missing podman a failure instead of a skip.
pub const REQUIRE_PODMAN: &str = "SCYLLA_REQUIRE_PODMAN";

/// The engine called `name` (`docker` or `podman`), or `None` after printing
/// `skipped: <name>: <reason>`. Docker is required by `SCYLLA_REQUIRE_ENGINE=1`,
/// podman by `SCYLLA_REQUIRE_PODMAN=1`; a required engine that is missing panics.
pub fn engine_named(name: &str) -> Option<Engine> {
    if name == "docker" {
        return engine();
    }
    let reason = match podman_problem() {
        None => return Some(Engine { program: name.to_owned() }),
        Some(reason) => reason,
    };
    if std::env::var(REQUIRE_PODMAN).as_deref() == Ok("1") {
        panic!("{REQUIRE_PODMAN}=1 but podman is not usable: {reason}");
    }
    let _ = writeln!(std::io::stderr(), "skipped: podman: {reason}");
    None
}

/// Why podman cannot run the tests, if it cannot (asked once per test binary).
#[allow(clippy::disallowed_methods)]
fn podman_problem() -> Option<String> {
    static PROBLEM: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let ask = || {
        let info =
            Command::new("podman").args(["info", "--format", "{{.Host.OCIRuntime.Name}}"]).output();
        match info {
            Ok(output) if output.status.success() => None,
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let last = stderr.lines().last().unwrap_or("no output").to_string();
                Some(format!("`podman info` failed: {last}"))
            }
            Err(error) => Some(format!(
                "cannot run podman: {error} \
                 (set it up: bash tests/offline/prepare.sh --engine podman)"
            )),
        }
    };
    PROBLEM.get_or_init(ask).clone()
}

/// For the podman half of a test that cannot apply to podman: says why.
pub fn skip_on_podman(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: podman: {why}");
}

/// One test body, run as two tests: `NAME::docker` and `NAME::podman`.
///
/// Other items (helpers) may sit between the tests.
///
/// ```ignore
/// support::engine_tests! {
///     fn exit_codes_pass_through(engine) { ... }
///     docker_only = "podman has no swarm mode"; // any &str expression
///     fn swarm_job(engine) { ... }
/// }
/// ```
#[macro_export]
macro_rules! engine_tests {
    () => {};
    ($(#[$meta:meta])* fn $name:ident($engine:ident) $body:block $($rest:tt)*) => {
        $crate::engine_tests! { @pair $(#[$meta])* $name $engine $body {
            if let Some(engine) = $crate::support::engine_named("podman") {
                body(engine)
            }
        } }
        $crate::engine_tests! { $($rest)* }
    };
    (docker_only = $why:expr;
     $(#[$meta:meta])* fn $name:ident($engine:ident) $body:block $($rest:tt)*) => {
        $crate::engine_tests! { @pair $(#[$meta])* $name $engine $body {
            $crate::support::skip_on_podman($why);
        } }
        $crate::engine_tests! { $($rest)* }
    };
    // The two tests of one body; the podman half's own body is given.
    (@pair $(#[$meta:meta])* $name:ident $engine:ident $body:block { $($podman:tt)* }) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($engine: $crate::support::Engine) $body

            #[test]
            fn docker() {
                if let Some(engine) = $crate::support::engine_named("docker") {
                    body(engine)
                }
            }

            #[test]
            fn podman() {
                $($podman)*
            }
        }
    };
    // Any other item (a helper, a const) stays as it is.
    ($item:item $($rest:tt)*) => {
        $item
        $crate::engine_tests! { $($rest)* }
    };
}
#[allow(unused_imports)]
pub use crate::engine_tests;

/// An image or container removed (forcefully) when dropped.
pub struct Resource {
    engine: Engine,
    remove: Vec<String>,
}

impl Resource {
    /// An image tag, removed with `rmi -f`.
    pub fn image(engine: &Engine, tag: &str) -> Resource {
        Resource { engine: engine.clone(), remove: vec!["rmi".into(), "-f".into(), tag.into()] }
    }

    /// A container name, removed with `rm -f`.
    pub fn container(engine: &Engine, name: &str) -> Resource {
        Resource { engine: engine.clone(), remove: vec!["rm".into(), "-f".into(), name.into()] }
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        let args: Vec<&str> = self.remove.iter().map(String::as_str).collect();
        let _ = self.engine.output(&args);
    }
}

/// A name no other test run uses: `<prefix>-<pid>-<counter>`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}
pub mod npm;
pub mod project;
