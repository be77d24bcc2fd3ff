# A stand-in for the `claude` CLI, installed by support.install_fake_claude.
#
# Agent calls (--output-format stream-json) write hello.py in the working
# directory and print the recorded stream sample; judge calls (--output-format
# json, prompt on stdin) score every item listed in the prompt. FAKE_CLAUDE_MODE:
# ok | hang (the agent never finishes) | crash (the agent fails at once, as with
# bad credentials) | orphan (hang, after starting a `sleep` in its own session) | bad-judge (the judge answers no JSON) | bad-key (the probe
# "Say 'OK'" is refused with 401, as the real CLI reports it) | retry-401 (the probe
# passes, the agent keeps retrying a 401).
import json
import os
import re
import sys
import time

args = sys.argv[1:]
mode = os.environ.get("FAKE_CLAUDE_MODE", "ok")
is_agent = "stream-json" in args
is_probe = not is_agent and args[-1] == "Say 'OK'"
prompt = args[-1] if is_agent or is_probe else sys.stdin.read()
with open(os.environ["FAKE_CLAUDE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({
        "args": args, "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
        "role": "agent" if is_agent else "probe" if is_probe else "judge", "prompt": prompt, "pid": os.getpid(),
    }) + "\n")

if is_probe:
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
