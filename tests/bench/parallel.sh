#!/usr/bin/env bash
# Side-by-side benchmark of the runner's --parallel: the same 28 units (T0-T6 x 4 runs
# of test-001) with the real Claude Code in the image, against the Messages API
# stand-in answering after a fixed delay (a slow model), once with --parallel 1 and
# once with --parallel N, in one invocation. Prints both wall times, the speed-up,
# and checks that both experiments have the same scores.
# Needs: a running engine, tests/offline/prepare.sh done, an image with Claude Code.
# Usage: bash tests/bench/parallel.sh [N=4] [DELAY_S=1] [IMAGE=scylla-runner:latest]
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
parallel=${1:-4}
delay=${2:-1}
image=${3:-scylla-runner:latest}
cd "$root"
cargo build --release -q -p xtask
xtask="$root/target/release/xtask"
work=$(mktemp -d /tmp/xtask-bench-parallel.XXXXXX)
gateway=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
[ -n "$gateway" ] || gateway=$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)
python3 tests/claude_api/server.py --host "$gateway" --scenario \
  tests/claude_api/scenarios/solve-test-001.json --delay "$delay" \
  --record "$work/requests.jsonl" >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do grep -q listening "$work/server.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/server.log")

run() { # $1 = parallel, $2 = experiment id; prints the wall time in seconds
  local started ended
  started=$(date +%s.%N)
  ANTHROPIC_BASE_URL=$url ANTHROPIC_API_KEY=sk-bench CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    "$xtask" -q run-experiment --no-build --image "$image" \
    --env ANTHROPIC_BASE_URL --env ANTHROPIC_API_KEY --env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC \
    -- --agent claude-code --tiers T0 T1 T2 T3 T4 T5 T6 --runs 4 --fresh \
    --experiment-id "$2" --parallel "$1" >"$work/$2.out" 2>"$work/$2.err" \
    || { cat "$work/$2.err" >&2; exit 1; }
  ended=$(date +%s.%N)
  echo "$ended - $started" | bc
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
sequential=$(run 1 bench-parallel-1)
concurrent=$(run "$parallel" "bench-parallel-$parallel")
python3 - "results/bench-parallel-1" "results/bench-parallel-$parallel" <<'PY'
import json, sys
scores = [sorted((r["unit"], r["score"], r["grade"]) for r in
                 json.load(open(f"{d}/summary.json"))["runs"]) for d in sys.argv[1:]]
assert scores[0] == scores[1], "the scores differ"
assert len(scores[0]) == 28 and all(s == 1.0 for _, s, _ in scores[0]), scores[0]
print(f"28 units, every score 1.000 S in both runs")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "claude: $(docker run --rm --entrypoint claude "$image" --version)"
echo "answer delay: ${delay}s, requests served: $(wc -l <"$work/requests.jsonl")"
printf -- '--parallel 1: %.1f s\n--parallel %s: %.1f s\nspeed-up: %.2fx\n' \
  "$sequential" "$parallel" "$concurrent" "$(echo "$sequential / $concurrent" | bc -l)"
rm -rf "results/bench-parallel-1" "results/bench-parallel-$parallel"
