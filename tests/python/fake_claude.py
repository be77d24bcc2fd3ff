# A stand-in for the `claude` CLI, installed by support.install_fake_claude.
#
# Agent calls (--output-format stream-json) write hello.py in the working
# directory and print the recorded stream sample; judge calls (--output-format
# json, prompt on stdin) score every item listed in the prompt. FAKE_CLAUDE_MODE:
# ok | hang (the agent never finishes) | crash (the agent fails at once, as with
# bad credentials) | orphan (hang, after starting a `sleep` in its own session) | bad-judge (the judge answers no JSON) | bad-key (the probe
# "Say 'OK'" is refused with 401, as the real CLI reports it) | retry-401 (the probe
# passes, the agent keeps retrying a 401) | offline (every call fails to connect, as
# Claude Code 2.1.332 reports an unknown host) | overloaded (the probe's first try gets
# 529; its retry, in stream-json, reports a 529 retry every 0.2 s and never answers).
import json
import os
import re
import sys
import time

args = sys.argv[1:]
mode = os.environ.get("FAKE_CLAUDE_MODE", "ok")
is_probe = args[-1] == "Say 'OK'"
is_agent = "stream-json" in args and not is_probe
prompt = args[-1] if is_agent or is_probe else sys.stdin.read()
with open(os.environ["FAKE_CLAUDE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({
        "args": args, "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
        "role": "agent" if is_agent else "probe" if is_probe else "judge", "prompt": prompt, "pid": os.getpid(),
    }) + "\n")

if mode == "offline" and (is_probe or is_agent):
    print(json.dumps({"type": "result", "subtype": "success", "is_error": True,
                      "api_error_status": None, "api_error": "connection_failed",
                      "terminal_reason": "api_error", "result": "API Error: Can't reach the "
                      "API server — check your internet or DNS (ENOTFOUND)"}))
    sys.exit(1)

if is_probe:
    if mode == "overloaded" and os.environ.get("CLAUDE_CODE_MAX_RETRIES") == "0":
        print(json.dumps({"type": "result", "subtype": "success", "is_error": True,
                          "api_error_status": 529, "api_error_type": "overloaded_error",
                          "result": "API Error: 529 Overloaded. This is a server-side issue, "
                          "usually temporary — try again in a moment."}))
        sys.exit(1)
    if mode == "overloaded":
        for attempt in range(1, 601):
            print(json.dumps({"type": "system", "subtype": "api_retry", "attempt": attempt,
                              "max_retries": 10, "retry_delay_ms": 200, "error_status": 529,
                              "error": "overloaded"}), flush=True)
            time.sleep(0.2)
    if mode == "bad-key":
        print(json.dumps({"type": "result", "subtype": "success", "is_error": True,
                          "api_error_status": 401, "api_error_type": "authentication_error",
                          "result": "Invalid API key · Fix external API key"}))
        sys.exit(1)
    print(json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": "OK",
                      "modelUsage": {"claude-fake-1": {}}}))
    sys.exit(0)

if is_agent:
    if mode == "crash":
        sys.stderr.write("Invalid API key · Please run /login\n")
        sys.exit(1)
    if mode == "retry-401":
        # What Claude Code 2.1.332 prints while it retries a refused key, for minutes.
        for attempt in range(1, 11):
            print(json.dumps({"type": "system", "subtype": "api_retry", "attempt": attempt,
                              "max_retries": 10, "retry_delay_ms": 500, "error_status": 401,
                              "error": "authentication_failed"}), flush=True)
            time.sleep(0.3)
        time.sleep(120)
    if mode in ("hang", "orphan"):
        if mode == "orphan":
            # Like Claude Code's Bash tool: a background process in a session of its own.
            import subprocess
            orphan = subprocess.Popen(["sleep", "300"], start_new_session=True)
            with open(os.environ["FAKE_CLAUDE_LOG"] + ".orphans", "a", encoding="utf-8") as out:
                out.write(f"{orphan.pid}\n")
        time.sleep(120)
    with open("hello.py", "w", encoding="utf-8") as script:
        script.write('print("Hello, World!")\n')
    with open(os.environ["FAKE_CLAUDE_STREAM"], encoding="utf-8") as stream:
        sys.stdout.write(stream.read())
    sys.exit(0)

if mode == "bad-judge":
    print(json.dumps({"type": "result", "subtype": "success", "is_error": False,
                      "result": "I cannot judge this.", "total_cost_usd": 0.002}))
    sys.exit(0)

items = re.findall(r"^- (\S+) \([0-9.]+ points\)", prompt, re.MULTILINE)
scores = {"OQ1": 0.5, "B3": None}
answer = {
    "items": [{"id": item, "score": scores.get(item, 1.0), "reason": f"fake verdict on {item}"}
              for item in items],
    "reasoning": "A fake judge: OQ1 gets half marks, B3 does not apply.",
}
print(json.dumps({
    "type": "result", "subtype": "success", "is_error": False,
    "result": "Here is my verdict.\n```json\n" + json.dumps(answer) + "\n```",
    "total_cost_usd": 0.0125,
    "usage": {"input_tokens": 900, "output_tokens": 150, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0},
}))
