#!/usr/bin/env bash
# Regenerates the sample results under this directory with the REAL runner
# (scripts/run_e2e_experiment.py) and the stand-in `claude` of the Python tests
# (tests/python/fake_claude.py), so the report's unit tests read files the runner
# wrote, not hand-made ones. Three invocations share one experiment id:
#   T0 x2  claude-code + LLM judge, tokens and costs (mode ok)
#   T1     the agent fails at once with no result event (mode crash): an error run
#   T2     the agent hangs past a 2 s timeout (mode hang): timed out, still judged
# Usage: bash xtask/tests/data/report/generate.sh   (needs python3 with PyYAML)
# SCYLLA_RUNNER_TREE=DIR takes the runner, fixture and stand-in from another tree
# (e.g. a `git archive` of a branch whose runner records more fields).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=${SCYLLA_RUNNER_TREE:-$(cd "$here/../../../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp -r "$repo/tests/fixtures/tests/test-001" "$work/fixture"
printf 'timeout_seconds: 2\nmax_cost_usd: 5.0\n' >"$work/fixture/config.yaml"
mkdir -p "$work/bin" "$work/home/.claude"
{ printf '#!%s\n' "$(command -v python3)"; cat "$repo/tests/python/fake_claude.py"; } >"$work/bin/claude"
chmod 755 "$work/bin/claude"
echo '{"fake": true}' >"$work/home/.claude/.credentials.json"

rm -rf "$here/claude-sample"
run() {
  local mode=$1; shift
  (cd "$work" && env HOME="$work/home" PATH="$work/bin:$PATH" SCYLLA_NODE=sample-node \
    SCYLLA_IMAGE_ID=sha256:0000000000000000000000000000000000000000000000000000000000000001 \
    SCYLLA_SOURCE_HASH=sample-source-hash \
    FAKE_CLAUDE_MODE="$mode" FAKE_CLAUDE_LOG="$work/calls.jsonl" \
    FAKE_CLAUDE_STREAM="$repo/tests/python/data/claude-stream-sample.jsonl" \
    python3 "$repo/scripts/run_e2e_experiment.py" --tiers-dir fixture --agent claude-code \
      --judge claude --experiment-id claude-sample --results-dir "$here" "$@") || true
}
run ok --tiers T0 --runs 2
run crash --tiers T1
run hang --tiers T2
# Keep the data small and free of this machine's paths: the prompt holds the
# workspace's files, and scylla_path names the checkout.
find "$here/claude-sample" -name judge-prompt.md -exec sh -c 'echo "(trimmed)" >"$1"' _ {} \;
