#!/usr/bin/env bash
# Side-by-side benchmarks of the engine tasks (hyperfine, one run each):
#   1. no-op `docker-build` vs a fully cached `docker build` of the same context
#      (a tree of a few thousand files);
#   2. `run-experiment` overhead vs a bare `docker run` of the same command;
#   3. rebuild after a source-only change vs a cold build of the project image;
#   4. no-op `docker-build` of the project image with the Claude Code tarball in
#      its context vs without, and once the tarball's hash must be recomputed.
# Needs: a running engine, tests/offline/prepare.sh done, hyperfine
# (apt-get install -y hyperfine). Usage: bash tests/bench/docker.sh [FILES]
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
files=${1:-3000}
cd "$root"
# shellcheck source=tests/bench/noop_context.sh
source "$root/tests/bench/noop_context.sh"
cargo build --release -q -p xtask
xtask="$root/target/release/xtask"
# shellcheck disable=SC1091
python_base=$(sed -n 's/^PYTHON_BASE=//p' .xtask/build-args)
work=$(mktemp -d /tmp/xtask-bench.XXXXXX)
tag=xtask-bench:noop
cleanup() {
  rm -rf "$work"
  docker rmi -f "$tag" xtask-bench:cold xtask-bench:run xtask-bench:cc-with xtask-bench:cc-without >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== 1. no-op docker-build vs cached docker build ($files files)"
noop_context "$work/ctx" "$files" "$python_base"
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

echo "== 4. no-op docker-build: Claude Code tarball in the context vs none"
# Two copies of the project's build context. One holds the pinned tarball (a copy,
# not the hard link of prepare.sh, so that touching it changes nothing else); the
# other none, built with INSTALL_CLAUDE_CODE=0. The third command touches the
# tarball first, so its content hash is recomputed (what the first no-op after
# prepare.sh links it into a new checkout pays once).
tarball=$(ls "$root"/docker/claude-code/claude-code-linux-x64-*.tgz)
for side in with without; do
  mkdir -p "$work/$side"
  cp -a "$root/.dockerignore" "$root/pyproject.toml" "$root/src" "$root/docker" "$work/$side/"
  rm -f "$work/$side"/docker/claude-code/*.tgz
done
cp "$tarball" "$work/with/docker/claude-code/"
with="$xtask -q --project-dir $work/with docker-build --tag xtask-bench:cc-with --build-arg PYTHON_BASE=$python_base"
without="$xtask -q --project-dir $work/without docker-build --tag xtask-bench:cc-without --build-arg PYTHON_BASE=$python_base --build-arg INSTALL_CLAUDE_CODE=0"
$with >/dev/null
$without >/dev/null
hyperfine -N --warmup 2 --runs 20 \
  -n 'no-op, tarball in the context' "$with" \
  -n 'no-op, no tarball' "$without"
hyperfine -N --runs 5 --prepare "touch $work/with/docker/claude-code/$(basename "$tarball")" \
  -n 'no-op, tarball hash recomputed' "$with"
