#!/usr/bin/env bash
# Several hosts on one machine: five server hosts and one client host, each
# a Linux network namespace with an address of its own, all on one bridge,
# running the cluster of conf/hosts.json spread over them.
#
#   scripts/hosts.sh up [--fresh]        make the hosts, start every process
#   scripts/hosts.sh up --no-cluster     make the hosts only (for a caller that
#                                        starts its own processes: chaos --hosts)
#   scripts/hosts.sh down                stop everything, remove what `up` made
#   scripts/hosts.sh status              one line per host: address, processes
#   scripts/hosts.sh run [--on HOST] CMD...   run CMD in the client host (or HOST)
#   scripts/hosts.sh partition h2[,h3]   cut these hosts off from all others
#   scripts/hosts.sh heal                undo `partition`
#   scripts/hosts.sh loss PERCENT        drop PERCENT % of the packets each host
#                                        receives; `loss 0` stops it
#
# Layout (why: nothing of it touches the machine's own network):
#   - namespace mkt-switch holds the bridge br0 and one veth port per host;
#     the root namespace gets no link, address, route or rule at all;
#   - namespaces mkt-h1..mkt-h5 are the server hosts, 10.77.0.1-5/24, and
#     mkt-client is the client host, 10.77.0.100/24; each has its end of a
#     veth pair as eth0, plus lo. No default route and no NAT: a packet for
#     an address outside 10.77.0.0/24 has nowhere to go.
#   - firewall rules (partition, loss) live inside the hosts' namespaces, in
#     chains of their own, so they vanish with the namespaces.
# Which process runs on which host follows from conf/hosts.json alone: a
# process runs in the host whose address its (gRPC or HTTP) address has.
# Pids, logs and data live under run/hosts/ (data_dir in conf/hosts.json).
set -euo pipefail
source "$(dirname "$0")/common.sh"

# Everything of ours lives under run/hosts, so pid_file/is_running from
# common.sh keep their pids apart from scripts/run.sh's.
RUN_DIR="$ROOT/run/hosts"
CONFIG="${MARKETPLACE_HOSTS_CONFIG:-$ROOT/conf/hosts.json}"

SWITCH=mkt-switch
BRIDGE=br0
HOST_NAMES=(mkt-h1 mkt-h2 mkt-h3 mkt-h4 mkt-h5 mkt-client)
HOST_ADDRS=(10.77.0.1 10.77.0.2 10.77.0.3 10.77.0.4 10.77.0.5 10.77.0.100)
PREFIX_LEN=24
CLIENT_HOST=mkt-client
PARTITION_CHAIN=MKT-PARTITION
LOSS_CHAIN=MKT-LOSS
START_TIMEOUT_S=30

die() {
  echo "hosts.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '6,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Root, iproute2 and iptables are needed by every command; say which one is
# missing rather than failing half-way.
check_prerequisites() {
  local need_iptables="${1:-yes}" missing=()
  [ "$(id -u)" -eq 0 ] || missing+=("root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN; run as root)")
  command -v ip >/dev/null 2>&1 || missing+=("iproute2 (the ip command: apt-get install iproute2)")
  [ "$need_iptables" = no ] || command -v iptables >/dev/null 2>&1 || missing+=("iptables (apt-get install iptables)")
  if ((${#missing[@]})); then
    echo "hosts.sh: missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

netns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# mkt-h2, h2 and 2 all name the second host; client names the client host.
host_name() {
  local name="$1" n
  case "$name" in
    mkt-*) n="$name" ;;
    client) n=mkt-client ;;
    h[0-9]*) n="mkt-$name" ;;
    [0-9]*) n="mkt-h$name" ;;
    *) n="$name" ;;
  esac
  for h in "${HOST_NAMES[@]}"; do [ "$h" = "$n" ] && { echo "$n"; return 0; }; done
  die "unknown host '$1' (one of: ${HOST_NAMES[*]#mkt-})"
}

host_addr() {
  local i
  for i in "${!HOST_NAMES[@]}"; do
    [ "${HOST_NAMES[$i]}" = "$1" ] && { echo "${HOST_ADDRS[$i]}"; return 0; }
  done
  return 1
}

# The host whose address is the IP of "ip:port".
host_of_address() {
  local ip="${1%:*}" i
  for i in "${!HOST_ADDRS[@]}"; do
    [ "${HOST_ADDRS[$i]}" = "$ip" ] && { echo "${HOST_NAMES[$i]}"; return 0; }
  done
  return 1
}

