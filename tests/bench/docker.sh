#!/usr/bin/env bash
# Side-by-side benchmarks of the engine tasks (hyperfine, one run each):
#   1. no-op `docker-build` vs a fully cached `docker build` of the same context
#      (a tree of a few thousand files);
#   2. `run-experiment` overhead vs a bare `docker run` of the same command;
#   3. rebuild after a source-only change vs a cold build of the project image.
# Needs: a running engine, tests/offline/prepare.sh done, hyperfine
# (apt-get install -y hyperfine). Usage: bash tests/bench/docker.sh [FILES]
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
files=${1:-3000}
cd "$root"
cargo build --release -q -p xtask
xtask="$root/target/release/xtask"
# shellcheck disable=SC1091
python_base=$(sed -n 's/^PYTHON_BASE=//p' .xtask/build-args)
work=$(mktemp -d /tmp/xtask-bench.XXXXXX)
tag=xtask-bench:noop
cleanup() { rm -rf "$work"; docker rmi -f "$tag" xtask-bench:cold xtask-bench:run >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "== 1. no-op docker-build vs cached docker build ($files files)"
mkdir -p "$work/ctx/docker" "$work/ctx/src"
python3 - "$work/ctx/src" "$files" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, f"pkg{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"mod{i:05d}.py"), "w") as f:
        f.write(f"# module {i}\n" + "x = 1\n" * (i % 200))
PY
printf 'FROM %s\nCOPY src/ /src/\nRUN find /src -type f | wc -l > /count\n' "$python_base" >"$work/ctx/docker/Dockerfile"
"$xtask" -q --project-dir "$work/ctx" docker-build --tag "$tag" >/dev/null
DOCKER_BUILDKIT=0 docker build -q -f "$work/ctx/docker/Dockerfile" -t "$tag-plain" "$work/ctx" >/dev/null
hyperfine -N --warmup 2 --runs 10 \
  -n 'cargo xtask docker-build (no-op)' "$xtask -q --project-dir $work/ctx docker-build --tag $tag" \
  -n 'docker build (fully cached)' "env DOCKER_BUILDKIT=0 docker build -q -f $work/ctx/docker/Dockerfile -t $tag-plain $work/ctx"
docker rmi -f "$tag-plain" >/dev/null

echo "== 2. run-experiment overhead vs bare docker run"
# The bundled experiment, already completed once, so both sides run the same
# short command (the runner resumes: nothing to redo). The task's side includes
# its image staleness check, leftover sweep and secret delivery.
args="--tiers T0 --experiment-id bench-overhead"
"$xtask" -q run-experiment --image xtask-bench:run -- $args >/dev/null
hyperfine -N --warmup 2 --runs 15 \
  -n 'cargo xtask run-experiment' "$xtask -q run-experiment --image xtask-bench:run -- $args" \
  -n 'docker run (same command)' "docker run --rm --init --user $(id -u):$(id -g) -v $root:/workspace -w /workspace xtask-bench:run python scripts/run_e2e_experiment.py $args"
rm -rf "$root/results/bench-overhead"

echo "== 3. source-only rebuild vs cold build of the project image"
hyperfine -N --runs 3 \
  -n 'cold build (--no-cache)' "$xtask -q docker-build --tag xtask-bench:cold --no-cache" \
  -n 'source-only change' --prepare "sh -c 'echo \"# bench \$(date +%s%N)\" >> $root/src/scylla/__init__.py'" \
  "$xtask -q docker-build --tag xtask-bench:cold"
git -C "$root" checkout -- src/scylla/__init__.py
