#!/usr/bin/env bash
# Prepare an offline container host for scylla-xtask: a running Docker engine, a
# real local registry on 127.0.0.1, and minimal Debian base images built with
# debootstrap + `docker import`, pushed there so that they have real digests.
#
# Idempotent and cached: the rootfs tarballs live under $SCYLLA_OFFLINE_CACHE and
# a second call only checks that everything is still in place.
#
# Output: the pinned references, one KEY=VALUE per line, also written to
# <repo>/.xtask/build-args, which `cargo xtask docker-build` reads as defaults.
#
# Usage (as root, on Debian):  bash tests/offline/prepare.sh [--no-install]
set -euo pipefail
shopt -s inherit_errexit

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache_dir=${SCYLLA_OFFLINE_CACHE:-/var/cache/scylla-offline}
registry_port=${SCYLLA_REGISTRY_PORT:-5000}
registry="127.0.0.1:${registry_port}"
suite=${SCYLLA_OFFLINE_SUITE:-bookworm}
mirror=${SCYLLA_OFFLINE_MIRROR:-http://deb.debian.org/debian}
state_dir=/run/scylla-offline
install_packages=1
[ "${1:-}" = "--no-install" ] && install_packages=0

say() { printf '[offline] %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run this as root: it installs packages and starts dockerd (try: sudo bash $0)"

# Packages are installed only when missing, so a prepared machine needs no network.
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$install_packages" -eq 1 ] || die "missing packages: ${need[*]} (install them with: apt-get install -y ${need[*]})"
  say "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$state_dir" "$cache_dir"

# --- the engine -------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $state_dir/dockerd.log)"
  # In a session of its own: a Ctrl-C (SIGINT to the caller's process group, as in
  # `prepare.sh && cargo xtask run-experiment`) must not take the engine down too.
  setsid nohup dockerd >"$state_dir/dockerd.log" 2>&1 </dev/null &
  echo $! >"$state_dir/dockerd.pid"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || die "dockerd did not come up; see $state_dir/dockerd.log"
fi

# --- the registry -------------------------------------------------------------
if ! curl -fsS "http://$registry/v2/" >/dev/null 2>&1; then
  say "starting docker-registry on $registry (log: $state_dir/registry.log)"
  mkdir -p /var/lib/scylla-registry
  cat >"$state_dir/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/scylla-registry
  delete:
    enabled: true
http:
  addr: ${registry}
YAML
  setsid nohup docker-registry serve "$state_dir/registry.yml" >"$state_dir/registry.log" 2>&1 </dev/null &
  echo $! >"$state_dir/registry.pid"
  for _ in $(seq 1 40); do
    curl -fsS "http://$registry/v2/" >/dev/null 2>&1 && break
    sleep 0.25
  done
  curl -fsS "http://$registry/v2/" >/dev/null 2>&1 || die "the registry did not come up; see $state_dir/registry.log"
fi

# --- the base images ----------------------------------------------------------
# One debootstrap rootfs per package set, cached as a tarball.
build_rootfs() { # name packages...
  local name=$1; shift
  local tarball="$cache_dir/$suite-$name.tar"
  if [ -s "$tarball" ]; then
    echo "$tarball"; return
  fi
  local root
  root=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  say "debootstrap $suite ($name): this takes a few minutes once"
  local include
  include=$(IFS=,; echo "$*")
  debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$root" "$mirror" \
    >"$cache_dir/debootstrap-$name.log" 2>&1 \
    || { rm -rf "$root"; die "debootstrap failed; see $cache_dir/debootstrap-$name.log"; }
  # Slim it down like the official -slim images: no apt lists, docs or caches.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  echo "$tarball"
}

# import_and_push NAME TAG TARBALL CHANGES... -> prints repo@digest
import_and_push() {
  local name=$1 tag=$2 tarball=$3; shift 3
  local ref="$registry/scylla-offline/$name:$tag"
  local marker="$cache_dir/$name-$tag.pushed"
  if [ -s "$marker" ] && docker image inspect "$ref" >/dev/null 2>&1 \
     && curl -fsS -o /dev/null "http://$registry/v2/scylla-offline/$name/manifests/$(cat "$marker")" \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'; then
    echo "$ref@$(cat "$marker")"; return
  fi
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  docker import "${changes[@]}" "$tarball" "$ref" >/dev/null
  docker push "$ref" >/dev/null
  local digest
  digest=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" \
    | sed -n "s|^$registry/scylla-offline/$name@||p" | head -n1)
  [ -n "$digest" ] || die "pushed $ref but the engine reports no digest for it"
  echo "$digest" >"$marker"
  echo "$ref@$digest"
}

python_tar=$(build_rootfs python python3 python-is-python3 python3-yaml git ca-certificates)

python_ref=$(import_and_push python "3-$suite" "$python_tar" \
  'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' 'ENV LANG=C.UTF-8' \
  'LABEL org.opencontainers.image.description="offline stand-in for python:3-slim"' 'CMD ["python3"]')

# --- Claude Code: the pinned native package, fetched on the host ---------------
# Containers here reach no npm registry, so claude_code.sh downloads the package
# docker/Dockerfile pins, verifies its sha512 and links it into the build context
# (docker/claude-code/). SCYLLA_NPM_REGISTRY points at another registry;
# SCYLLA_OFFLINE_CLAUDE_CODE=0 builds the image without the CLI instead.
with_claude_code=${SCYLLA_OFFLINE_CLAUDE_CODE:-1}
if [ "$with_claude_code" = "1" ]; then
  SCYLLA_OFFLINE_CACHE="$cache_dir" bash "$repo_root/tests/offline/claude_code.sh" "$repo_root"
fi
# --- end of Claude Code ----------------------------------------------------------

mkdir -p "$repo_root/.xtask"
{
  echo "# written by tests/offline/prepare.sh: offline bases served by the local registry"
  echo "PYTHON_BASE=$python_ref"
  [ "$with_claude_code" = "1" ] || echo "INSTALL_CLAUDE_CODE=0"
} >"$repo_root/.xtask/build-args.tmp"
mv "$repo_root/.xtask/build-args.tmp" "$repo_root/.xtask/build-args"

echo "PYTHON_BASE=$python_ref"
echo "REGISTRY=$registry"
