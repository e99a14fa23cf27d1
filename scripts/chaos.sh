#!/usr/bin/env bash
# The fault suite: its own cluster on a loopback address of its own, load
# from sellers and buyers, a nemesis (kill -9, SIGSTOP/SIGCONT, UDP loss)
# for M minutes, a restart of everything from disk, and the history checked
# for linearizability and the invariants. Prints a one-page summary; exits
# 0 if no anomaly, 1 if any, 2 if the run could not be made, 3 if some
# object could not be decided.
#   scripts/chaos.sh [--seed N] [--minutes M] [--hosts] [chaos flags...]
# --hosts runs it on the network-namespace hosts of scripts/hosts.sh (root,
# ip and iptables; the hosts must be down), with real partitions and packet
# loss on the wire among the faults (docs/CHAOS.md).
# `target/release/chaos --help` lists every flag. It does not touch the
# cluster of conf/local.json.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_build_tools
cd "$ROOT"
cargo build --release --bins
on_hosts=0
for arg in "$@"; do [ "$arg" = --hosts ] && on_hosts=1; done
if ((on_hosts)); then
  # chaos takes the hosts down itself on every path it lives through; this
  # is for the ones it does not (killed, or interrupted with Ctrl-C).
  # Hosts that are up belong to someone else (a hosts.sh cluster, a test):
  # refuse before the trap below could take them down.
  if ip netns list 2>/dev/null | grep -q '^mkt-'; then
    echo "chaos.sh: the hosts of scripts/hosts.sh are up (ip netns list): scripts/hosts.sh down first" >&2
    exit 2
  fi
  status=0
  trap '"$ROOT/scripts/hosts.sh" down >/dev/null 2>&1 || true' EXIT
  "$BIN_DIR/chaos" "$@" || status=$?
  exit "$status"
fi
exec "$BIN_DIR/chaos" "$@"
