"""Token and cost figures from Claude Code's output.

``claude --print --output-format stream-json --verbose`` writes one JSON event
per line: a ``system`` event (subtype ``init``), ``assistant`` and ``user``
events carrying messages, and a final ``result`` event with ``total_cost_usd``,
``duration_ms``, ``num_turns``, ``is_error`` and ``usage`` (``input_tokens``,
``output_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``).
``--output-format json`` writes that ``result`` event alone.

Provenance comes from the same events: the ``init`` event names the CLI's
``claude_code_version`` and the ``model`` it resolved; the ``result`` event
holds the ``session_id``, ``num_turns``, ``duration_ms``, ``subtype`` and, when
the API refused the work, ``api_error_status`` / ``api_error_type`` with the
CLI's own message in ``result``. When no answer came at all (a refused
connection, an unknown host) ``api_error_status`` is null and ``api_error``
names the kind (``connection_failed`` in Claude Code 2.1.332). Such a result
event still has ``subtype`` ``success``: only ``is_error`` says it failed. ``system`` events of subtype ``api_retry``
(``error_status``, ``error``) say that the CLI is retrying a failed request.

When the stream ends without a ``result`` event (a timeout, a crash) the token
counts are summed from the assistant messages' ``usage`` (each message id
counted once) and the cost is unknown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass
class TokenStats:
    input: int = 0
    output: int = 0
    cache_creation: int = 0
    cache_read: int = 0

    @property
    def total_input(self) -> int:
        return self.input + self.cache_creation + self.cache_read

    @property
    def cache_efficiency(self) -> float | None:
        """Share of all input tokens read from the prompt cache (None without input)."""
        if self.total_input == 0:
            return None
        return round(self.cache_read / self.total_input, 6)

    def add(self, other: TokenStats) -> TokenStats:
        return TokenStats(
            input=self.input + other.input,
            output=self.output + other.output,
            cache_creation=self.cache_creation + other.cache_creation,
            cache_read=self.cache_read + other.cache_read,
        )

    def to_json(self) -> dict:
        data = asdict(self)
        data["total_input"] = self.total_input
        return data

    @classmethod
    def from_usage(cls, usage: object) -> TokenStats:
        if not isinstance(usage, dict):
            return cls()
        return cls(
            input=_count(usage.get("input_tokens")),
            output=_count(usage.get("output_tokens")),
            cache_creation=_count(usage.get("cache_creation_input_tokens")),
            cache_read=_count(usage.get("cache_read_input_tokens")),
        )


@dataclass
class StreamSummary:
    tokens: TokenStats
    cost_usd: float | None
    result_text: str | None
    is_error: bool | None
    num_turns: int | None
    session_id: str | None
    has_result_event: bool
    events: int
    unparsed_lines: int
    cli_version: str | None = None
    reported_model: str | None = None
    subtype: str | None = None
    api_error_status: int | None = None
    api_error_type: str | None = None
    api_error_kind: str | None = None
    errors: tuple[str, ...] = ()
    duration_ms: int | None = None
    api_retries: int = 0
    last_retry_status: int | None = None
    models_used: tuple[str, ...] = ()

    def cli_record(self) -> dict:
        """The CLI's own account of the run, as kept in result.json."""
        return {
            "version": self.cli_version,
            "model": self.reported_model,
            "session_id": self.session_id,
            "num_turns": self.num_turns,
            "duration_ms": self.duration_ms,
            "subtype": self.subtype,
            "is_error": self.is_error,
            "api_error_status": self.api_error_status,
            "api_error_type": self.api_error_type,
            "api_retries": self.api_retries,
        }

    def error_reason(self) -> str | None:
        """One line from the CLI's result event when it reports an error, else None."""
        if not self.is_error:
            return None
        message = (self.result_text or "; ".join(self.errors) or "").strip()
        message = " ".join(message.split())[:300]
        if self.api_error_status is not None:
            kind = f" {self.api_error_type}" if self.api_error_type else ""
            return f"API error {self.api_error_status}{kind}: {message or 'no message'}"
        if self.subtype == "success" and message:
            # The CLI's own words ("API Error: Can't reach the API server ..."); the
            # subtype of a failed request is "success", which would contradict them.
            return message
        subtype = self.subtype if self.subtype and self.subtype != "success" else "error"
        return f"{subtype}: {message or 'no message'}"


def parse_stream(text: str) -> StreamSummary:
    """Summarize a stream-json transcript (or a single json result object)."""
    result_event = None
    init_event: dict = {}
    message_usage: dict[str, TokenStats] = {}
    anonymous = TokenStats()
    events = 0
    unparsed = 0
    retries = 0
    last_retry_status = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            unparsed += 1
            continue
        if not isinstance(event, dict):
            unparsed += 1
            continue
        events += 1
        kind = event.get("type")
        if kind == "result":
            result_event = event
        elif kind == "system" and event.get("subtype") == "init":
            init_event = event
        elif kind == "system" and event.get("subtype") == "api_retry":
            retries += 1
            last_retry_status = _int_or_none(event.get("error_status"))
        elif kind == "assistant":
            message = event.get("message")
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                usage = TokenStats.from_usage(message["usage"])
                message_id = message.get("id")
                if isinstance(message_id, str):
                    message_usage[message_id] = usage
                else:
                    anonymous = anonymous.add(usage)
    provenance = {
        "cli_version": _str_or_none(init_event.get("claude_code_version")),
        "reported_model": _str_or_none(init_event.get("model")),
        "api_retries": retries,
        "last_retry_status": last_retry_status,
    }
    if result_event is None:
        tokens = anonymous
        for usage in message_usage.values():
            tokens = tokens.add(usage)
        return StreamSummary(tokens, None, None, None, None,
                             _str_or_none(init_event.get("session_id")), False, events, unparsed,
                             **provenance)
    cost = result_event.get("total_cost_usd")
    result_text = result_event.get("result")
    errors = result_event.get("errors")
    model_usage = result_event.get("modelUsage")
    return StreamSummary(
        tokens=TokenStats.from_usage(result_event.get("usage")),
        cost_usd=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        result_text=result_text if isinstance(result_text, str) else None,
        is_error=bool(result_event.get("is_error")) if "is_error" in result_event else None,
        num_turns=_int_or_none(result_event.get("num_turns")),
        session_id=_str_or_none(result_event.get("session_id")),
        has_result_event=True,
        events=events,
        unparsed_lines=unparsed,
        subtype=_str_or_none(result_event.get("subtype")),
        api_error_status=_int_or_none(result_event.get("api_error_status")),
        api_error_type=_str_or_none(result_event.get("api_error_type")),
        api_error_kind=_str_or_none(result_event.get("api_error")),
        errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
        duration_ms=_int_or_none(result_event.get("duration_ms")),
        models_used=tuple(sorted(model_usage)) if isinstance(model_usage, dict) else (),
        **provenance,
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(0, int(value))
