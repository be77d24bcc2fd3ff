#!/usr/bin/env bash
# Fetch the Claude Code package that docker/Dockerfile pins (ARG CLAUDE_CODE_VERSION
# and CLAUDE_CODE_INTEGRITY) on the host and put it into the build context, for
# hosts whose containers reach no npm registry. Called by prepare.sh; needs no root.
#
# The tarball of @anthropic-ai/claude-code-linux-x64 is downloaded once, verified
# against the pinned sha512 (a mismatch is deleted, never kept), stored in
# $SCYLLA_OFFLINE_CACHE/claude-code/ and hard-linked (or copied, across file
# systems) into <project>/docker/claude-code/, git-ignored. Later calls only link
# the cached file. The image build verifies it again.
#
# Usage: bash tests/offline/claude_code.sh [PROJECT_DIR]
# Env:   SCYLLA_NPM_REGISTRY  (default https://registry.npmjs.org)
#        SCYLLA_OFFLINE_CACHE (default /var/cache/scylla-offline)
set -euo pipefail
shopt -s inherit_errexit

project=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cache_dir=${SCYLLA_OFFLINE_CACHE:-/var/cache/scylla-offline}
npm_registry=${SCYLLA_NPM_REGISTRY:-https://registry.npmjs.org}

say() { printf '[offline] %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 2; }

dockerfile_arg() { # NAME -> the default of `ARG NAME=...` in docker/Dockerfile
  sed -n "s/^ARG $1=//p" "$project/docker/Dockerfile" | head -n1
}

# sha512 of FILE equals the npm integrity sha512-<base64> (coreutils only).
matches_integrity() { # FILE INTEGRITY
  local want have
  want=$(printf '%s' "${2#sha512-}" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  have=$(sha512sum "$1" | cut -d' ' -f1)
  [ -n "$want" ] && [ "$want" = "$have" ]
}

version=$(dockerfile_arg CLAUDE_CODE_VERSION)
integrity=$(dockerfile_arg CLAUDE_CODE_INTEGRITY)
[ -n "$version" ] && [[ "$integrity" == sha512-* ]] \
  || die "docker/Dockerfile has no ARG CLAUDE_CODE_VERSION=... and ARG CLAUDE_CODE_INTEGRITY=sha512-... defaults"
name="claude-code-linux-x64-$version.tgz"
cached="$cache_dir/claude-code/$name"
context_dir="$project/docker/claude-code"
mkdir -p "$cache_dir/claude-code" "$context_dir"

# A file in the cache was verified when it was put there (download, check, rename).
if ! [ -s "$cached" ]; then
  url="${npm_registry%/}/@anthropic-ai/claude-code-linux-x64/-/$name"
  say "downloading Claude Code $version ($url)"
  partial=$(mktemp "$cached.XXXXXX")
  trap 'rm -f "$partial"' EXIT
  curl -fsSL --retry 3 -o "$partial" "$url" \
    || die "cannot download $url; check the network or SCYLLA_NPM_REGISTRY, or set SCYLLA_OFFLINE_CLAUDE_CODE=0 to build without Claude Code"
  matches_integrity "$partial" "$integrity" \
    || die "$url does not match CLAUDE_CODE_INTEGRITY of docker/Dockerfile; nothing was kept"
  chmod 644 "$partial"
  mv "$partial" "$cached"
fi

# Only the pinned tarball goes into the build context.
find "$context_dir" -maxdepth 1 -name 'claude-code-linux-x64-*.tgz' ! -name "$name" -delete
# A hard link costs no space; across file systems it is a copy.
if ! [ "$context_dir/$name" -ef "$cached" ]; then
  rm -f "$context_dir/$name"
  if ! ln "$cached" "$context_dir/$name" 2>/dev/null; then
    cp "$cached" "$context_dir/$name.tmp"
    mv "$context_dir/$name.tmp" "$context_dir/$name"
  fi
fi
say "Claude Code $version: docker/claude-code/$name"
