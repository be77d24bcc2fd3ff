//! scylla-xtask: build, run and check the `scylla-runner` container.
//!
//! The binary (`main.rs`) only parses flags and dispatches; every task lives in a
//! module named after it, and every process is spawned by [`engine`].
//!
//! # xshell version
//! Pinned to 0.2.7, the stable release. Two of its properties shape the code:
//! `Cmd::run()` gives the child an empty, non-terminal stdin, so interactive
//! commands (`shell`, `run-experiment -it`) convert the command with
//! `std::process::Command::from(cmd)` and inherit stdio; and `Cmd::secret()`
//! keeps a command's argv out of xshell's own error messages. 0.3.0-pre.2 was not
//! chosen: its `env_remove`/`env_clear` do not remove inherited variables.

pub mod build_context;
pub mod container;
pub mod context;
pub mod docker_build;
pub mod dockerfile;
pub mod engine;
pub mod error;
pub mod healthcheck;
pub mod image;
pub mod lint_dockerfile;
pub mod output;
pub mod report;
pub mod run_experiment;
pub mod shell;
