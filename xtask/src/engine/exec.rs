//! The only place that spawns processes. Every engine command passes through
//! here, so echoing, `--dry-run` and signal handling live in one spot.
//!
//! Queries run even under `--dry-run` (the plan needs their answers); actions are
//! printed to stdout instead of run. Commands are echoed to stderr with `-v`
//! only: a `docker run` line is hundreds of characters that would push the
//! messages that matter off the screen.

use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use camino::Utf8Path;
use xshell::{cmd, Shell};

use super::{Effect, Engine, EngineCommand};
use crate::context::Context;
use crate::output;

/// What a captured command returned.
#[derive(Debug)]
pub struct CommandOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    /// The exit code, with death by signal N reported as 128 + N like a shell.
    pub fn code(&self) -> i32 {
        exit_code(self.status)
    }
}

/// A shell's view of an exit status: the code, or 128 + the signal number.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Whether `command` will run, or (an action under `--dry-run`) only be printed.
/// The one place that reads `--dry-run` for engine commands: tasks act on the
/// answers below (`Acted::Printed`, `Ran::Printed`, `Launched::Printed`) or ask
/// this, for a precondition of running (a terminal to attach).
pub fn will_run(ctx: &Context, command: &EngineCommand) -> bool {
    !(ctx.dry_run && command.effect == Effect::Action)
}

fn announce(ctx: &Context, engine: &Engine, command: &EngineCommand) -> bool {
    let rendered = command.render(engine.program_str());
    if !will_run(ctx, command) {
        output::result_line(&rendered);
        return false;
    }
    output::detail(ctx, &format!("$ {rendered}"));
    true
}

// The one spawn point: the only `cmd!` outside tests.
#[allow(clippy::disallowed_macros)]
fn to_xshell<'a>(sh: &'a Shell, engine: &Engine, command: &'a EngineCommand) -> xshell::Cmd<'a> {
    let program = engine.program_str();
    let mut xcmd = cmd!(sh, "{program}").args(&command.args).quiet().ignore_status();
    for (name, value) in &command.env {
        xcmd = xcmd.env(name, value);
    }
    if let Some(bytes) = &command.stdin {
        // The stream may carry credentials: keep the argv out of xshell's errors.
        xcmd = xcmd.stdin(bytes).secret();
    }
    xcmd
}

fn shell() -> Result<Shell> {
    Shell::new().context("cannot set up the command runner")
}

fn spawn_error(
    engine: &Engine,
    command: &EngineCommand,
    error: impl std::fmt::Display,
) -> anyhow::Error {
    anyhow!(
        "cannot start `{} {}`: {error}",
        engine.program_str(),
        command.args.first().map(String::as_str).unwrap_or("")
    )
}

