#!/usr/bin/env bash
# Starts one process of the cluster in the background:
#   scripts/start-one.sh <component> <index>
# Logs go to run/logs/<component>-<index>.log, the pid to run/pids/.
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ $# -ne 2 ]; then
  echo "usage: $0 <component> <index>" >&2
  exit 2
fi
component="$1" index="$2"
check_component "$component"
if is_running "$component" "$index"; then
  echo "$component $index is already running (pid $(cat "$(pid_file "$component" "$index")"))"
  exit 0
fi
if [ ! -x "$BIN_DIR/$component" ]; then
  echo "$BIN_DIR/$component is not built: run scripts/run.sh first" >&2
  exit 1
fi
mkdir -p "$RUN_DIR/logs" "$RUN_DIR/pids"
cd "$ROOT"
RUST_LOG="${RUST_LOG:-info}" nohup "$BIN_DIR/$component" --config "$CONFIG" --index "$index" \
  >>"$RUN_DIR/logs/$component-$index.log" 2>&1 </dev/null &
echo $! >"$(pid_file "$component" "$index")"
echo "started $component $index (pid $!)"
