#!/usr/bin/env bash
# Compatibility shim: the old wrapper's name, the new implementation.
#   scripts/launch_container_shell.sh [NAME]
# is `cargo xtask shell [NAME]`: attach if running, start if stopped, create if absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo xtask shell "$@"
