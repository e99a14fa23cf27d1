#!/usr/bin/env bash
# The fault suite: its own cluster on a loopback address of its own, load
# from sellers and buyers, a nemesis (kill -9, SIGSTOP/SIGCONT, UDP loss)
# for M minutes, a restart of everything from disk, and the history checked
# for linearizability and the invariants. Prints a one-page summary; exits
# 0 if no anomaly, 1 if any, 2 if the run could not be made.
#   scripts/chaos.sh [--seed N] [--minutes M] [chaos flags...]
# `target/release/chaos --help` lists every flag. It does not touch the
# cluster of conf/local.json.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_build_tools
cd "$ROOT"
cargo build --release --bins
exec "$BIN_DIR/chaos" "$@"
