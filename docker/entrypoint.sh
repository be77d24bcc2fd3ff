#!/usr/bin/env bash
# scylla-runner entrypoint: prepares the environment on EVERY entry path (python
# scripts, shells, any command) and then runs the command.
#
#   1. HOME: a writable home for the user the container runs as (the image user
#      scylla, or the host user mapped in by `cargo xtask run-experiment`).
#   2. Secrets: each file /run/secrets/scylla-env-NAME becomes the variable NAME.
#      Values are delivered as files (docker cp of a tar stream, or swarm
#      secrets), never as `-e NAME=value`, so they stay out of `docker inspect`.
#   3. Claude credentials: /run/secrets/scylla-claude-credentials (or a legacy
#      read-only mount at /tmp/host-creds/.credentials.json) is copied to
#      $HOME/.claude/.credentials.json, directory 0700, file 0600.
#
# Modes: --help, --version, --validate, --shell; anything else is exec'd.
set -euo pipefail

secrets_dir=${SCYLLA_SECRETS_DIR:-/run/secrets}
legacy_credentials=/tmp/host-creds/.credentials.json

log() { printf 'scylla-entrypoint: %s\n' "$*" >&2; }

setup_home() {
  if [ -z "${HOME:-}" ] || [ "$HOME" = "/" ] || ! [ -w "$HOME" ]; then
    HOME="/tmp/scylla-home-$(id -u)"
    export HOME
  fi
  mkdir -p "$HOME"
  chmod 700 "$HOME" 2>/dev/null || true
}

