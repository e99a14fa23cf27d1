#!/usr/bin/env bash
# Runs the evaluation (docs/EVALUATION.md) against the cluster of
# conf/local.json (or $MARKETPLACE_CONFIG), starting it first if it is not up:
#   scripts/bench.sh [--quick] [bench flags...]
#   scripts/bench.sh --scale [--sizes 10000,100000] [--samples 200] [--lifecycle product-db]
# --quick: 100 calls per client (a few minutes on 2 cores), report in
# docs/evaluation/quick; otherwise 1000 calls per client, report in
# docs/evaluation. --scale: the call costs as the catalogue and the
# accounts grow, and each database's snapshot, restart and catch-up times
# (it kills and restarts one replica of each with scripts/kill.sh and
# start-one.sh), report in docs/evaluation/scale (best on a fresh cluster:
# scripts/stop.sh, then remove run/). Any other flag goes to the bench and wins over these
# defaults (e.g. --scenarios A,B or --loads 1+1,10+10;
# `target/release/bench --help` lists them). Killed processes are
# restarted between runs with scripts/start-one.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"

quick=0
scale=0
args=()
for argument in "$@"; do
  case "$argument" in
    --quick) quick=1 ;;
    --scale) scale=1; args+=("$argument") ;;
    *) args+=("$argument") ;;
  esac
done
if ((scale)); then
  defaults=(--out docs/evaluation/scale)
elif ((quick)); then
  defaults=(--calls 100 --out docs/evaluation/quick)
else
  defaults=(--calls 1000 --out docs/evaluation)
fi

ensure_build_tools
cd "$ROOT"
cargo build --release --bins
# 200 clients hold 200 connections; leave the frontends room (tiny_http
# stops accepting for good at its first EMFILE).
ulimit -n 8192 2>/dev/null || true
if ! "$BIN_DIR/cluster-status" --config "$CONFIG" >/dev/null 2>&1; then
  "$ROOT/scripts/run.sh" >/dev/null
fi
exec "$BIN_DIR/bench" --config "$CONFIG" --no-start "${defaults[@]}" "${args[@]}"
