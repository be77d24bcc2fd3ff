#!/usr/bin/env bash
# lint-dockerfile against hadolint on ~240 Dockerfiles in one directory, one invocation
# each, in the dev profile that `cargo xtask` builds. See docs/benchmarks.md.
#
# Usage: tests/bench/lint.sh HADOLINT [RUNS]
# The files are the corpus four times over; each copy's RUN lines start with a
# different no-op (`: 1;`), so no two copies share a script and ShellCheck's cache and
# de-duplication get no help from the copies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
hadolint=${1:?usage: tests/bench/lint.sh HADOLINT [RUNS]}
runs=${2:-10}
cargo build -q -p xtask
dir=$(mktemp -d /tmp/lint-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
n=0
for copy in 0 1 2 3; do
  for file in tests/lint-corpus/*.dockerfile; do
    [ "$n" -lt 240 ] || break 2
    sed -E "s/^(RUN|run) /\\1 : $copy; /" "$file" > "$dir/$(printf %03d $n)-$(basename "$file")"
    n=$((n + 1))
  done
done
x=target/debug/xtask
files=("$dir"/*.dockerfile)
echo "${#files[@]} files in $dir; shellcheck: $(command -v shellcheck || echo none)"
cache=target/xtask-cache/shellcheck
hyperfine -N --warmup 2 --runs "$runs" \
  -n "lint-dockerfile (default: rules, context listing, ShellCheck cached)" \
  "$x lint-dockerfile --failure-threshold none --format json ${files[*]}" \
  -n "lint-dockerfile --no-shellcheck (rules and context listing)" \
  "$x lint-dockerfile --no-shellcheck --failure-threshold none --format json ${files[*]}" \
  -n "lint-dockerfile --no-context --no-shellcheck (rules only)" \
  "$x lint-dockerfile --no-context --no-shellcheck --failure-threshold none --format json ${files[*]}" \
  -n "hadolint 2.15.1" \
  "$hadolint --no-fail -f json ${files[*]}"
# ShellCheck without its cache: every script checked again (hyperfine --prepare
# empties the cache before each run).
hyperfine --warmup 1 --runs "$runs" --prepare "rm -rf $cache" \
  -n "lint-dockerfile (default, ShellCheck cache empty)" \
  "$x lint-dockerfile --failure-threshold none --format json ${files[*]}" \
  -n "hadolint 2.15.1" \
  "$hadolint --no-fail -f json ${files[*]}"
