#!/usr/bin/env bash
# A real N-node Docker Swarm on ONE machine, for the multi-node tests of
# `run-experiment --swarm`: one extra dockerd per network namespace, the
# namespaces joined by veth pairs on a private bridge, a plain-HTTP registry
# on the bridge address, and a results volume on every node bound to one host
# directory (standing in for NFS). The main dockerd and its registry are never
# touched: the swarm lives among the extra daemons only.
#
#   cluster.sh up [N]          build the swarm (default 3 nodes); idempotent
#   cluster.sh down            remove everything `up` made; safe to run twice
#   cluster.sh check-gone      fail, naming it, if anything `up` makes is present
#   cluster.sh env             KEY=VALUE lines the tests read (sockets, registry...)
#   cluster.sh load-image IMG  copy IMG from the main engine into every node
#                              (through the bridge registry)
#   cluster.sh kill-node I     SIGKILL node I's daemon, containerd, shims and
#                              containers, like a machine that dies
#   cluster.sh start-node I    start node I's daemon again (it rejoins the swarm)
#   cluster.sh block-registry I / unblock-registry I
#                              refuse / allow node I's connections to the registry
#
# Traffic stays on this machine: the namespaces have no default route, and the
# FORWARD chain lets packets pass from the bridge to the bridge only.
# Run as root. Settings: SCYLLA_CLUSTER_SUBNET (first three octets of a /24,
# default 198.18.42, a range reserved for network tests) and
# SCYLLA_CLUSTER_REGISTRY_PORT (default 5000).
set -euo pipefail
shopt -s inherit_errexit

prefix=scylla-cl
state_dir=/run/$prefix
data_dir=/var/lib/$prefix
results_dir=/srv/$prefix/results
subnet=${SCYLLA_CLUSTER_SUBNET:-198.18.42}
host_ip=$subnet.1
registry_port=${SCYLLA_CLUSTER_REGISTRY_PORT:-5000}
registry=$host_ip:$registry_port
bridge=sclbr0
chain=SCYLLA-CLUSTER
volume=scylla-results

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 2; }

node_ip() { echo "$subnet.$((10 + $1))"; }
node_name() { echo "scylla-node-$1"; }
node_ns() { echo "$prefix-n$1"; }
node_sock() { echo "$state_dir/n$1.sock"; }
# Short paths: containerd's sockets live under the exec root (108-byte limit).
node_exec_root() { echo "$state_dir/n$1"; }
node_cgroup() { echo "/$prefix-n$1"; }
dk() { local i=$1; shift; docker -H "unix://$(node_sock "$i")" "$@"; }

