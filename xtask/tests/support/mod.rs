//! Shared helpers for integration tests that need a real container engine.
//!
//! [`engine`] is the only gate: without a reachable engine it prints `skipped: <reason>` on
//! the real stderr (the harness captures `eprintln!`, not direct writes) and returns `None`;
//! with `SCYLLA_REQUIRE_ENGINE=1` (CI) it panics with the reason instead. Tests never return
//! quietly. [`Resource`] removes what a test created (images, containers) on drop, so a
//! failing assertion still cleans up. Every resource a test creates carries [`TEST_LABEL`].

#![allow(dead_code)]

use std::io::Write as _;
use std::process::{Command, Output};

/// Label put on every image and container the tests create (`docker image prune --filter`).
pub const TEST_LABEL: &str = "org.scylla.xtask-test=1";

/// A reachable engine CLI.
#[derive(Clone, Debug)]
pub struct Engine {
    /// The program to run (`docker`).
    pub program: String,
}

impl Engine {
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
