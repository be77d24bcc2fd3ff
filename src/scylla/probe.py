"""Fail fast: ask each model for "OK" before the first unit.

Upstream's check, kept: ``claude --model M --print --output-format json "Say
'OK'"`` must exit 0 with ``"is_error": false``. The first try runs with
``CLAUDE_CODE_MAX_RETRIES=0``, so an invalid key (which the CLI would retry for
about three minutes), a refused permission, an unknown model or an exhausted
quota is known within seconds and stops the experiment with the CLI's own
reason (exit 2). So does a connection that fails (an unknown host, a refused or
reset connection: the CLI reports ``api_error`` ``connection_failed``): the CLI
would retry it for minutes, and what fixes it is ``ANTHROPIC_BASE_URL``, a proxy
setting or the network, which the message names. A transient answer (429 rate
limit, 5xx, 529 overloaded) is tried once more with the CLI's own retries, under
a time limit; that try runs with ``stream-json`` so that its ``api_retry``
events give a progress line every :data:`PROGRESS_INTERVAL` seconds and the
last failure for the error when no answer comes in time.

The same statuses decide, during a run, when an agent's error is the kind that
will repeat for every unit (:func:`is_unrecoverable`).
"""

from __future__ import annotations

import json
import logging
import re
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
PROGRESS_INTERVAL = 15.0
UNRECOVERABLE_STATUSES = frozenset({400, 401, 403, 404})
_QUOTA_WORDS = ("quota", "usage limit", "credit balance", "billing", "spend limit")
# How Claude Code words a request that got no answer at all (2.1.332: "API Error: Can't
# reach the API server — check your internet or DNS (ENOTFOUND)", "Connection refused
# … (ECONNREFUSED)", "Connection dropped (ECONNRESET)"), for CLIs without ``api_error``.
_CONNECTION_SIGNS = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|getaddrinfo"
    r"|can't reach the api server|connection (?:refused|reset|dropped)|\bDNS\b",
    re.IGNORECASE)
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                    "all_proxy")

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


def is_connection_failure(kind: str | None, message: str | None) -> bool:
    """The CLI got no answer at all: a wrong address, DNS, a proxy or no route."""
    return kind == "connection_failed" or bool(_CONNECTION_SIGNS.search(message or ""))


def probe_models(executable: str, targets: list[ProbeTarget], env: Mapping[str, str]) -> None:
    """Raise :class:`ApiUnusable` unless every model answers."""
    done: set[str] = set()
    for target in targets:
        if target.model in done:
            continue
        progress = _Progress(target)
        answer = _ask(executable, target.model, env, {"CLAUDE_CODE_MAX_RETRIES": "0"},
                      FIRST_TRY_TIMEOUT, progress, stream=False)
        if answer.failure is not None and _retry_may_help(answer):
            log.info("probe: asking the %s's model %s failed (%s); trying again with the "
                     "CLI's own retries, for up to %gs", target.role, target.model,
                     answer.failure, RETRY_TIMEOUT)
            first = answer
            answer = _ask(executable, target.model, env, {}, RETRY_TIMEOUT, progress, stream=True)
            if answer.timed_out:
                answer.failure += _last_failure(progress.last_retry, first)
        if answer.failure is not None:
            raise ApiUnusable(
                f"the {target.role}'s model {target.model} cannot be used: "
                f"{_explained(answer, env)} (checked before the first unit with: claude "
                f"--model {target.model} --print --output-format json \"{PROBE_PROMPT}\")"
            )
        done.add(target.model)
        log.info("probe: the %s's model %s answered in %.1fs%s", target.role, target.model,
                 time.monotonic() - progress.started,
                 f" ({', '.join(answer.models)})" if answer.models else "")


@dataclass
class _Answer:
    failure: str | None
    status: int | None = None
    models: tuple[str, ...] = ()
    kind: str | None = None  # the CLI's api_error, e.g. "connection_failed"
    timed_out: bool = False


def _retry_may_help(answer: _Answer) -> bool:
    return not (is_unrecoverable(answer.status, answer.failure)
                or is_connection_failure(answer.kind, answer.failure))


def _last_failure(last_retry: str | None, first: _Answer) -> str:
    if last_retry is not None:
        return f"; the CLI's last failure: {last_retry}"
    if not first.timed_out:
        return f"; the CLI's last failure: {first.failure}"
    return ", and the CLI reported no failure"


