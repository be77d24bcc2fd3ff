"""A scripted stand-in for the Anthropic Messages API, for tests (stdlib only).

Claude Code pointed at it with ``ANTHROPIC_BASE_URL=http://HOST:PORT`` sends
``POST /v1/messages?beta=true`` with ``"stream": true`` and reads the answer as
server-sent events: ``message_start``, ``content_block_start`` /
``content_block_delta`` (``text_delta`` or, for a ``tool_use`` block,
``input_json_delta``) / ``content_block_stop``, ``message_delta`` (with the
``stop_reason``) and ``message_stop``. Non-streaming requests get the same
message as one JSON object.

What it answers is data: a scenario file (JSON, see ``scenarios/``)::

    {"delay_s": 0,                      # wait before every answer (a slow model)
     "rules": [                         # the first rule that matches answers
       {"when": {...}, "times": 3, "reply": {...}}, ...]}

``when`` (all given keys must hold; ``{}`` matches every request):
``contains`` a substring of the request's ``messages`` (as JSON);
``not_contains``; ``tool_results`` the number of ``tool_result`` blocks in the
messages (so one rule per step of an agent's conversation, which keeps
parallel conversations apart without any state); ``model`` a substring of the
model. ``times`` limits how often a rule answers (then the next rule that
matches takes over): 529 three times, then success.

``reply`` is one of: ``{"text": "..."}``; ``{"tool_use": {"name": "Bash",
"input": {...}}}`` (optionally with ``"text"`` before it);
``{"status": 401, "type": "authentication_error", "message": "..."}``;
``{"hang": true}`` (the stream starts and never ends); ``{"malformed": true}``
(events that are not JSON). ``usage`` in a reply sets its token counts.

Every request is appended to the record file (JSON lines: method, path, the
header names, the model, whether it streamed, its messages, and the SHA-256 of
the ``x-api-key`` / ``authorization`` values rather than the values, so tests
can check which key arrived without writing it anywhere).

    python3 tests/claude_api/server.py --scenario S.json --record R.jsonl \\
        [--host 127.0.0.1] [--port 0] [--port-file F]

prints ``listening on http://HOST:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_ids = itertools.count(1)
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                500: "api_error", 529: "overloaded_error"}


class Scenario:
    """The rules of one scenario and how often each has answered (thread-safe)."""

    def __init__(self, data: dict) -> None:
        self.delay_s = float(data.get("delay_s", 0))
        self.rules = list(data.get("rules", []))
        self.used = [0] * len(self.rules)
        self.lock = threading.Lock()

    def reply_for(self, request: dict) -> dict:
        messages = json.dumps(request.get("messages", []))
        with self.lock:
            for index, rule in enumerate(self.rules):
                limit = rule.get("times")
                if limit is not None and self.used[index] >= limit:
                    continue
                if _matches(rule.get("when", {}), request, messages):
                    self.used[index] += 1
                    return rule["reply"]
        return {"status": 500, "message": "the scenario has no rule for this request"}


def _matches(when: dict, request: dict, messages: str) -> bool:
    if "contains" in when and when["contains"] not in messages:
        return False
    if "not_contains" in when and when["not_contains"] in messages:
        return False
    if "tool_results" in when and _tool_results(request) != when["tool_results"]:
        return False
    if "model" in when and when["model"] not in str(request.get("model", "")):
        return False
    return True


def _tool_results(request: dict) -> int:
    count = 0
    for message in request.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(1 for block in content
                         if isinstance(block, dict) and block.get("type") == "tool_result")
    return count


def message_events(reply: dict, model: str) -> list[tuple[str, dict]]:
    """The server-sent events of one successful reply."""
    usage = {"input_tokens": 100, "output_tokens": 20, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0}
    usage.update(reply.get("usage", {}))
    blocks = []
    if "text" in reply:
        blocks.append({"type": "text", "text": reply["text"]})
    if "tool_use" in reply:
        tool = reply["tool_use"]
        blocks.append({"type": "tool_use", "id": f"toolu_{next(_ids):06d}",
                       "name": tool["name"], "input": tool.get("input", {})})
    start_usage = dict(usage, output_tokens=1)
    events = [("message_start", {"type": "message_start", "message": {
        "id": f"msg_{next(_ids):06d}", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": index,
                                     "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": index,
                                     "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
    stop_reason = "tool_use" if "tool_use" in reply else "end_turn"
    events += [
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                           "usage": {"output_tokens": usage["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def whole_message(reply: dict, model: str) -> dict:
    """The same reply as one non-streaming JSON message."""
    events = message_events(reply, model)
    message = dict(events[0][1]["message"])
    message["content"] = []
    for name, event in events[1:]:
        if name == "content_block_start":
            message["content"].append(dict(event["content_block"]))
        elif name == "content_block_delta":
            delta = event["delta"]
            block = message["content"][event["index"]]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                block["input"] = json.loads(delta["partial_json"])
        elif name == "message_delta":
            message["stop_reason"] = event["delta"]["stop_reason"]
            message["usage"] = dict(message["usage"], **event["usage"])
    return message


def _digest(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower().startswith("bearer "):
        value = value[7:]
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "StandIn"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):  # noqa: N802 - the base class's name
        self._record({})
        self._json(404, _error_body(404, f"no such endpoint: {self.path}"))

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802 - the base class's name
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            request = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            request = {}
        self._record(request)
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            self._json(404, _error_body(404, f"no such endpoint: {self.path}"))
            return
        reply = self.server.scenario.reply_for(request)
        if self.server.scenario.delay_s:
            time.sleep(self.server.scenario.delay_s)
        model = str(request.get("model", "claude-stand-in"))
        if "status" in reply:
            status = int(reply["status"])
            self._json(status, _error_body(status, reply.get("message", "scripted error"),
                                           reply.get("type")))
        elif not request.get("stream"):
            self._json(200, whole_message(reply, model))
        else:
            self._stream(reply, model)

    def _stream(self, reply: dict, model: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            if reply.get("malformed"):
                self.wfile.write(b"event: message_start\ndata: {not json\n\n"
                                 b"event: content_block_delta\ndata: <<garbage>>\n\n")
                self.wfile.flush()
                return
            events = message_events({"text": ""} if reply.get("hang") else reply, model)
            if reply.get("hang"):
                self._send_event(*events[0])
                while not self.server.stopping.wait(1.0):
                    self.wfile.write(b": still thinking\n\n")
                    self.wfile.flush()
                return
            for name, event in events:
                self._send_event(name, event)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_event(self, name: str, event: dict) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(event)}\n\n".encode("utf-8"))
        self.wfile.flush()

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if status == 429:
            self.send_header("retry-after", "1")
        self.end_headers()
        self.wfile.write(data)

    def _record(self, request: dict) -> None:
        entry = {
            "time": round(time.time(), 3),
            "method": self.command,
            "path": self.path,
            "headers": sorted(name.lower() for name in self.headers.keys()),
            "api_key_sha256": _digest(self.headers.get("x-api-key")),
            "authorization_sha256": _digest(self.headers.get("authorization")),
            "model": request.get("model"),
            "stream": request.get("stream"),
            "tools": [tool.get("name") for tool in request.get("tools", [])
                      if isinstance(tool, dict)],
            "messages": request.get("messages", []),
        }
        with self.server.record_lock, open(self.server.record_path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def _error_body(status: int, message: str, kind: str | None = None) -> dict:
    return {"type": "error", "error": {"type": kind or _ERROR_TYPES.get(status, "api_error"),
                                       "message": message}}


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, scenario: Scenario, record_path: Path) -> None:
        super().__init__(address, Handler)
        self.scenario = scenario
        self.record_path = record_path
        self.record_lock = threading.Lock()
        self.stopping = threading.Event()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A scripted stand-in for the Messages API.")
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--record", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--delay", type=float, help="override the scenario's delay_s")
    args = parser.parse_args(argv)
    scenario = Scenario(json.loads(args.scenario.read_text(encoding="utf-8")))
    if args.delay is not None:
        scenario.delay_s = args.delay
    server = StandIn((args.host, args.port), scenario, args.record)
    port = server.server_address[1]
    if args.port_file:
        args.port_file.write_text(f"{port}\n", encoding="utf-8")
    print(f"listening on http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
