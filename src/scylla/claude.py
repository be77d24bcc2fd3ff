"""Finding Claude Code and running commands with a time limit.

Claude Code is usable when the ``claude`` CLI is on PATH and credentials
exist: ``$HOME/.claude/.credentials.json`` or a non-empty
``ANTHROPIC_API_KEY``. Every function takes the environment as a value so the
decision can be tested without touching the process environment.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping

TIMEOUT_EXIT_CODE = 124


@dataclass(frozen=True)
class ClaudeAvailability:
    executable: str | None
    credentials: str | None  # "credentials-file", "api-key" or None

    @property
    def available(self) -> bool:
        return self.executable is not None and self.credentials is not None

    def reason(self) -> str:
        if self.executable is None:
            return "the claude CLI is not on PATH"
        if self.credentials is None:
            return "no Claude credentials ($HOME/.claude/.credentials.json or ANTHROPIC_API_KEY)"
        return f"claude at {self.executable} with {self.credentials}"


def claude_availability(env: Mapping[str, str]) -> ClaudeAvailability:
    executable = shutil.which("claude", path=env.get("PATH", os.defpath))
    credentials = None
    home = env.get("HOME")
    if home and (Path(home) / ".claude" / ".credentials.json").is_file():
        credentials = "credentials-file"
    elif env.get("ANTHROPIC_API_KEY", "").strip():
        credentials = "api-key"
    return ClaudeAvailability(executable=executable, credentials=credentials)


@dataclass
class ProcessOutcome:
    exit_code: int
    timed_out: bool
    duration_s: float


def run_with_timeout(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    stdout_path: Path,
    stderr_path: Path,
    stdin_text: str | None = None,
) -> ProcessOutcome:
    """Run argv to completion or until timeout_s, writing its output to files.

    The child gets its own process group so that a timeout ends the whole tree
    (Claude Code starts tool subprocesses); the exit code is then 124.
    """
    started = time.monotonic()
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            if stdin_text is not None:
                process.communicate(stdin_text.encode("utf-8"), timeout=timeout_s)
            else:
                process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return ProcessOutcome(TIMEOUT_EXIT_CODE, True, time.monotonic() - started)
        except BaseException:
            _kill_group(process)
            raise
    return ProcessOutcome(process.returncode, False, time.monotonic() - started)


def _kill_group(process: subprocess.Popen) -> None:
    # SIGTERM first so Claude Code can flush its output, then SIGKILL for
    # anything in the group that is still alive.
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
