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
# With --engine podman it also installs and configures Podman for this machine kind
# and pulls the same bases into Podman's storage by digest (see prepare_podman).
#
# Usage (as root, on Debian):  bash tests/offline/prepare.sh [--no-install] [--engine podman]
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
with_podman=0
while [ "$#" -gt 0 ]; do
  case $1 in
    --no-install) install_packages=0 ;;
    --engine)
      case ${2:-} in
        docker) ;;
        podman) with_podman=1 ;;
        *) printf 'ERROR: --engine takes docker or podman, not `%s`\n' "${2:-}" >&2; exit 2 ;;
      esac
      shift ;;
    *) printf 'ERROR: unknown argument `%s` (usage: prepare.sh [--no-install] [--engine podman])\n' "$1" >&2; exit 2 ;;
  esac
  shift
done

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

# --- podman (only with --engine podman) -----------------------------------------
# Kept apart from the Docker set-up above: the bases are made and pushed with
# Docker, then Podman pulls them from the registry by digest into its own storage.
podman_conf=/etc/containers/containers.conf.d/50-scylla-offline.conf
podman_registries=/etc/containers/registries.conf.d/50-scylla-offline.conf
rootless_user=${SCYLLA_ROOTLESS_USER:-scylla-rootless}

# write_if_changed FILE: stdin becomes FILE unless FILE already holds exactly that.
write_if_changed() {
  local file=$1 content
  content=$(cat)
  [ -f "$file" ] && [ "$(cat "$file")" = "$content" ] && return
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" >"$file.tmp"
  mv "$file.tmp" "$file"
}

prepare_podman() {
  local need=()
  command -v podman >/dev/null 2>&1 || need+=(podman)
  # The init `--init` starts under podman; and newuidmap/newgidmap for rootless.
  [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
  command -v newuidmap >/dev/null 2>&1 || need+=(uidmap)
  if [ "${#need[@]}" -gt 0 ]; then
    [ "$install_packages" -eq 1 ] || die "missing packages: ${need[*]} (install them with: apt-get install -y ${need[*]})"
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # Out of the box podman fails here twice: its default ulimits exceed what the
  # sandbox grants (crun: setrlimit RLIMIT_NOFILE), and crun refuses hybrid cgroups.
  write_if_changed "$podman_conf" <<'CONF'
# written by tests/offline/prepare.sh: ulimits the sandbox allows, runc for hybrid cgroups
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
  # The local registry speaks plain HTTP.
  write_if_changed "$podman_registries" <<CONF
# written by tests/offline/prepare.sh: the offline registry speaks plain HTTP
[[registry]]
location = "$registry"
insecure = true
CONF
  podman info >/dev/null 2>&1 || die "podman does not work here: $(podman info 2>&1 | tail -n1)"
  # Every base that .xtask/build-args pins (written above), whatever their names.
  local ref
  for ref in $(sed -n 's/^[A-Z0-9_]*_BASE=//p' "$repo_root/.xtask/build-args"); do
    podman image exists "$ref" && continue
    say "podman pull $ref"
    podman pull -q "$ref" >/dev/null || die "podman cannot pull $ref from $registry"
  done
  prepare_rootless_user
}

# A non-root user with subordinate ids and its own podman configuration, for the
# rootless tests. Native overlay (kernel >= 5.13) because vfs breaks `--userns
# keep-id` here and fuse-overlayfs may not mount; the host network because
# slirp4netns cannot open /dev/net/tun (mode 0600) from the user namespace.
prepare_rootless_user() {
  id -u "$rootless_user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$rootless_user"
  grep -q "^$rootless_user:" /etc/subuid || usermod --add-subuids 200000-265535 "$rootless_user"
  grep -q "^$rootless_user:" /etc/subgid || usermod --add-subgids 200000-265535 "$rootless_user"
  local home config
  home=$(getent passwd "$rootless_user" | cut -d: -f6)
  config="$home/.config/containers"
  write_if_changed "$config/storage.conf" <<'CONF'
[storage]
driver = "overlay"
CONF
  write_if_changed "$config/containers.conf" <<'CONF'
[containers]
netns = "host"
CONF
  chown -R "$rootless_user:" "$home/.config"
}

[ "$with_podman" -eq 0 ] || prepare_podman

echo "PYTHON_BASE=$python_ref"
echo "REGISTRY=$registry"