load_secret_env() {
  local file name
  [ -d "$secrets_dir" ] || return 0
  for file in "$secrets_dir"/scylla-env-*; do
    [ -f "$file" ] || continue
    name=${file##*/scylla-env-}
    if ! [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      log "ignoring secret file with an invalid variable name: ${file##*/}"
      continue
    fi
    if ! [ -r "$file" ]; then
      log "cannot read the secret for $name (owner or mode of ${file##*/} is wrong)"
      continue
    fi
    export "$name=$(cat "$file")"
  done
}

credentials_source() {
  if [ -f "$secrets_dir/scylla-claude-credentials" ]; then
    echo "$secrets_dir/scylla-claude-credentials"
  elif [ -f "$legacy_credentials" ]; then
    echo "$legacy_credentials"
  fi
}

# Never fatal: a failed copy must not stop a run that can use an API key instead.
setup_credentials() {
  local source
  source=$(credentials_source)
  CREDENTIALS_STATUS="none"
  [ -n "$source" ] || return 0
  if ! [ -r "$source" ]; then
    log "cannot read $source as uid $(id -u); continuing without Claude credentials"
    CREDENTIALS_STATUS="unreadable"
    return 0
  fi
  if (umask 077 && mkdir -p "$HOME/.claude" && chmod 700 "$HOME/.claude" \
      && cp "$source" "$HOME/.claude/.credentials.json.tmp" \
      && chmod 600 "$HOME/.claude/.credentials.json.tmp" \
      && mv -f "$HOME/.claude/.credentials.json.tmp" "$HOME/.claude/.credentials.json"); then
    CREDENTIALS_STATUS="installed"
  else
    log "cannot copy the Claude credentials into $HOME/.claude; continuing without them"
    CREDENTIALS_STATUS="failed"
  fi
}

auth_summary() {
  local parts=()
  [ "$CREDENTIALS_STATUS" = "installed" ] && parts+=("Claude credentials file")
  [ -n "${ANTHROPIC_API_KEY:-}" ] && parts+=("ANTHROPIC_API_KEY")
  [ -n "${OPENAI_API_KEY:-}" ] && parts+=("OPENAI_API_KEY")
  if [ "${#parts[@]}" -eq 0 ]; then
    echo "none (the oracle agent will be used)"
  else
    local IFS=,
    echo "${parts[*]}"
  fi
}

tool_version() { # name command...
  local name=$1; shift
  local version
  if version=$("$@" 2>/dev/null | head -n1) && [ -n "$version" ]; then
    printf '%-8s %s\n' "$name" "$version"
  else
    printf '%-8s %s\n' "$name" "not installed"
  fi
}

show_version() {
  tool_version scylla python -c 'import scylla; print(scylla.__version__)'
  tool_version python python --version
  tool_version git git --version
  tool_version claude claude --version
}

show_help() {
  cat <<'HELP'
scylla-runner: runs ProjectScylla experiments (orchestrator, agents, judge).

Usage: docker run [options] scylla-runner[:tag] [MODE | COMMAND [ARGS...]]

Modes:
  --help        this text
  --version     versions of scylla, python, git and the claude CLI
  --validate    check the environment: TIER (T0-T6), RUN_NUMBER (1-9) when set,
                and that some authentication is present
  --shell       an interactive bash with a welcome banner
Any other COMMAND runs after the environment is prepared, e.g.
  python scripts/run_e2e_experiment.py --tiers T0

Secrets: files /run/secrets/scylla-env-NAME become variables; the Claude
credentials come from /run/secrets/scylla-claude-credentials or a read-only
mount at /tmp/host-creds/.credentials.json. Use `cargo xtask run-experiment`
or `cargo xtask shell` on the host: they deliver both safely.
HELP
}

validate() {
  local problems=0
  if [ -n "${TIER:-}" ] && ! [[ "$TIER" =~ ^T[0-6]$ ]]; then
    log "TIER must be one of T0..T6, got '$TIER'"; problems=$((problems + 1))
  fi
  if [ -n "${RUN_NUMBER:-}" ] && ! [[ "$RUN_NUMBER" =~ ^[1-9]$ ]]; then
    log "RUN_NUMBER must be 1..9, got '$RUN_NUMBER'"; problems=$((problems + 1))
  fi
  if ! python -c 'import scylla' 2>/dev/null; then
    log "the scylla package does not import"; problems=$((problems + 1))
  fi
  echo "home:           $HOME"
  echo "authentication: $(auth_summary)"
  if [ "$problems" -gt 0 ]; then
    log "$problems problem(s) found"
    return 1
  fi
  echo "environment OK"
}

shell_banner() {
  local name=${SCYLLA_CONTAINER_NAME:-this container}
  cat <<BANNER
==============================================================
 scylla-runner shell ($name)
 credentials:  $(auth_summary)
 run an experiment:
   python scripts/run_e2e_experiment.py --tiers T0 --runs 1
BANNER
  # `cargo xtask shell --rm` sets SCYLLA_SHELL_REMOVE=1 on this exec.
  if [ "${SCYLLA_SHELL_REMOVE:-}" = "1" ]; then
    cat <<BANNER
 leave:        exit (or Ctrl-D); the container is then removed (--rm)
==============================================================
BANNER
  else
    cat <<BANNER
 leave:        exit (or Ctrl-D); the container keeps running
 come back:    cargo xtask shell $name      (from the host)
 stop it:      docker stop $name            (come back later as above)
 remove it:    docker rm -f $name           (or next time: cargo xtask shell --rm)
 list them:    cargo xtask shell --list
==============================================================
BANNER
  fi
}

# Claude Code refuses --dangerously-skip-permissions as uid 0 unless the
# environment declares itself a sandbox. This container is one (disposable, all
# capabilities dropped, no-new-privileges when started by the tasks), and uid 0
# only happens when the invoking host user is root. A value set by the user wins.
declare_sandbox_for_root() {
  if [ "$(id -u)" = "0" ] && [ -z "${IS_SANDBOX+set}" ]; then
    export IS_SANDBOX=1
  fi
}

setup_home
load_secret_env
setup_credentials
declare_sandbox_for_root

case "${1:-}" in
  --help|-h|"") show_help ;;
  --version) show_version ;;
  --validate) validate ;;
  --shell) shell_banner; exec bash -l ;;
  *) exec "$@" ;;
esac
