//! Exit codes and the error kinds that choose them.
//!
//! 0: success. 1: the task ran and its own check or job failed (a failed build,
//! lint findings, an unhealthy container). 2: the task could not run as asked
//! (bad flags or input, a missing engine or file). 130 / 143: stopped by SIGINT /
//! SIGTERM. A container's own exit code is passed through unchanged by the tasks
//! that run one.

use std::fmt;

/// Exit code for a task that failed on its own terms.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for usage and environment errors.
pub const EXIT_USAGE: i32 = 2;

/// An error the user fixes by changing the input or the machine: exits 2.
///
/// Build it with [`usage`]; add context on top as usual, `main` still finds it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage or environment error (exit 2) with a message that says what to do.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Work cut short by a signal, with the shell's exit code for it (130 for SIGINT,
/// 143 for SIGTERM). Build it with [`interrupted`].
#[derive(Debug)]
pub struct Interrupted {
    pub exit_code: i32,
    pub message: String,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}

/// An error for work a signal stopped; it exits with `exit_code`.
pub fn interrupted(exit_code: i32, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Interrupted { exit_code, message: message.into() })
}

/// The exit code an error maps to: a signal's code if a cause is [`Interrupted`],
/// else 2 if any cause is a [`UsageError`], else 1.
pub fn exit_code_for(error: &anyhow::Error) -> i32 {
    if let Some(stopped) = error.chain().find_map(|cause| cause.downcast_ref::<Interrupted>()) {
        stopped.exit_code
    } else if error.chain().any(|cause| cause.is::<UsageError>()) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

/// How a task that did its work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the task's check found a problem (findings, unhealthy, stale pins).
    Failure,
    /// A code passed through from a container or an external tool.
    Code(i32),
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => EXIT_FAILURE,
            Outcome::Code(code) => code,
        }
    }
}
