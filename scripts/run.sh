#!/usr/bin/env bash
# Builds the marketplace and starts the whole cluster of conf/local.json
# (or $MARKETPLACE_CONFIG) on loopback, in the background.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_build_tools
cd "$ROOT"
echo "building (release; the first build compiles gRPC's C core and takes several minutes)..."
cargo build --release --bins

# Databases first, so frontends find them at once.
"$BIN_DIR/cluster-status" --config "$CONFIG" --list | while read -r component index _; do
  "$ROOT/scripts/start-one.sh" "$component" "$index" >/dev/null
done

echo -n "waiting for every process to answer"
for _ in $(seq 1 100); do
  if "$BIN_DIR/cluster-status" --config "$CONFIG" >/dev/null 2>&1; then
    echo " - all up"
    "$BIN_DIR/cluster-status" --config "$CONFIG"
    cat <<USAGE

The cluster runs in the background (logs in run/logs/). Try:

  target/release/seller-client        # then: create-account alice pw1, login alice pw1,
                                      #       put "Blue lamp" 3 new 12.50 5 lamp blue, list
  target/release/buyer-client         # then: create-account bob pw2, login bob pw2,
                                      #       search 3 lamp, add 3-1 2, buy "Bob B" 4111111111111111 12/30
  target/release/cluster-status       # who is up, and what each replica reports
  scripts/kill.sh product-db 0        # crash one process; scripts/start-one.sh product-db 0 brings it back
  scripts/stop.sh                     # stop everything
USAGE
    exit 0
  fi
  echo -n "."
  sleep 0.3
done
echo
echo "some processes did not come up; see run/logs/:" >&2
"$BIN_DIR/cluster-status" --config "$CONFIG" >&2 || true
exit 1
