//! The engine gate for integration tests, with the contract of the shared
//! `tests/support` helper: [`engine`] returns the engine or, without one, prints
//! `skipped: <reason>` and returns `None`; with `SCYLLA_REQUIRE_ENGINE=1` (CI) it
//! panics instead, so a test never passes quietly without running. [`Resource`]
//! removes an image or container on drop, so failing assertions still clean up.

#![allow(dead_code)]

use std::io::Write as _;
use std::process::{Command, Output};

/// Label put on every image and container the tests create.
pub const TEST_LABEL: &str = "org.scylla.xtask-test=1";

/// A reachable engine CLI.
#[derive(Clone, Debug)]
pub struct Engine {
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

/// Says why a test does not run: `skipped: <reason>` on stderr and `None`, or a
/// panic when `SCYLLA_REQUIRE_ENGINE=1`.
pub fn skip<T>(reason: &str) -> Option<T> {
    if std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() == Ok("1") {
        panic!("SCYLLA_REQUIRE_ENGINE=1 but the engine tests cannot run: {reason}");
    }
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
    None
}

/// The engine, or `None` after printing `skipped: <reason>`.
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
    skip(&reason)
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
