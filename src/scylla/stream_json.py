"""Token and cost figures from Claude Code's output.

``claude --print --output-format stream-json --verbose`` writes one JSON event
per line: a ``system`` event (subtype ``init``), ``assistant`` and ``user``
events carrying messages, and a final ``result`` event with ``total_cost_usd``,
``duration_ms``, ``num_turns``, ``is_error`` and ``usage`` (``input_tokens``,
``output_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``).
``--output-format json`` writes that ``result`` event alone.

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


def parse_stream(text: str) -> StreamSummary:
    """Summarize a stream-json transcript (or a single json result object)."""
    result_event = None
    message_usage: dict[str, TokenStats] = {}
    anonymous = TokenStats()
    events = 0
    unparsed = 0
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
        if event.get("type") == "result":
            result_event = event
        elif event.get("type") == "assistant":
            message = event.get("message")
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                usage = TokenStats.from_usage(message["usage"])
                message_id = message.get("id")
                if isinstance(message_id, str):
                    message_usage[message_id] = usage
                else:
                    anonymous = anonymous.add(usage)
    if result_event is None:
        tokens = anonymous
        for usage in message_usage.values():
            tokens = tokens.add(usage)
        return StreamSummary(tokens, None, None, None, None, None, False, events, unparsed)
    cost = result_event.get("total_cost_usd")
    turns = result_event.get("num_turns")
    result_text = result_event.get("result")
    session_id = result_event.get("session_id")
    return StreamSummary(
        tokens=TokenStats.from_usage(result_event.get("usage")),
        cost_usd=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        result_text=result_text if isinstance(result_text, str) else None,
        is_error=bool(result_event.get("is_error")) if "is_error" in result_event else None,
        num_turns=turns if isinstance(turns, int) else None,
        session_id=session_id if isinstance(session_id, str) else None,
        has_result_event=True,
        events=events,
        unparsed_lines=unparsed,
    )


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(0, int(value))
