"""Finding Claude Code and running commands with a time limit.

Claude Code is usable when the ``claude`` CLI is on PATH and it has a way to
authenticate, the ways Claude Code itself accepts: ``ANTHROPIC_API_KEY``,
``ANTHROPIC_AUTH_TOKEN``, ``CLAUDE_CODE_OAUTH_TOKEN``, the credentials file
``$HOME/.claude/.credentials.json`` (or ``$CLAUDE_CONFIG_DIR/.credentials.json``),
or a cloud provider (``CLAUDE_CODE_USE_BEDROCK=1`` with AWS credentials,
``CLAUDE_CODE_USE_VERTEX=1`` with Google credentials, ``CLAUDE_CODE_USE_FOUNDRY=1``
with ``ANTHROPIC_FOUNDRY_API_KEY``; or the provider's ``CLAUDE_CODE_SKIP_*_AUTH=1``
behind a gateway that authenticates). Every function takes the
environment as a value so the decision can be tested without touching the
process environment.

Every child process is started through :data:`PROCESSES`, so that Ctrl-C with
several units running (``--parallel``) ends all of them. Claude Code runs its
Bash tool's commands in a session of their own, and a command's background
processes are orphaned to init, so neither the process group nor the parent
links find them. Each child therefore carries a unique ``SCYLLA_PROCESS_TAG``
in its environment, which its descendants inherit; ending a child ends every
process whose ``/proc/PID/environ`` holds that tag.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Mapping

TIMEOUT_EXIT_CODE = 124
REBUILD_HINT = ("the image has no Claude Code: rebuild it with the CLI "
                "(`cargo xtask docker-build`; Claude Code is installed unless the build arg "
                "INSTALL_CLAUDE_CODE=0 is set), or use --agent oracle")
AUTH_HINT = ("no way to authenticate Claude Code: set ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN "
             "or CLAUDE_CODE_OAUTH_TOKEN, provide $HOME/.claude/.credentials.json, or select "
             "a cloud provider (CLAUDE_CODE_USE_BEDROCK=1 / CLAUDE_CODE_USE_VERTEX=1) with "
             "its credentials")
_TRUE = ("1", "true", "yes", "on")
# Variables that hold AWS or Google credentials (or point at them) for the cloud providers.
_AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK",
                    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
_GOOGLE_CREDENTIALS = ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE")


class Cancelled(BaseException):
    """Every unit is being stopped (Ctrl-C, SIGTERM, an early stop): unwind, record nothing."""


TAG_VARIABLE = "SCYLLA_PROCESS_TAG"
_tags = itertools.count(1)


class ProcessRegistry:
    """The running children of all units; :meth:`cancel` ends every process group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self.cancelled = False

    def start(self, argv: list[str], **options) -> subprocess.Popen:
        with self._lock:
            if self.cancelled:
                raise Cancelled()
            tag = f"{os.getpid()}-{next(_tags)}-{time.monotonic_ns()}"
            env = dict(options.pop("env", None) or os.environ)
            env[TAG_VARIABLE] = tag
            process = subprocess.Popen(argv, start_new_session=True, env=env, **options)
            process.scylla_tag = tag  # type: ignore[attr-defined]
            process.scylla_started = _start_time(process.pid)  # type: ignore[attr-defined]
            self._running.add(process)
            return process

    def finish(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(process)
            cancelled = self.cancelled
        if cancelled:
            raise Cancelled()

    def cancel(self) -> None:
        """Stop every running process group (SIGTERM, then SIGKILL after 5 s)."""
        with self._lock:
            self.cancelled = True
            running = list(self._running)
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in running:
            _signal_group(process, signal.SIGKILL)

    def reset(self) -> None:
        with self._lock:
            self.cancelled = False
            self._running.clear()


PROCESSES = ProcessRegistry()


@dataclass(frozen=True)
class ClaudeAvailability:
    executable: str | None
    credentials: str | None  # how Claude Code would authenticate, e.g. "ANTHROPIC_API_KEY"

    @property
    def available(self) -> bool:
        return self.executable is not None and self.credentials is not None

    def reason(self) -> str:
        if self.executable is None:
            return "the claude CLI is not on PATH"
        if self.credentials is None:
            return ("no Claude credentials (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, "
                    "CLAUDE_CODE_OAUTH_TOKEN, $HOME/.claude/.credentials.json or a cloud provider)")
        return f"claude at {self.executable} with {self.credentials}"

    def remedy(self) -> str:
        """What to do when Claude Code was asked for and is not usable."""
        return REBUILD_HINT if self.executable is None else AUTH_HINT


def claude_availability(env: Mapping[str, str]) -> ClaudeAvailability:
    executable = shutil.which("claude", path=env.get("PATH", os.defpath))
    return ClaudeAvailability(executable=executable, credentials=credentials_source(env))


def credentials_source(env: Mapping[str, str]) -> str | None:
    """How Claude Code would authenticate in this environment, or None."""
    def present(name: str) -> bool:
        return bool(env.get(name, "").strip())

    def enabled(name: str) -> bool:
        return env.get(name, "").strip().lower() in _TRUE

    if enabled("CLAUDE_CODE_USE_BEDROCK"):
        if enabled("CLAUDE_CODE_SKIP_BEDROCK_AUTH"):
            return "Amazon Bedrock through a gateway (CLAUDE_CODE_SKIP_BEDROCK_AUTH)"
        aws_files = [Path(env.get("HOME", "/nonexistent")) / ".aws" / name
                     for name in ("credentials", "config")]
        if any(present(name) for name in _AWS_CREDENTIALS) or any(f.is_file() for f in aws_files):
            return "Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK)"
        return None
    if enabled("CLAUDE_CODE_USE_VERTEX"):
        if enabled("CLAUDE_CODE_SKIP_VERTEX_AUTH"):
            return "Google Vertex AI through a gateway (CLAUDE_CODE_SKIP_VERTEX_AUTH)"
        adc = Path(env.get("HOME", "/nonexistent")) / ".config" / "gcloud" / \
            "application_default_credentials.json"
        if any(present(name) for name in _GOOGLE_CREDENTIALS) or adc.is_file():
            return "Google Vertex AI (CLAUDE_CODE_USE_VERTEX)"
        return None
    if enabled("CLAUDE_CODE_USE_FOUNDRY"):
        if present("ANTHROPIC_FOUNDRY_API_KEY") or enabled("CLAUDE_CODE_SKIP_FOUNDRY_AUTH"):
            return "Microsoft Foundry (CLAUDE_CODE_USE_FOUNDRY)"
        return None
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"):
        if present(name):
            return name
    config_dir = env.get("CLAUDE_CONFIG_DIR", "").strip()
    home = env.get("HOME", "").strip()
    candidates = [Path(config_dir)] if config_dir else []
    if home:
        candidates.append(Path(home) / ".claude")
    for directory in candidates:
        if (directory / ".credentials.json").is_file():
            return "the credentials file"
    return None


@dataclass
class ProcessOutcome:
    exit_code: int
    timed_out: bool
    duration_s: float
    stopped: str | None = None  # why ``watch`` ended the process early


WATCH_INTERVAL_S = 0.5


def run_with_timeout(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    stdout_path: Path,
    stderr_path: Path,
    stdin_text: str | None = None,
    watch: Callable[[], str | None] | None = None,
) -> ProcessOutcome:
    """Run argv to completion or until timeout_s, writing its output to files.

    The child gets its own process group so that a timeout ends the whole tree
    (Claude Code starts tool subprocesses); the exit code is then 124. ``watch``
    (stdin_text must be None) is called every half second; when it returns a
    reason the child is ended and the outcome says why.
    """
    started = time.monotonic()
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        process = PROCESSES.start(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            if stdin_text is not None:
                process.communicate(stdin_text.encode("utf-8"), timeout=timeout_s)
            elif watch is None:
                process.wait(timeout=timeout_s)
            else:
                stopped = _wait_watching(process, watch, started + timeout_s)
                if stopped is not None:
                    kill_group(process)
                    PROCESSES.finish(process)
                    return ProcessOutcome(process.returncode, False,
                                          time.monotonic() - started, stopped)
        except subprocess.TimeoutExpired:
            kill_group(process)
            PROCESSES.finish(process)
            return ProcessOutcome(TIMEOUT_EXIT_CODE, True, time.monotonic() - started)
        except BaseException:
            kill_group(process)
            PROCESSES.finish(process)
            raise
    # Background processes the agent left behind must not outlive its run.
    end_descendants(process)
    PROCESSES.finish(process)
    return ProcessOutcome(process.returncode, False, time.monotonic() - started)


def _wait_watching(process: subprocess.Popen, watch: Callable[[], str | None],
                   deadline: float) -> str | None:
    """Wait for the child until the deadline; a reason from ``watch`` ends the wait."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(process.args, 0)
        try:
            process.wait(timeout=min(WATCH_INTERVAL_S, remaining))
            return None
        except subprocess.TimeoutExpired:
            reason = watch()
            if reason is not None:
                return reason


def kill_group(process: subprocess.Popen) -> None:
    # SIGTERM first so Claude Code can flush its output, then SIGKILL for
    # anything in the group that is still alive.
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process, signal.SIGKILL)
    process.wait()
    end_descendants(process)


def end_descendants(process: subprocess.Popen) -> None:
    """SIGKILL what is left of a finished child's tree (its tagged processes)."""
    for _ in range(5):
        if not _signal_tagged(process, signal.SIGKILL):
            return
        time.sleep(0.05)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
    _signal_tagged(process, signum)


def _start_time(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _signal_tagged(process: subprocess.Popen, signum: int) -> int:
    """Signal every process carrying the child's tag; returns how many were found."""
    tag = getattr(process, "scylla_tag", None)
    if tag is None:
        return 0
    needle = f"{TAG_VARIABLE}={tag}".encode()
    started = getattr(process, "scylla_started", None) or 0
    found = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        # Only processes started since the child can descend from it; the others'
        # environments are never read (on a shared host that is most of them).
        start = _start_time(int(entry.name))
        if start is None or start < started:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            found += 1
            os.kill(int(entry.name), signum)
        except (OSError, ValueError):
            continue  # gone, or not ours to read
    return found
