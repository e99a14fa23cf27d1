#!/usr/bin/env bash
# Runs the cluster of one cluster file on several machines (VMs), one
# container per process, from the marketplace image (scripts/image.sh).
# Copy the same cluster file to every machine and run, on each:
#
#   scripts/deploy.sh up     --config FILE --host ADDRESS [--image IMAGE]
#   scripts/deploy.sh print  --config FILE --host ADDRESS [--image IMAGE]
#   scripts/deploy.sh status --config FILE --host ADDRESS [--image IMAGE]
#   scripts/deploy.sh down   --config FILE --host ADDRESS [--image IMAGE] [--volumes]
#
# ADDRESS is this machine's address in the file: `up` starts every process
# whose gRPC or HTTP address has that IP, and nothing else. `print` shows the
# `run` commands instead of running them (to paste, or to put in a unit file);
# `status` says which of this machine's processes run; `down` removes this
# machine's containers, and with --volumes the databases' data too.
# IMAGE defaults to localhost/marketplace:latest; ENGINE=docker uses docker
# (default: podman if installed, else docker).
#
# Each container uses the host's network (--network host), so a process binds
# exactly the address the file gives it and peers on other machines reach it
# there; each database replica keeps its data in a volume of its own,
# <prefix>-<component>-<index>-data, mounted at /var/lib/marketplace (the
# file's data_dir must be that folder or inside it). Containers are named
# <prefix>-<component>-<index>; the prefix is mkt (MARKETPLACE_PREFIX changes
# it, so that two clusters can share a machine).
set -euo pipefail

# Where the image expects the cluster file and keeps its data
# (conf/deploy/Containerfile).
CONFIG_IN_CONTAINER=/etc/marketplace/cluster.json
DATA_IN_CONTAINER=/var/lib/marketplace
PREFIX="${MARKETPLACE_PREFIX:-mkt}"