# "component index address" for every process of the cluster file, databases
# first (cluster-status lists them in that order), as scripts/run.sh starts them.
cluster_processes() {
  "$BIN_DIR/cluster-status" --config "$CONFIG" --list
}

# Builds the switch, the hosts and their links. Creates every link directly
# inside its namespace so that nothing, even for a moment, is in the root one.
make_hosts() {
  local error
  if ! error="$(ip netns add "$SWITCH" 2>&1)"; then
    die "cannot create a network namespace ('ip netns add $SWITCH': $error); this needs root with CAP_SYS_ADMIN, outside a container that forbids it"
  fi
  ip -n "$SWITCH" link set lo up
  ip -n "$SWITCH" link add "$BRIDGE" type bridge
  ip -n "$SWITCH" link set "$BRIDGE" up
  local i host port
  for i in "${!HOST_NAMES[@]}"; do
    host="${HOST_NAMES[$i]}"
    port="${host#mkt-}" # the host's port on the bridge: h1 .. h5, client
    ip netns add "$host"
    ip link add eth0 netns "$host" type veth peer name "$port" netns "$SWITCH"
    ip -n "$SWITCH" link set "$port" master "$BRIDGE"
    ip -n "$SWITCH" link set "$port" up
    ip -n "$host" link set lo up
    ip -n "$host" addr add "${HOST_ADDRS[$i]}/$PREFIX_LEN" dev eth0
    ip -n "$host" link set eth0 up
  done
  # iptables must work inside a host before partition/loss are promised.
  if ! error="$(ip netns exec "${HOST_NAMES[0]}" iptables -S 2>&1)"; then
    die "iptables does not work inside a namespace: $error"
  fi
}

# Starts one process in its host, in the background, as start-one.sh does on
# loopback. `ip netns exec` execs the binary, so $! is the binary's pid.
start_process() {
  local component="$1" index="$2" host="$3"
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/pids"
  (
    cd "$ROOT"
    RUST_LOG="${RUST_LOG:-info}" nohup ip netns exec "$host" \
      "$BIN_DIR/$component" --config "$CONFIG" --index "$index" \
      >>"$RUN_DIR/logs/$component-$index.log" 2>&1 </dev/null &
    echo $! >"$(pid_file "$component" "$index")"
  )
}

cmd_up() {
  local fresh=0
  case "${1:-}" in
    --fresh) fresh=1 ;;
    --no-cluster)
      cmd_up_hosts_only
      return
      ;;
    "") ;;
    *) usage ;;
  esac
  check_prerequisites
  [ -f "$CONFIG" ] || die "no cluster file $CONFIG"
  local bin
  for bin in "${COMPONENTS[@]}" cluster-status; do
    [ -x "$BIN_DIR/$bin" ] || die "$BIN_DIR/$bin is not built: run 'cargo build --release --bins' (or scripts/run.sh) first"
  done
  local ns
  for ns in "$SWITCH" "${HOST_NAMES[@]}"; do
    netns_exists "$ns" &&
      die "namespace $ns exists: the hosts are already up, or half up (scripts/hosts.sh down first)"
  done
  # Every process must land on one of our hosts; check before making anything.
  local component index address host
  while read -r component index address; do
    host_of_address "$address" >/dev/null ||
      die "$component $index has address $address, which is on none of the hosts (${HOST_ADDRS[*]})"
  done < <(cluster_processes)

  # A failed or interrupted `up` leaves nothing behind: `down` undoes
  # whatever was made (an EXIT trap, since ERR traps skip functions).
  trap 'echo "hosts.sh: up failed; cleaning up" >&2; cmd_down >&2' EXIT
  trap 'exit 130' INT TERM
  if ((fresh)); then
    rm -rf "$RUN_DIR"
  fi
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/pids"
  make_hosts
  while read -r component index address; do
    host="$(host_of_address "$address")"
    start_process "$component" "$index" "$host"
    echo "started $component $index on $host ($address)"
  done < <(cluster_processes)

  echo -n "waiting for every process to answer"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until ip netns exec "$CLIENT_HOST" "$BIN_DIR/cluster-status" --config "$CONFIG" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo
      echo "hosts.sh: some processes did not come up within ${START_TIMEOUT_S}s; logs in $RUN_DIR/logs:" >&2
      ip netns exec "$CLIENT_HOST" "$BIN_DIR/cluster-status" --config "$CONFIG" >&2 || true
      exit 1 # the EXIT trap cleans up
    fi
    echo -n "."
    sleep 0.3
  done
  trap - EXIT INT TERM
  echo " - all up"
  cmd_status
}

