#!/usr/bin/env bash
# scylla-runner entrypoint: prepares the environment on EVERY entry path (python
# scripts, shells, any command) and then runs the command.
#
#   1. HOME: a writable home for the user the container runs as (the image user
#      scylla, or the host user mapped in by `cargo xtask run-experiment`).
#   2. Secrets: each file /run/secrets/scylla-env-NAME becomes the variable NAME.
#      Values are delivered as files (a tar stream over `exec` stdin into the
#      tmpfs at /run/secrets, or swarm secrets), never as `-e NAME=value`, so
#      they stay out of `docker inspect` and off the disk. With
#      SCYLLA_SECRETS_PENDING=1 the entrypoint first waits for the delivery.
#   3. Claude credentials: /run/secrets/scylla-claude-credentials (or a legacy
#      read-only mount at /tmp/host-creds/.credentials.json) becomes
#      $HOME/.claude/.credentials.json (file 0600). When /run/secrets is a
#      writable tmpfs, $HOME/.claude is a link to a directory in it, so the
#      file and every rewrite of it by a token refresh stay in memory.
#   4. With SCYLLA_CREDENTIALS_RETURN=1 the command runs as a child, and at
#      its end the entrypoint lets the keeper (--keep-credentials, started by
#      the host over `exec`) report the final credentials before it exits.
#
# Modes: --help, --version, --validate, --shell; anything else is exec'd.
# Internal modes for the host: --receive-secrets, --keep-credentials.
set -euo pipefail

secrets_dir=${SCYLLA_SECRETS_DIR:-/run/secrets}
legacy_credentials=/tmp/host-creds/.credentials.json
# Where the working copy of the credentials is, once set up (for the keeper).
credentials_path_file="$secrets_dir/.credentials-path"

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

# Whether the secrets directory is a tmpfs this user can write (experiment
# and shell containers of the tasks; not swarm secrets or hand-made mounts).
secrets_in_memory() {
  [ -w "$secrets_dir" ] && [ "$(stat -f -c %T "$secrets_dir" 2>/dev/null)" = "tmpfs" ]
}

wait_for_secrets() {
  [ "${SCYLLA_SECRETS_PENDING:-}" = "1" ] || return 0
  local tries=0
  while ! [ -e "$secrets_dir/.delivered" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 1200 ]; then
      log "no secrets were delivered within 60 s; continuing without them"
      return 0
    fi
    sleep 0.05
  done
}

# The credentials' home: in memory when possible, else $HOME/.claude.
credentials_home() {
  if secrets_in_memory && { ! [ -e "$HOME/.claude" ] || [ -L "$HOME/.claude" ]; }; then
    mkdir -p "$secrets_dir/claude" && chmod 700 "$secrets_dir/claude" \
      && ln -sfn "$secrets_dir/claude" "$HOME/.claude" && echo "$secrets_dir/claude" && return 0
  fi
  mkdir -p "$HOME/.claude" && chmod 700 "$HOME/.claude" && echo "$HOME/.claude"
}

# Never fatal: a failed copy must not stop a run that can use an API key instead.
setup_credentials() {
  local source dir
  source=$(credentials_source)
  CREDENTIALS_STATUS="none"
  [ -n "$source" ] || return 0
  if ! [ -r "$source" ]; then
    log "cannot read $source as uid $(id -u); continuing without Claude credentials"
    CREDENTIALS_STATUS="unreadable"
    return 0
  fi
  # A shell entering a running container keeps the copy a refresh may have changed.
  if [ -f "$credentials_path_file" ] && [ -f "$(cat "$credentials_path_file")" ]; then
    CREDENTIALS_STATUS="installed"
    return 0
  fi
  if dir=$(umask 077 && credentials_home) \
      && (umask 077 && cp "$source" "$dir/.credentials.json.tmp" \
      && chmod 600 "$dir/.credentials.json.tmp" \
      && mv -f "$dir/.credentials.json.tmp" "$dir/.credentials.json"); then
    CREDENTIALS_STATUS="installed"
    if secrets_in_memory; then echo "$dir/.credentials.json" > "$credentials_path_file"; fi
  else
    log "cannot copy the Claude credentials into $HOME/.claude; continuing without them"
    CREDENTIALS_STATUS="failed"
  fi
}