def _explained(answer: _Answer, env: Mapping[str, str]) -> str:
    """The failure, and for a connection that failed, where to look."""
    if not is_connection_failure(answer.kind, answer.failure):
        return answer.failure
    if env.get("ANTHROPIC_BASE_URL", "").strip():
        target = "ANTHROPIC_BASE_URL is set"
    else:
        target = "ANTHROPIC_BASE_URL is not set, so it calls api.anthropic.com"
    proxies = [name for name in _PROXY_VARIABLES if env.get(name, "").strip()]
    proxy = f"{', '.join(proxies)} is set" if proxies else "no proxy is set"
    return (f"the CLI cannot reach the API ({answer.failure}); {target} and {proxy}: check "
            "ANTHROPIC_BASE_URL, the proxy settings (HTTPS_PROXY, NO_PROXY) and the network, "
            "or, when the API is a container, give its network to cargo xtask run-experiment "
            "--network NAME")


class _Progress:
    """Follows one model's probe: a line every PROGRESS_INTERVAL, the CLI's last retry."""

    def __init__(self, target: ProbeTarget) -> None:
        self.target = target
        self.started = time.monotonic()
        self.next_line = self.started + PROGRESS_INTERVAL
        self.last_retry: str | None = None
        self.stream: Path | None = None
        self.offset = 0

    def follow(self, stream: Path | None) -> None:
        self.stream, self.offset = stream, 0

    def check(self) -> None:
        """Called by run_with_timeout every half second; never stops the probe."""
        self._read_retries()
        now = time.monotonic()
        if now < self.next_line:
            return None
        self.next_line = now + PROGRESS_INTERVAL
        retry = f"; the CLI is retrying: {self.last_retry}" if self.last_retry else ""
        log.info("probe: still waiting for the %s's model %s after %.0fs%s", self.target.role,
                 self.target.model, now - self.started, retry)
        return None

    def _read_retries(self) -> None:
        if self.stream is None:
            return
        try:
            with open(self.stream, "rb") as stream:
                stream.seek(self.offset)
                data = stream.read()
        except OSError:
            return
        complete = data.rfind(b"\n") + 1
        self.offset += complete
        for line in data[:complete].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("subtype") == "api_retry":
                self.last_retry = _retry_text(event)


def _retry_text(event: dict) -> str:
    """``attempt 3 of 10 failed: 529 overloaded``, from an ``api_retry`` event."""
    status = event.get("error_status")
    error = str(event.get("error") or "no reason given")
    reason = f"{status} {error}" if isinstance(status, int) else error
    return f"attempt {event.get('attempt', '?')} of {event.get('max_retries', '?')} failed: {reason}"


def _ask(executable: str, model: str, env: Mapping[str, str], extra_env: dict,
         timeout: float, progress: _Progress, stream: bool) -> _Answer:
    output = ["stream-json", "--verbose"] if stream else ["json"]
    argv = [executable, "--model", model, "--print", "--output-format", *output, PROBE_PROMPT]
    with tempfile.TemporaryDirectory(prefix="scylla-probe-") as scratch:
        directory = Path(scratch)
        stdout, stderr = directory / "out.json", directory / "err.log"
        progress.follow(stdout if stream else None)
        outcome = run_with_timeout(argv, directory, {**env, **extra_env}, timeout, stdout, stderr,
                                   watch=progress.check)
        progress.check()
        progress.follow(None)
        summary = parse_stream(stdout.read_text(encoding="utf-8", errors="replace"))
        err_text = stderr.read_text(encoding="utf-8", errors="replace")
    if outcome.timed_out:
        return _Answer(f"no answer within {timeout:g}s", timed_out=True)
    return _judge_answer(outcome.exit_code, summary, err_text)


def _judge_answer(exit_code: int, summary: StreamSummary, stderr: str) -> _Answer:
    reason = summary.error_reason()
    if reason is not None:
        return _Answer(reason, summary.api_error_status, summary.models_used,
                       summary.api_error_kind)
    if not summary.has_result_event:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        tail = " | ".join(lines[-3:])[-300:] or "nothing on stderr"
        return _Answer(f"claude exited {exit_code} without a result: {tail}")
    if exit_code != 0:
        return _Answer(f"claude exited {exit_code}")
    return _Answer(None, None, summary.models_used)