die() {
  echo "deploy.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

choose_engine() {
  if [ -n "${ENGINE:-}" ]; then
    echo "$ENGINE"
  elif command -v podman >/dev/null 2>&1; then
    echo podman
  elif command -v docker >/dev/null 2>&1; then
    echo docker
  else
    die "neither podman nor docker is installed"
  fi
}

# "component index address" for every process of the file, databases first,
# read by the image's own cluster-status: the machine needs nothing but the
# engine, the image and the file, and the file is checked as the servers
# will read it.
list_processes() {
  "$ENGINE" run --rm --network none -v "$CONFIG:$CONFIG_IN_CONTAINER:ro,z" "$IMAGE" \
    cluster-status --config "$CONFIG_IN_CONTAINER" --list
}

# The IP of "ip:port" or "[ipv6]:port".
address_ip() {
  local ip="${1%:*}"
  ip="${ip#[}"
  echo "${ip%]}"
}

# This machine's processes: "component index address" lines. Run it as
# PROCESSES="$(processes_here)", so that its failure ends the script (in a
# process substitution it would only end a subshell).
processes_here() {
  local listing component index address found=0
  listing="$(list_processes)" || die "the image could not read $CONFIG (above: why)"
  while read -r component index address; do
    if [ "$(address_ip "$address")" = "$HOST" ]; then
      echo "$component $index $address"
      found=1
    fi
  done <<<"$listing"
  ((found)) || die "no process of $CONFIG has the address $HOST"
}

is_replica() { [ "$1" = product-db ] || [ "$1" = customer-db ]; }

container_name() { echo "$PREFIX-$1-$2"; }

volume_name() { echo "$PREFIX-$1-$2-data"; }

# Replicas write under data_dir; anything outside the volume would be lost
# with the container, so refuse such a file before starting anything.
check_data_dir() {
  local data_dir
  data_dir="$(sed -n 's/^[[:space:]]*"data_dir"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$CONFIG")"
  case "$data_dir" in
    "$DATA_IN_CONTAINER" | "$DATA_IN_CONTAINER"/*) ;;
    *) die "$CONFIG has data_dir '${data_dir:-run/data (the default)}'; in containers it must be $DATA_IN_CONTAINER (the volume)" ;;
  esac
}

# The run command of one process, one argument a line.
run_arguments() {
  local component="$1" index="$2"
  printf '%s\n' run --detach --name "$(container_name "$component" "$index")" \
    --network host --init --restart unless-stopped \
    --label "io.marketplace.component=$component" --label "io.marketplace.index=$index" \
    --env "RUST_LOG=${RUST_LOG:-info}" \
    --volume "$CONFIG:$CONFIG_IN_CONTAINER:ro,z"
  if is_replica "$component"; then
    printf '%s\n' --volume "$(volume_name "$component" "$index"):$DATA_IN_CONTAINER"
  fi
  printf '%s\n' "$IMAGE" "$component" --config "$CONFIG_IN_CONTAINER" --index "$index"
}

container_exists() { "$ENGINE" container inspect "$1" >/dev/null 2>&1; }

container_running() {
  [ "$("$ENGINE" container inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]
}

cmd_print() {
  local component index address
  while read -r component index address; do
    echo "# $component $index at $address"
    run_arguments "$component" "$index" | {
      printf '%s' "$ENGINE"
      while IFS= read -r argument; do
        # Quoted only where the shell needs it (%q would also escape the
        # comma of ro,z).
        if [[ "$argument" =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then
          printf ' %s' "$argument"
        else
          printf ' %q' "$argument"
        fi
      done
      echo
    }
  done <<<"$PROCESSES"
}

cmd_up() {
  check_data_dir
  local component index address name arguments
  # Databases come first in the listing, so frontends find them at once.
  while read -r component index address; do
    name="$(container_name "$component" "$index")"
    if container_running "$name"; then
      echo "$name already runs"
    elif container_exists "$name"; then
      "$ENGINE" start "$name" >/dev/null
      echo "started $name again ($address)"
    else
      mapfile -t arguments < <(run_arguments "$component" "$index")
      "$ENGINE" "${arguments[@]}" >/dev/null
      echo "started $name ($address)"
    fi
  done <<<"$PROCESSES"
}

cmd_status() {
  local component index address name state
  while read -r component index address; do
    name="$(container_name "$component" "$index")"
    if container_running "$name"; then
      state=up
    elif container_exists "$name"; then
      state=stopped
    else
      state=absent
    fi
    echo "$name $address $state"
  done <<<"$PROCESSES"
}

cmd_down() {
  local volumes="$1" component index address names=() data=()
  while read -r component index address; do
    names+=("$(container_name "$component" "$index")")
    is_replica "$component" && data+=("$(volume_name "$component" "$index")")
  done <<<"$PROCESSES"
  # Each container's init (--init) passes the engine's SIGTERM on to the
  # server, which ends at once: the servers need no clean shutdown (their
  # logs are fsynced before they answer).
  for name in "${names[@]}"; do
    if container_exists "$name"; then
      "$ENGINE" rm --force --volumes "$name" >/dev/null
      echo "removed $name"
    fi
  done
  if ((volumes)); then
    for name in "${data[@]}"; do
      if "$ENGINE" volume inspect "$name" >/dev/null 2>&1; then
        "$ENGINE" volume rm "$name" >/dev/null
        echo "removed volume $name"
      fi
    done
  fi
}

main() {
  local command="${1:-}" volumes=0
  [ -n "$command" ] || usage
  shift
  CONFIG="" HOST="" IMAGE="localhost/marketplace:latest"
  while (($#)); do
    case "$1" in
      --config) CONFIG="${2:?--config needs a file}"; shift 2 ;;
      --host) HOST="${2:?--host needs an address}"; shift 2 ;;
      --image) IMAGE="${2:?--image needs a name}"; shift 2 ;;
      --volumes) volumes=1; shift ;;
      *) usage ;;
    esac
  done
  [ -n "$CONFIG" ] && [ -n "$HOST" ] || usage
  [ -f "$CONFIG" ] || die "no cluster file $CONFIG"
  CONFIG="$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")"
  ENGINE="$(choose_engine)"
  case "$command" in
    print | up | status | down) PROCESSES="$(processes_here)" ;;
    *) usage ;;
  esac
  case "$command" in
    print) cmd_print ;;
    up) cmd_up ;;
    status) cmd_status ;;
    down) cmd_down "$volumes" ;;
    *) usage ;;
  esac
}

main "$@"
