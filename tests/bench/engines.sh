#!/usr/bin/env bash
# Docker and podman side by side, each comparison in ONE hyperfine run (same
# method as tests/bench/docker.sh, which it mirrors for two engines):
#   1. no-op `docker-build` vs a fully cached plain build of the same context,
#      on docker and on podman;
#   2. `run-experiment` overhead vs a bare `run` of the same command, on both.
# Needs: dockerd and the registry running, `tests/offline/prepare.sh --engine podman`
# done, hyperfine. Usage: bash tests/bench/engines.sh [FILES]
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
files=${1:-3000}
cd "$root"
# shellcheck source=tests/bench/noop_context.sh
source "$root/tests/bench/noop_context.sh"
cargo build --release -q -p xtask
xtask="$root/target/release/xtask"
python_base=$(sed -n 's/^PYTHON_BASE=//p' .xtask/build-args)
work=$(mktemp -d /tmp/xtask-bench-engines.XXXXXX)
tag=xtask-bench:noop
images=("$tag" "$tag-plain" xtask-bench:run)
cleanup() {
  rm -rf "$work" "$root/results/bench-overhead"
  docker rmi -f "${images[@]}" >/dev/null 2>&1 || true
  podman rmi -f "${images[@]}" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== 1. no-op docker-build vs cached plain build ($files files), docker and podman"
noop_context "$work/ctx" "$files" "$python_base"
for engine in docker podman; do
  "$xtask" -q --engine "$engine" --project-dir "$work/ctx" docker-build --tag "$tag" >/dev/null
done
DOCKER_BUILDKIT=0 docker build -q -f "$work/ctx/docker/Dockerfile" -t "$tag-plain" "$work/ctx" >/dev/null
podman build -q -f "$work/ctx/docker/Dockerfile" -t "$tag-plain" "$work/ctx" >/dev/null
hyperfine -N --warmup 2 --runs 10 \
  -n 'docker: cargo xtask docker-build (no-op)' "$xtask -q --engine docker --project-dir $work/ctx docker-build --tag $tag" \
  -n 'docker: docker build (fully cached)' "env DOCKER_BUILDKIT=0 docker build -q -f $work/ctx/docker/Dockerfile -t $tag-plain $work/ctx" \
  -n 'podman: cargo xtask docker-build (no-op)' "$xtask -q --engine podman --project-dir $work/ctx docker-build --tag $tag" \
  -n 'podman: podman build (fully cached)' "podman build -q -f $work/ctx/docker/Dockerfile -t $tag-plain $work/ctx"

echo "== 2. run-experiment overhead vs bare run, docker and podman"
# The bundled experiment, completed once, so every command runs the same short
# resume. The task's side includes its staleness check, leftover sweep and mounts.
args="--tiers T0 --experiment-id bench-overhead"
for engine in docker podman; do
  "$xtask" -q --engine "$engine" run-experiment --image xtask-bench:run -- $args >/dev/null
done
bare="--rm --init --user $(id -u):$(id -g) -v $root:/workspace -w /workspace xtask-bench:run python scripts/run_e2e_experiment.py $args"
hyperfine -N --warmup 2 --runs 15 \
  -n 'docker: cargo xtask run-experiment' "$xtask -q --engine docker run-experiment --image xtask-bench:run -- $args" \
  -n 'docker: docker run (same command)' "docker run $bare" \
  -n 'podman: cargo xtask run-experiment' "$xtask -q --engine podman run-experiment --image xtask-bench:run -- $args" \
  -n 'podman: podman run (same command)' "podman run $bare"
