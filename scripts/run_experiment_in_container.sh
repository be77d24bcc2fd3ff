#!/usr/bin/env bash
# Compatibility shim: the old wrapper's name, the new implementation.
#   scripts/run_experiment_in_container.sh --tiers T0 --runs 1
# is `cargo xtask run-experiment -- --tiers T0 --runs 1`: same container, same
# mounts, with secrets kept out of argv and logs and nothing left behind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo xtask run-experiment -- "$@"
