#!/usr/bin/env bash
# Stop the dockerd and registry that tests/offline/prepare.sh started (it records
# their pids under /run/scylla-offline). Names: dockerd, registry; default both.
set -uo pipefail
state_dir=/run/scylla-offline
for name in "${@:-registry dockerd}"; do
  for one in $name; do
    pid_file="$state_dir/$one.pid"
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      echo "[offline] stopped $one (pid $pid)" >&2
    fi
    rm -f "$pid_file"
  done
done