nodes_made() {
  [ -f "$state_dir/nodes" ] && cat "$state_dir/nodes" || echo 0
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Sends SIGTERM to a pid, waits up to $2 seconds, then SIGKILL.
stop_pid() {
  local pid=$1 wait=${2:-20}
  alive "$pid" || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((wait * 4))); do alive "$pid" || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

# --- one node's processes -------------------------------------------------------

start_daemon() {
  local i=$1 ns exec_root sock
  ns=$(node_ns "$i"); exec_root=$(node_exec_root "$i"); sock=$(node_sock "$i")
  mkdir -p "$exec_root" "$data_dir/n$i"
  # nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup mounts.
  setsid nsenter --net="/run/netns/$ns" unshare --uts sh -c "hostname $(node_name "$i"); exec dockerd \
      --data-root '$data_dir/n$i' --exec-root '$exec_root' --pidfile '$state_dir/n$i.pid' \
      -H 'unix://$sock' --insecure-registry '$registry' --cgroup-parent '$(node_cgroup "$i")' \
      --userland-proxy=false --log-level warn" \
    >>"$state_dir/n$i.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    dk "$i" info >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "node $i's dockerd did not come up; see $state_dir/n$i.log"
}

# Every pid of node I: its dockerd, containerd, shims and containers.
node_pids() {
  local i=$1 exec_root pid
  exec_root=$(node_exec_root "$i")
  for file in "$state_dir/n$i.pid" "$exec_root/containerd/containerd.pid"; do
    pid=$(cat "$file" 2>/dev/null || true)
    alive "$pid" && echo "$pid"
  done
  # Shims name their containerd by its socket, which is under this node's exec root.
  pgrep -f -- "-address $exec_root/containerd/containerd.sock" || true
  for procs in /sys/fs/cgroup/pids"$(node_cgroup "$i")"/*/cgroup.procs; do
    [ -f "$procs" ] && cat "$procs"
  done
  return 0
}

kill_node() {
  local i=$1 pids
  pids=$(node_pids "$i" | sort -u | tr '\n' ' ')
  say "killing node $i: pids $pids"
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  rm -f "$state_dir/n$i.pid"
}

stop_node() {
  local i=$1 pid
  pid=$(cat "$state_dir/n$i.pid" 2>/dev/null || true)
  # dockerd stops its containers and containerd on SIGTERM.
  stop_pid "$pid" 30
  kill_node "$i" >/dev/null 2>&1
}

# --- up ---------------------------------------------------------------------------

check_subnet() {
  if ip route show | grep -v " dev $bridge " | grep -q "^$subnet\."; then
    die "$subnet.0/24 is already routed here (ip route); pick another with SCYLLA_CLUSTER_SUBNET"
  fi
}

make_network() {
  local n=$1 i ns
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$host_ip/24" dev "$bridge"
  fi
  ip link set "$bridge" up
  iptables -N "$chain" 2>/dev/null || iptables -F "$chain"
  iptables -A "$chain" -i "$bridge" -o "$bridge" -j ACCEPT
  iptables -A "$chain" -j DROP
  for dir in -i -o; do
    iptables -C FORWARD "$dir" "$bridge" -j "$chain" 2>/dev/null \
      || iptables -I FORWARD 1 "$dir" "$bridge" -j "$chain"
  done
  for i in $(seq 1 "$n"); do
    ns=$(node_ns "$i")
    [ -e "/run/netns/$ns" ] || ip netns add "$ns"
    if ! ip link show "sclv$i" >/dev/null 2>&1; then
      ip link add "sclv$i" type veth peer name "sclp$i"
      ip link set "sclp$i" netns "$ns"
      ip -n "$ns" link set "sclp$i" name eth0
      ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
      ip link set "sclv$i" master "$bridge"
    fi
    ip link set "sclv$i" up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
}

start_registry() {
  alive "$(cat "$state_dir/registry.pid" 2>/dev/null || true)" && return 0
  mkdir -p "$data_dir/registry"
  cat >"$state_dir/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $data_dir/registry
  delete:
    enabled: true
http:
  addr: $registry
YAML
  setsid docker-registry serve "$state_dir/registry.yml" >"$state_dir/registry.log" 2>&1 </dev/null &
  echo $! >"$state_dir/registry.pid"
  for _ in $(seq 1 40); do
    curl -fsS "http://$registry/v2/" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "the cluster registry did not come up on $registry; see $state_dir/registry.log"
}

make_swarm() {
  local n=$1 i token state
  state=$(dk 1 info --format '{{.Swarm.LocalNodeState}}')
  [ "$state" = active ] || dk 1 swarm init --advertise-addr "$(node_ip 1)" >/dev/null
  token=$(dk 1 swarm join-token -q worker)
  for i in $(seq 2 "$n"); do
    state=$(dk "$i" info --format '{{.Swarm.LocalNodeState}}')
    [ "$state" = active ] || dk "$i" swarm join --token "$token" "$(node_ip 1):2377" >/dev/null
  done
  for _ in $(seq 1 120); do
    [ "$(dk 1 node ls --filter role=worker --format '{{.Status}}' | grep -c Ready)" -eq $((n - 1)) ] && return 0
    sleep 0.25
  done
  die "not every worker became Ready: $(dk 1 node ls 2>&1)"
}

make_volumes() {
  local n=$1 i
  mkdir -p "$results_dir"
  for i in $(seq 1 "$n"); do
    dk "$i" volume inspect "$volume" >/dev/null 2>&1 \
      || dk "$i" volume create --driver local --opt type=none --opt o=bind \
           --opt device="$results_dir" "$volume" >/dev/null
  done
}

on_up_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "up failed; removing what it made"
    down
  fi
  exit "$status"
}

up() {
  local n=${1:-3} made
  for program in dockerd docker docker-registry nsenter unshare ip iptables curl pgrep setsid; do
    command -v "$program" >/dev/null 2>&1 \
      || die "$program is missing (Debian: apt-get install docker.io docker-registry iproute2 iptables curl procps util-linux)"
  done
  [ "$n" -ge 1 ] 2>/dev/null || die "up takes a node count of at least 1, got '$n'"
  [ "$n" -le 9 ] || die "at most 9 nodes"
  made=$(nodes_made)
  if [ "$made" -ne 0 ] && [ "$made" -ne "$n" ]; then
    die "a $made-node cluster is up; run \`$0 down\` first"
  fi
  mkdir -p "$state_dir"
  echo "$n" >"$state_dir/nodes"
  # A failed `up` leaves nothing behind.
  trap on_up_exit EXIT
  check_subnet
  make_network "$n"
  start_registry
  for i in $(seq 1 "$n"); do
    dk "$i" info >/dev/null 2>&1 || start_daemon "$i"
  done
  make_swarm "$n"
  make_volumes "$n"
  trap - EXIT
  say "$n-node swarm up: manager $(node_sock 1), registry $registry, results $results_dir"
  env_lines
}

# --- down -------------------------------------------------------------------------

unmount_under() {
  local dir=$1
  # Deepest first: overlay mounts of containers, nsfs mounts of network namespaces.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r \
    | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
}

down() {
  local i pid n
  n=$(nodes_made)
  # Every daemon starts its shutdown at once; stop_node then waits for each.
  for file in "$state_dir"/n*.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    ! alive "$pid" || kill "$pid" 2>/dev/null || true
  done
  # Nodes may have been made by an interrupted `up` that did not record them.
  for i in $(seq 1 9); do
    [ -e "/run/netns/$(node_ns "$i")" ] || [ -d "$data_dir/n$i" ] || [ "$i" -le "$n" ] || continue
    stop_node "$i"
    for sub in /sys/fs/cgroup/*"$(node_cgroup "$i")"; do
      [ -d "$sub" ] || continue
      find "$sub" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    [ ! -e "/run/netns/$(node_ns "$i")" ] || ip netns del "$(node_ns "$i")" 2>/dev/null || true
    ip link del "sclv$i" 2>/dev/null || true
  done
  pid=$(cat "$state_dir/registry.pid" 2>/dev/null || true)
  stop_pid "$pid" 10
  for dir in -i -o; do
    while iptables -C FORWARD "$dir" "$bridge" -j "$chain" 2>/dev/null; do
      iptables -D FORWARD "$dir" "$bridge" -j "$chain"
    done
  done
  if iptables -L "$chain" -n >/dev/null 2>&1; then
    iptables -F "$chain"
    iptables -X "$chain"
  fi
  ip link del "$bridge" 2>/dev/null || true
  unmount_under "$data_dir"
  unmount_under "$state_dir"
  rm -rf "$data_dir" "$state_dir" "/srv/$prefix"
  say "cluster removed"
}

check_gone() {
  local left=()
  ip link show "$bridge" >/dev/null 2>&1 && left+=("bridge $bridge")
  for ns in $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }'); do left+=("netns $ns"); done
  iptables -L "$chain" -n >/dev/null 2>&1 && left+=("iptables chain $chain")
  for dir in "$state_dir" "$data_dir" "/srv/$prefix"; do [ ! -e "$dir" ] || left+=("$dir"); done
  ls -d /sys/fs/cgroup/*/"$prefix"-n* >/dev/null 2>&1 && left+=("cgroups /sys/fs/cgroup/*/$prefix-n*")
  [ "${#left[@]}" -eq 0 ] || die "the test swarm left: ${left[*]} (remove it with: $0 down)"
  say "nothing of the test swarm is left"
}

# --- the rest ---------------------------------------------------------------------

env_lines() {
  local n
  n=$(nodes_made)
  echo "NODES=$n"
  echo "MANAGER_HOST=unix://$(node_sock 1)"
  for i in $(seq 1 "$n"); do
    echo "NODE_${i}_HOST=unix://$(node_sock "$i")"
    echo "NODE_${i}_NAME=$(node_name "$i")"
  done
  echo "REGISTRY=$registry"
  echo "RESULTS_VOLUME=$volume"
  echo "RESULTS_DIR=$results_dir"
}

load_image() {
  local image=$1 n i ref
  n=$(nodes_made)
  [ "$n" -gt 0 ] || die "no cluster is up; run \`$0 up\` first"
  docker image inspect "$image" >/dev/null 2>&1 || die "the main engine has no image $image"
  say "copying $image into node 1"
  docker save "$image" | dk 1 load >/dev/null
  # The workers pull it from the bridge registry, as a job's nodes would.
  ref="$registry/cluster-preload:$(docker image inspect --format '{{.Id}}' "$image" | cut -c8-19)"
  dk 1 tag "$image" "$ref"
  dk 1 push "$ref" >/dev/null
  for i in $(seq 2 "$n"); do
    dk "$i" pull "$ref" >/dev/null
    dk "$i" tag "$ref" "$image"
    dk "$i" image rm "$ref" >/dev/null
  done
  dk 1 image rm "$ref" >/dev/null
}

registry_rule() { # -I or -D, node
  nsenter --net="/run/netns/$(node_ns "$2")" iptables "$1" OUTPUT -p tcp -d "$host_ip" \
    --dport "$registry_port" -j REJECT --reject-with tcp-reset
}

[ "$(id -u)" -eq 0 ] || die "run this as root: it makes network namespaces, a bridge and daemons"
case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  env) env_lines ;;
  check-gone) check_gone ;;
  load-image) [ -n "${2:-}" ] || die "load-image takes an image"; load_image "$2" ;;
  kill-node) [ -n "${2:-}" ] || die "kill-node takes a node number"; kill_node "$2" ;;
  start-node) [ -n "${2:-}" ] || die "start-node takes a node number"; start_daemon "$2" ;;
  block-registry) registry_rule -I "${2:?node number}" ;;
  unblock-registry) while registry_rule -D "${2:?node number}" 2>/dev/null; do :; done ;;
  *) die "usage: $0 up [N] | down | check-gone | env | load-image IMAGE | kill-node I | start-node I | block-registry I | unblock-registry I" ;;
esac