# The hosts without the cluster of conf/hosts.json: the chaos suite starts
# processes of its own in them (chaos --hosts). `down` removes them as usual.
cmd_up_hosts_only() {
  check_prerequisites
  local ns
  for ns in "$SWITCH" "${HOST_NAMES[@]}"; do
    netns_exists "$ns" &&
      die "namespace $ns exists: the hosts are already up, or half up (scripts/hosts.sh down first)"
  done
  trap 'echo "hosts.sh: up failed; cleaning up" >&2; cmd_down >&2' EXIT
  trap 'exit 130' INT TERM
  make_hosts
  trap - EXIT INT TERM
  echo "hosts up (no processes started): ${HOST_NAMES[*]}"
}

# Stops our processes: those of the pid files, then anything else still
# inside one of our namespaces (a leftover `run`, say). TERM first, then KILL.
stop_processes() {
  local -A seen=()
  local file ns pid
  shopt -s nullglob
  for file in "$RUN_DIR"/pids/*.pid; do
    pid="$(cat "$file")"
    # A stale pid file's number may belong to someone else's process by now:
    # only a process that runs one of our binaries is ours.
    if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$BIN_DIR"/* ]]; then seen[$pid]=1; fi
  done
  shopt -u nullglob
  for ns in "${HOST_NAMES[@]}" "$SWITCH"; do
    if netns_exists "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do seen[$pid]=1; done
    fi
  done
  local pids=("${!seen[@]}")
  rm -f "$RUN_DIR"/pids/*.pid
  ((${#pids[@]})) || return 0
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local _ alive
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  echo "stopped ${#pids[@]} processes"
}

# Safe to run at any time, any number of times: each step skips what is not
# there. Deleting a namespace deletes its links (veth pairs go with either
# end), its bridge and its iptables rules, which all live inside namespaces.
cmd_down() {
  check_prerequisites no # down needs no iptables: the rules go with the namespaces
  stop_processes
  local ns removed=0
  for ns in "${HOST_NAMES[@]}" "$SWITCH"; do
    if netns_exists "$ns"; then
      ip netns del "$ns"
      removed=$((removed + 1))
    fi
  done
  # Links are only ever made inside our namespaces; should an older or
  # interrupted run have left one of our port names in the root namespace,
  # remove it too.
  local host
  for host in "${HOST_NAMES[@]}"; do
    ip link del "${host#mkt-}" 2>/dev/null && echo "removed a stray link ${host#mkt-}" || true
  done
  if ((removed)); then
    echo "removed $removed namespaces (and with them the bridge, the veth pairs and every iptables rule)"
  else
    echo "no namespace of ours was there"
  fi
}

# Whether a host has rules in one of our chains.
has_chain_rules() {
  ip netns exec "$1" iptables -S "$2" 2>/dev/null | grep -q -- '-j DROP'
}

cmd_status() {
  check_prerequisites
  if ! netns_exists "$SWITCH"; then
    echo "the hosts are down (no namespace $SWITCH)"
  fi
  local -A on_host=()
  local component index address host state
  while read -r component index address; do
    host="$(host_of_address "$address" || echo none)"
    if is_running "$component" "$index"; then state=up; else state=down; fi
    on_host[$host]+="${on_host[$host]:+, }$component $index $state"
  done < <(cluster_processes)
  local i flags
  for i in "${!HOST_NAMES[@]}"; do
    host="${HOST_NAMES[$i]}"
    flags=""
    if ! netns_exists "$host"; then
      flags=" [no namespace]"
    else
      has_chain_rules "$host" "$PARTITION_CHAIN" && flags+=" [partitioned]"
      has_chain_rules "$host" "$LOSS_CHAIN" && flags+=" [loss]"
    fi
    printf '%-11s %-12s %s%s\n' "$host" "${HOST_ADDRS[$i]}" "${on_host[$host]:-(no processes)}" "$flags"
  done
  if [ -n "${on_host[none]:-}" ]; then
    echo "on no host: ${on_host[none]}"
  fi
}

cmd_run() {
  check_prerequisites
  local host="$CLIENT_HOST"
  if [ "${1:-}" = "--on" ]; then
    [ $# -ge 2 ] || usage
    host="$(host_name "$2")"
    shift 2
  fi
  [ $# -ge 1 ] || usage
  netns_exists "$host" || die "host $host does not exist (scripts/hosts.sh up first)"
  exec ip netns exec "$host" "$@"
}

# Creates (or empties) chain $2 in host $1 and makes $3... jump to it, once.
reset_chain() {
  local host="$1" chain="$2" hook
  shift 2
  ip netns exec "$host" iptables -N "$chain" 2>/dev/null || ip netns exec "$host" iptables -F "$chain"
  for hook in "$@"; do
    ip netns exec "$host" iptables -C "$hook" -j "$chain" 2>/dev/null ||
      ip netns exec "$host" iptables -I "$hook" 1 -j "$chain"
  done
}

# Removes chain $2 of host $1 and every jump to it.
remove_chain() {
  local host="$1" chain="$2" hook
  netns_exists "$host" || return 0
  for hook in INPUT OUTPUT; do
    while ip netns exec "$host" iptables -D "$hook" -j "$chain" 2>/dev/null; do :; done
  done
  ip netns exec "$host" iptables -F "$chain" 2>/dev/null || true
  ip netns exec "$host" iptables -X "$chain" 2>/dev/null || true
}

# Cuts the named hosts off from every other host (the client host included),
# both ways, every protocol; the named hosts still reach each other. Rules go
# only into the named hosts: INPUT drops what comes from the others, OUTPUT
# what goes to them. A new partition replaces the previous one.
cmd_partition() {
  check_prerequisites
  [ $# -eq 1 ] || usage
  netns_exists "$SWITCH" || die "the hosts are down (scripts/hosts.sh up first)"
  local group=() name
  IFS=',' read -r -a names <<<"$1"
  for name in "${names[@]}"; do group+=("$(host_name "$name")"); done
  heal_quietly
  local host other inside
  for host in "${group[@]}"; do
    reset_chain "$host" "$PARTITION_CHAIN" INPUT OUTPUT
    for other in "${HOST_NAMES[@]}"; do
      inside=0
      for name in "${group[@]}"; do [ "$name" = "$other" ] && inside=1; done
      ((inside)) && continue
      ip netns exec "$host" iptables -A "$PARTITION_CHAIN" -s "$(host_addr "$other")" -j DROP
      ip netns exec "$host" iptables -A "$PARTITION_CHAIN" -d "$(host_addr "$other")" -j DROP
    done
  done
  echo "partitioned: ${group[*]} cut off from the other hosts"
}

heal_quietly() {
  local host
  for host in "${HOST_NAMES[@]}"; do remove_chain "$host" "$PARTITION_CHAIN"; done
}

cmd_heal() {
  check_prerequisites
  heal_quietly
  echo "healed: no partition"
}

# Random loss on what every host receives (not on what it sends, so that a
# packet between two hosts is dropped with PERCENT % probability, not about
# twice that). Loopback traffic inside a host is spared.
cmd_loss() {
  check_prerequisites
  [ $# -eq 1 ] || usage
  local percent="$1"
  [[ "$percent" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "loss wants a percentage 0..100, not '$percent'"
  awk -v p="$percent" 'BEGIN { exit !(p >= 0 && p <= 100) }' || die "loss wants a percentage 0..100, not '$percent'"
  netns_exists "$SWITCH" || die "the hosts are down (scripts/hosts.sh up first)"
  local host probability
  probability="$(awk -v p="$percent" 'BEGIN { printf "%.4f", p / 100 }')"
  for host in "${HOST_NAMES[@]}"; do
    if awk -v p="$percent" 'BEGIN { exit !(p == 0) }'; then
      remove_chain "$host" "$LOSS_CHAIN"
    else
      reset_chain "$host" "$LOSS_CHAIN" INPUT
      ip netns exec "$host" iptables -A "$LOSS_CHAIN" ! -i lo \
        -m statistic --mode random --probability "$probability" -j DROP
    fi
  done
  if awk -v p="$percent" 'BEGIN { exit !(p == 0) }'; then
    echo "loss: none"
  else
    echo "loss: ${percent}% of the packets every host receives are dropped"
  fi
}

main() {
  [ $# -ge 1 ] || usage
  local command="$1"
  shift
  case "$command" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    run) cmd_run "$@" ;;
    partition) cmd_partition "$@" ;;
    heal) cmd_heal ;;
    loss) cmd_loss "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