# --receive-secrets [--keeper-follows]: the host streams a tar of the secret
# files on stdin; with --keeper-follows it announces the keeper it starts next,
# so that even a command that ends at once waits for it.
receive_secrets() {
  umask 077
  tar -x -f - -C "$secrets_dir"
  if [ "${1:-}" = "--keeper-follows" ]; then : > "$secrets_dir/.keeper"; fi
  : > "$secrets_dir/.delivered"
}

# --keep-credentials: prints `credentials <base64>` whenever the working copy
# changes, and `end` once the command has finished (then the entrypoint exits).
keep_credentials() {
  local path="" last="" current="" finished
  : > "$secrets_dir/.keeper-started"
  while :; do
    finished=0
    [ -e "$secrets_dir/.finished" ] && finished=1
    if [ -z "$path" ] && [ -f "$credentials_path_file" ]; then
      path=$(cat "$credentials_path_file")
    fi
    if [ -n "$path" ] && [ -r "$path" ]; then
      current=""
      IFS= read -r -d '' current < "$path" || true
      if [ -n "$current" ] && [ "$current" != "$last" ]; then
        printf 'credentials %s\n' "$(base64 -w0 < "$path")"
        last=$current
      fi
    fi
    if [ "$finished" = 1 ]; then
      printf 'end\n'
      : > "$secrets_dir/.collected"
      return 0
    fi
    sleep 0.25
  done
}

# Runs the command as a child (signals forwarded), then gives the keeper up
# to 5 s to report the final credentials, and exits with the command's code.
run_and_hand_back() {
  local child code=0 tries=0
  # The keeper must be watching before the command can refresh anything: a
  # refresh followed at once by Ctrl-C would otherwise go unseen.
  if [ -e "$secrets_dir/.keeper" ]; then
    while ! [ -e "$secrets_dir/.keeper-started" ] && [ "$tries" -lt 400 ]; do
      tries=$((tries + 1))
      sleep 0.05
    done
    [ -e "$secrets_dir/.keeper-started" ] \
      || log "the credentials keeper did not start within 20 s; a refreshed token may not reach the host"
    tries=0
  fi
  "$@" <&0 &
  child=$!
  trap 'kill -TERM "$child" 2>/dev/null || true' TERM INT HUP
  while :; do
    wait "$child" && code=0 || code=$?
    kill -0 "$child" 2>/dev/null || break
  done
  trap - TERM INT HUP
  : > "$secrets_dir/.finished"
  if [ -e "$secrets_dir/.keeper" ]; then
    while ! [ -e "$secrets_dir/.collected" ] && [ "$tries" -lt 50 ]; do
      tries=$((tries + 1))
      sleep 0.1
    done
  fi
  exit "$code"
}

auth_summary() {
  local parts=()
  local name
  [ "$CREDENTIALS_STATUS" = "installed" ] && parts+=("Claude credentials file")
  for name in ANTHROPIC_API_KEY CLAUDE_CODE_OAUTH_TOKEN ANTHROPIC_AUTH_TOKEN OPENAI_API_KEY; do
    [ -n "${!name:-}" ] && parts+=("$name")
  done
  for name in CLAUDE_CODE_USE_BEDROCK CLAUDE_CODE_USE_VERTEX CLAUDE_CODE_USE_FOUNDRY; do
    case "${!name:-}" in 1|[Tt][Rr][Uu][Ee]|[Yy][Ee][Ss]|[Oo][Nn]) parts+=("$name") ;; esac
  done
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

case "${1:-}" in
  --receive-secrets) receive_secrets "${2:-}"; exit 0 ;;
  --keep-credentials) keep_credentials; exit 0 ;;
esac

setup_home
wait_for_secrets
load_secret_env
setup_credentials
declare_sandbox_for_root

case "${1:-}" in
  --help|-h|"") show_help ;;
  --version) show_version ;;
  --validate) validate ;;
  --shell) shell_banner; exec bash -l ;;
  *)
    if [ "${SCYLLA_CREDENTIALS_RETURN:-}" = "1" ] && [ "$CREDENTIALS_STATUS" = "installed" ]; then
      run_and_hand_back "$@"
    fi
    exec "$@" ;;
esac