/// Runs a command and captures its output. Under `--dry-run` an action is only
/// printed and reported as a success with empty output.
pub fn output(ctx: &Context, engine: &Engine, command: &EngineCommand) -> Result<CommandOutput> {
    if !announce(ctx, engine, command) {
        return Ok(CommandOutput {
            status: success_status(),
            stdout: String::new(),
            stderr: String::new(),
        });
    }
    let sh = shell()?;
    let out =
        to_xshell(&sh, engine, command).output().map_err(|e| spawn_error(engine, command, e))?;
    Ok(CommandOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs a command and returns its stdout; a non-zero status is the error
/// `cannot {what}: {its stderr}`.
pub fn checked(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
    what: &str,
) -> Result<String> {
    let out = output(ctx, engine, command)?;
    if !out.status.success() {
        return Err(anyhow!("cannot {what}: {}", out.stderr.trim()));
    }
    Ok(out.stdout)
}

/// What an action did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    /// It ran and exited 0; its stdout.
    Ran(String),
    /// An action under `--dry-run`: printed, not run, so nothing exists or changed.
    Printed,
}

/// Runs an action like [`checked`], and says whether it ran or was only printed:
/// for the steps whose answer the rest of the task depends on (a container that
/// now exists, a digest the push returned).
pub fn act(ctx: &Context, engine: &Engine, command: &EngineCommand, what: &str) -> Result<Acted> {
    if !will_run(ctx, command) {
        announce(ctx, engine, command);
        return Ok(Acted::Printed);
    }
    checked(ctx, engine, command, what).map(Acted::Ran)
}

/// Runs a helper program other than the engine (a linter the task can use when it is
/// installed) and captures its output. It only reads, so it runs under `--dry-run` too,
/// echoed like a query with `-v`.
#[allow(clippy::disallowed_macros)] // the spawn point, for programs other than the engine
pub fn tool_output(ctx: &Context, program: &Utf8Path, args: &[String]) -> Result<CommandOutput> {
    output::detail(ctx, &format!("$ {program} {}", output::render_argv(args)));
    let sh = shell()?;
    let out = cmd!(sh, "{program}")
        .args(args)
        .quiet()
        .ignore_status()
        .output()
        .map_err(|e| anyhow!("cannot start `{program}`: {e}"))?;
    Ok(CommandOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs a command and captures its stdout as bytes (a tar stream, say), with
/// stderr as text. Under `--dry-run` an action is only printed.
pub fn output_bytes(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
) -> Result<(ExitStatus, Vec<u8>, String)> {
    if !announce(ctx, engine, command) {
        return Ok((success_status(), Vec::new(), String::new()));
    }
    let sh = shell()?;
    let out =
        to_xshell(&sh, engine, command).output().map_err(|e| spawn_error(engine, command, e))?;
    Ok((out.status, out.stdout, String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// What `supervised` tells its `on_spawn` callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launched {
    /// The engine process runs.
    Running,
    /// An action under `--dry-run`: printed, not run, so there is nothing to wait for.
    Printed,
}

/// Whether a command ran, and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    Exited(i32),
    /// An action under `--dry-run`: printed, not run.
    Printed,
}

impl Ran {
    /// Ran and exited 0, or was only printed.
    pub fn succeeded(self) -> bool {
        matches!(self, Ran::Exited(0) | Ran::Printed)
    }

    /// The exit code, 0 when it was only printed.
    pub fn code(self) -> i32 {
        match self {
            Ran::Exited(code) => code,
            Ran::Printed => 0,
        }
    }
}

/// Runs a command with its output streamed to the user's stderr (its stdout
/// too: our stdout carries only results). A signal `watch` sees is passed on
/// to the command, which ends as it does on Ctrl-C.
pub fn stream(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
    watch: &SignalWatch,
) -> Result<Ran> {
    if !announce(ctx, engine, command) {
        return Ok(Ran::Printed);
    }
    let sh = shell()?;
    let mut process = std::process::Command::from(to_xshell(&sh, engine, command));
    if command.stdin.is_some() {
        // xshell feeds stdin itself only in run/output; streamed commands with
        // input are not needed and would need a writer thread.
        return Err(anyhow!("internal: streamed commands cannot take stdin bytes"));
    }
    process.stdin(std::process::Stdio::null());
    process.stdout(stderr_as_stdio()?);
    let mut child = process.spawn().map_err(|e| spawn_error(engine, command, e))?;
    let mut forward = Forward::default();
    let status = loop {
        if let Some(status) = child.try_wait().context("lost track of the engine process")? {
            break status;
        }
        forward.check(watch, child.id());
        std::thread::sleep(Duration::from_millis(25));
    };
    Ok(Ran::Exited(exit_code(status)))
}

/// Passes the first signal a task received on to its child, once: a Ctrl-C at
/// the terminal reaches the child itself, but `kill PID` or `timeout` signal
/// only this process, and the child would go on (a build would still tag its image).
#[derive(Default)]
struct Forward {
    done: bool,
}

impl Forward {
    fn check(&mut self, watch: &SignalWatch, pid: u32) {
        if self.done {
            return;
        }
        if let Some(signal) = watch.received() {
            self.done = true;
            let name = match signal {
                Signal::Interrupt => "INT",
                Signal::Terminate => "TERM",
            };
            // The spawn point for `kill`: std has no way to send a signal but SIGKILL.
            #[allow(clippy::disallowed_methods)]
            let _ = std::process::Command::new("kill")
                .args(["-s", name, &pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Runs a command and hands each line of its stdout and stderr to `on_line`
/// as it comes (the two interleaved in arrival order). For builders, whose
/// output is turned into a short progress display.
pub fn lines(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
    watch: &SignalWatch,
    on_line: &mut dyn FnMut(&str),
) -> Result<Ran> {
    use std::io::BufRead as _;
    if !announce(ctx, engine, command) {
        return Ok(Ran::Printed);
    }
    if command.stdin.is_some() {
        return Err(anyhow!("internal: line-read commands cannot take stdin bytes"));
    }
    let sh = shell()?;
    let mut process = std::process::Command::from(to_xshell(&sh, engine, command));
    process.stdin(std::process::Stdio::null());
    process.stdout(std::process::Stdio::piped());
    process.stderr(std::process::Stdio::piped());
    let mut child = process.spawn().map_err(|e| spawn_error(engine, command, e))?;
    let (sender, receiver) = mpsc::channel::<String>();
    let stdout = child.stdout.take().context("internal: no stdout pipe")?;
    let stderr = child.stderr.take().context("internal: no stderr pipe")?;
    let readers: Vec<Box<dyn std::io::Read + Send>> = vec![Box::new(stdout), Box::new(stderr)];
    for reader in readers {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(reader).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    let mut forward = Forward::default();
    loop {
        match receiver.recv_timeout(Duration::from_millis(25)) {
            Ok(line) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        forward.check(watch, child.id());
    }
    let status = child.wait().map_err(|e| spawn_error(engine, command, e))?;
    Ok(Ran::Exited(exit_code(status)))
}

fn stderr_as_stdio() -> Result<std::process::Stdio> {
    use std::os::fd::AsFd;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().context("cannot duplicate stderr")?;
    Ok(std::process::Stdio::from(fd))
}

/// Runs a command attached to the user's terminal (stdin included), for
/// interactive shells. Returns its exit code.
pub fn interactive(ctx: &Context, engine: &Engine, command: &EngineCommand) -> Result<i32> {
    if !announce(ctx, engine, command) {
        return Ok(0);
    }
    let sh = shell()?;
    let mut process = std::process::Command::from(to_xshell(&sh, engine, command));
    process.stdin(std::process::Stdio::inherit());
    let status = process.status().map_err(|e| spawn_error(engine, command, e))?;
    Ok(exit_code(status))
}

/// Starts a command in the background and sends each line of its stdout to
/// the returned channel as it comes (stdin and stderr are closed); the channel
/// disconnects when the command ends. `None` under `--dry-run` for an action.
pub fn background_lines(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
) -> Result<Option<mpsc::Receiver<String>>> {
    use std::io::BufRead as _;
    if !announce(ctx, engine, command) {
        return Ok(None);
    }
    let sh = shell()?;
    let mut process = std::process::Command::from(to_xshell(&sh, engine, command));
    process.stdin(std::process::Stdio::null());
    process.stdout(std::process::Stdio::piped());
    process.stderr(std::process::Stdio::null());
    // Its own process group: a Ctrl-C at the terminal goes to the foreground
    // group and must not end it before the container has ended.
    std::os::unix::process::CommandExt::process_group(&mut process, 0);
    let mut child = process.spawn().map_err(|e| spawn_error(engine, command, e))?;
    let stdout = child.stdout.take().context("internal: no stdout pipe")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
        let _ = child.wait();
    });
    Ok(Some(receiver))
}

fn success_status() -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(0)
}

/// A termination signal the task was asked to stop by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// The conventional exit code after this signal: 130 for SIGINT, 143 for SIGTERM.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// What the task was, in messages: `interrupted` or `terminated`.
    pub fn past_tense(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupted",
            Signal::Terminate => "terminated",
        }
    }

    /// `SIGINT` or `SIGTERM` (SIGHUP is reported as SIGTERM: it ends the task the same way).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// SIGINT/SIGTERM/SIGHUP turned into a flag the task polls, so that it can stop
/// its containers and clean up before exiting instead of dying mid-way.
#[derive(Clone)]
pub struct SignalWatch {
    received: Arc<AtomicUsize>,
}

impl SignalWatch {
    /// Installs the handlers (for the rest of the process's life).
    pub fn install() -> Result<SignalWatch> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let received = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            signal_hook::flag::register_usize(signal, Arc::clone(&received), signal as usize)
                .context("cannot install the signal handlers")?;
        }
        Ok(SignalWatch { received })
    }

    /// The signal received so far, if any.
    pub fn received(&self) -> Option<Signal> {
        use signal_hook::consts::SIGINT;
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            n if n == SIGINT as usize => Some(Signal::Interrupt),
            _ => Some(Signal::Terminate),
        }
    }

    /// Sleeps for `duration`, waking within 50 ms of a signal; returns the
    /// signal received by then, if any.
    pub fn sleep(&self, duration: Duration) -> Option<Signal> {
        let until = std::time::Instant::now() + duration;
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            if left.is_zero() || self.received().is_some() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        self.received()
    }
}

/// Runs a long command (attached to the terminal when `interactive`) while
/// watching for signals; calls `on_spawn` once the command runs (to deliver
/// into the started container), and on the first signal calls `on_signal`
/// once (which stops the container) and keeps waiting for the command to end.
/// Returns the command's exit code and the signal, if one came.
pub fn supervised(
    ctx: &Context,
    engine: &Engine,
    command: &EngineCommand,
    interactive: bool,
    watch: &SignalWatch,
    on_spawn: &mut dyn FnMut(Launched),
    on_signal: &mut dyn FnMut(Signal),
) -> Result<(i32, Option<Signal>)> {
    if !announce(ctx, engine, command) {
        on_spawn(Launched::Printed);
        return Ok((0, None));
    }
    let sh = shell()?;
    let mut process = std::process::Command::from(to_xshell(&sh, engine, command));
    if !interactive {
        process.stdin(std::process::Stdio::null());
    }
    let mut child = process.spawn().map_err(|e| spawn_error(engine, command, e))?;
    on_spawn(Launched::Running);
    // A waiter thread lets the loop wake the moment the child ends, while still
    // checking for signals every few milliseconds.
    let (sender, receiver) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = sender.send(child.wait());
    });
    let mut signal = None;
    let status = loop {
        match receiver.recv_timeout(Duration::from_millis(25)) {
            Ok(status) => break status.context("lost track of the engine process")?,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(anyhow!("lost track of the engine process"));
            }
        }
        if signal.is_none() {
            if let Some(received) = watch.received() {
                signal = Some(received);
                on_signal(received);
            }
        }
    };
    let _ = waiter.join();
    Ok((exit_code(status), signal.or_else(|| watch.received())))
}
