"""Fail fast: ask each model for "OK" before the first unit.

Upstream's check, kept: ``claude --model M --print --output-format json "Say
'OK'"`` must exit 0 with ``"is_error": false``. The first try runs with
``CLAUDE_CODE_MAX_RETRIES=0``, so an invalid key (which the CLI would retry for
about three minutes), a refused permission, an unknown model or an exhausted
quota is known within seconds and stops the experiment with the CLI's own
reason (exit 2). A transient answer (429 rate limit, 5xx, 529 overloaded, no
connection) is tried once more with the CLI's own retries, under a time limit.

The same statuses decide, during a run, when an agent's error is the kind that
will repeat for every unit (:func:`is_unrecoverable`).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping

from .claude import run_with_timeout
from .errors import ApiUnusable
from .stream_json import StreamSummary, parse_stream

PROBE_PROMPT = "Say 'OK'"
FIRST_TRY_TIMEOUT = 60.0
RETRY_TIMEOUT = 120.0
UNRECOVERABLE_STATUSES = frozenset({400, 401, 403, 404})
_QUOTA_WORDS = ("quota", "usage limit", "credit balance", "billing", "spend limit")

log = logging.getLogger("scylla")


@dataclass(frozen=True)
class ProbeTarget:
    role: str  # "agent" or "judge"
    model: str


def is_unrecoverable(status: int | None, message: str | None) -> bool:
    """Key, permission, unknown model or quota: retrying cannot help."""
    if status in UNRECOVERABLE_STATUSES:
        return True
    text = (message or "").lower()
    return status == 429 and any(word in text for word in _QUOTA_WORDS)


def probe_models(executable: str, targets: list[ProbeTarget], env: Mapping[str, str]) -> None:
    """Raise :class:`ApiUnusable` unless every model answers."""
    done: set[str] = set()
    for target in targets:
        if target.model in done:
            continue
        started = time.monotonic()
        answer = _ask(executable, target.model, env, {"CLAUDE_CODE_MAX_RETRIES": "0"},
                      FIRST_TRY_TIMEOUT)
        if answer.failure is not None and not is_unrecoverable(answer.status, answer.failure):
            log.info("probe: the %s's model %s answered %s; trying again with retries",
                     target.role, target.model, answer.failure)
            answer = _ask(executable, target.model, env, {}, RETRY_TIMEOUT)
        if answer.failure is not None:
            raise ApiUnusable(
                f"the {target.role}'s model {target.model} cannot be used: {answer.failure} "
                f"(checked before the first unit with: claude --model {target.model} --print "
                f"--output-format json \"{PROBE_PROMPT}\")"
            )
        done.add(target.model)
        log.info("probe: the %s's model %s answered in %.1fs%s", target.role, target.model,
                 time.monotonic() - started,
                 f" ({', '.join(answer.models)})" if answer.models else "")


@dataclass
class _Answer:
    failure: str | None
    status: int | None = None
    models: tuple[str, ...] = ()


def _ask(executable: str, model: str, env: Mapping[str, str], extra_env: dict,
         timeout: float) -> _Answer:
    argv = [executable, "--model", model, "--print", "--output-format", "json", PROBE_PROMPT]
    with tempfile.TemporaryDirectory(prefix="scylla-probe-") as scratch:
        directory = Path(scratch)
        stdout, stderr = directory / "out.json", directory / "err.log"
        outcome = run_with_timeout(argv, directory, {**env, **extra_env}, timeout, stdout, stderr)
        summary = parse_stream(stdout.read_text(encoding="utf-8", errors="replace"))
        err_text = stderr.read_text(encoding="utf-8", errors="replace")
    if outcome.timed_out:
        return _Answer(f"no answer within {timeout:g}s")
    return _judge_answer(outcome.exit_code, summary, err_text)


def _judge_answer(exit_code: int, summary: StreamSummary, stderr: str) -> _Answer:
    reason = summary.error_reason()
    if reason is not None:
        return _Answer(reason, summary.api_error_status, summary.models_used)
    if not summary.has_result_event:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        tail = " | ".join(lines[-3:])[-300:] or "nothing on stderr"
        return _Answer(f"claude exited {exit_code} without a result: {tail}")
    if exit_code != 0:
        return _Answer(f"claude exited {exit_code}")
    return _Answer(None, None, summary.models_used)
