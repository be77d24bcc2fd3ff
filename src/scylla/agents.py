"""The agents under evaluation: ``oracle`` and ``claude-code``.

``oracle`` copies the fixture's reference solution into the workspace. It
proves the harness end to end without a model: on a sound fixture it scores
1.0.

``claude-code`` runs ``claude --model M --print --output-format stream-json
--verbose --dangerously-skip-permissions [tier extra args] <prompt>`` in the
workspace under the task's timeout and reads tokens, cost and provenance (CLI
version, reported model, session id, turns) from the stream. When the CLI's
result event reports an API error (``api_error_status``) or an execution error,
the run is an error with the CLI's own reason and is not judged: the judge's
failure that would follow says nothing about the agent.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping

from .claude import ClaudeAvailability, claude_availability, run_with_timeout
from .errors import FixtureError, UsageError
from .fixture import Fixture
from .probe import is_unrecoverable
from .stream_json import TokenStats, parse_stream
from .tiers import TierSettings

AGENT_CHOICES = ("auto", "claude-code", "oracle")
DEFAULT_AGENT_MODEL = "sonnet"
RETRY_LIMIT = 3


class AgentError(RuntimeError):
    """The agent could not work on the task at all."""


@dataclass
class AgentRun:
    exit_code: int
    timed_out: bool
    duration_s: float
    tokens: TokenStats = field(default_factory=TokenStats)
    cost_usd: float | None = 0.0
    model: str | None = None
    detail: str = ""
    cli: dict | None = None  # the CLI's own account: version, model, session, turns
    error: str | None = None  # the CLI's one-line reason when it reported an error
    api_error_status: int | None = None


@dataclass(frozen=True)
class AgentChoice:
    name: str  # "oracle" or "claude-code"
    reason: str


def choose_agent(requested: str, env: Mapping[str, str]) -> AgentChoice:
    """Resolve --agent; auto falls back to oracle when Claude Code is unusable."""
    availability = claude_availability(env)
    if requested == "oracle":
        return AgentChoice("oracle", "requested with --agent oracle")
    if requested == "claude-code":
        if not availability.available:
            raise UsageError(f"--agent claude-code needs Claude Code, but {availability.remedy()}")
        return AgentChoice("claude-code", "requested with --agent claude-code")
    if requested != "auto":
        raise UsageError(f"unknown agent {requested!r}: choose one of {', '.join(AGENT_CHOICES)}")
    if availability.available:
        return AgentChoice("claude-code", f"auto: {availability.reason()}")
    return AgentChoice("oracle", f"auto: {availability.reason()}, so the oracle agent runs")


def check_agent_fixture(agent: AgentChoice, fixture: Fixture) -> None:
    """Fail before any run when the fixture cannot serve the agent."""
    if agent.name != "oracle":
        return
    reference = fixture.reference_solution
    if reference is None:
        raise FixtureError(
            f"the oracle agent ({agent.reason}) needs a reference solution, but "
            f"{fixture.root / 'test.yaml'} sets no 'reference_solution' directory"
        )
    if not reference.is_dir():
        raise FixtureError(f"the oracle agent's reference solution is missing: {reference}")


def run_oracle(fixture: Fixture, workspace: Path, run_dir: Path) -> AgentRun:
    started = time.monotonic()
    reference = fixture.reference_solution
    assert reference is not None  # checked by check_agent_fixture before any run
    copied = []
    for source in sorted(reference.rglob("*")):
        target = workspace / source.relative_to(reference)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied.append(source.relative_to(reference).as_posix())
    log = run_dir / "agent.log"
    log.write_text(
        "oracle agent: copied the reference solution\n"
        + "".join(f"  {path}\n" for path in copied),
        encoding="utf-8",
    )
    return AgentRun(
        exit_code=0,
        timed_out=False,
        duration_s=time.monotonic() - started,
        cost_usd=0.0,
        detail=f"copied {len(copied)} file(s) from {reference.name}/",
    )


def claude_agent_argv(executable: str, model: str, settings: TierSettings, prompt: str) -> list[str]:
    return [
        executable,
        "--model",
        model,
        "--print",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        *settings.extra_args,
        prompt,
    ]


def run_claude_code(
    fixture: Fixture,
    settings: TierSettings,
    workspace: Path,
    run_dir: Path,
    env: Mapping[str, str],
    model_override: str | None,
) -> AgentRun:
    availability: ClaudeAvailability = claude_availability(env)
    if availability.executable is None:
        raise RuntimeError(f"cannot run Claude Code: {availability.reason()}")
    model = model_override or settings.model or fixture.model or DEFAULT_AGENT_MODEL
    argv = claude_agent_argv(availability.executable, model, settings, fixture.prompt)
    stream_path = run_dir / "agent-stream.jsonl"
    stderr_path = run_dir / "agent-stderr.log"
    retries = RetryWatch(stream_path)
    outcome = run_with_timeout(
        argv, workspace, env, fixture.timeout_seconds, stream_path, stderr_path,
        watch=retries.check,
    )
    summary = parse_stream(stream_path.read_text(encoding="utf-8", errors="replace"))
    if outcome.stopped is not None:
        cli = summary.cli_record()
        cli["api_error_status"] = retries.status
        return AgentRun(
            exit_code=outcome.exit_code, timed_out=False, duration_s=outcome.duration_s,
            tokens=summary.tokens, cost_usd=summary.cost_usd, model=model,
            detail=f"{summary.events} stream event(s); stopped while the CLI retried",
            cli=cli, error=outcome.stopped, api_error_status=retries.status,
        )
    reason = summary.error_reason()
    if not outcome.timed_out and reason is not None and not _worked_on_task(summary):
        return AgentRun(
            exit_code=outcome.exit_code, timed_out=False, duration_s=outcome.duration_s,
            tokens=summary.tokens, cost_usd=summary.cost_usd, model=model,
            detail=f"{summary.events} stream event(s); the CLI reported an error",
            cli=summary.cli_record(), error=reason, api_error_status=summary.api_error_status,
        )
    if not outcome.timed_out and outcome.exit_code != 0 and not summary.has_result_event:
        # No result event and a failure exit: Claude Code never worked on the task
        # (bad credentials, a refused flag). Judging the untouched workspace would
        # record a meaningless score, so the run is an error and is redone next time.
        raise AgentError(
            f"claude exited {outcome.exit_code} without a result: {_tail(stderr_path)}"
        )
    detail = f"{summary.events} stream event(s)"
    if outcome.timed_out:
        detail += f"; stopped after the task timeout of {fixture.timeout_seconds:g}s"
    elif not summary.has_result_event:
        detail += "; the stream has no final result event, so the cost is unknown"
    return AgentRun(
        exit_code=outcome.exit_code,
        timed_out=outcome.timed_out,
        duration_s=outcome.duration_s,
        tokens=summary.tokens,
        cost_usd=summary.cost_usd,
        model=model,
        detail=detail,
        cli=summary.cli_record(),
    )


class RetryWatch:
    """Reads the agent's stream while it runs: the CLI retries even a 401 for minutes.

    After :data:`RETRY_LIMIT` ``api_retry`` events in a row with a status that
    retrying cannot fix (see :func:`scylla.probe.is_unrecoverable`), the agent
    is stopped with that status and the CLI's own error name.
    """

    def __init__(self, stream_path: Path) -> None:
        self.stream_path = stream_path
        self.offset = 0
        self.pending = b""
        self.count = 0
        self.status: int | None = None
        self.error = ""

    def check(self) -> str | None:
        try:
            with open(self.stream_path, "rb") as stream:
                stream.seek(self.offset)
                data = stream.read()
        except OSError:
            return None
        self.offset += len(data)
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            self._see(line)
        if self.count >= RETRY_LIMIT:
            return (f"API error {self.status} {self.error}: the CLI was still retrying after "
                    f"{self.count} attempts, so the agent was stopped")
        return None

    def _see(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict) or event.get("type") != "system":
            return
        if event.get("subtype") != "api_retry":
            return
        status = event.get("error_status")
        error = str(event.get("error") or "")
        if isinstance(status, int) and is_unrecoverable(status, error):
            self.count = self.count + 1 if status == self.status else 1
            self.status, self.error = status, error
        else:
            self.count, self.status = 0, None


def _worked_on_task(summary) -> bool:
    """A result that ended the task on its own terms (out of turns or budget) is judged."""
    return summary.api_error_status is None and (summary.subtype or "").startswith(
        ("error_max_turns", "error_max_budget"))


def _tail(path: Path, limit: int = 500) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        return "(nothing on stderr)"
    lines = text.splitlines()[-3:]
    return " | ".join(lines)[-limit:]
