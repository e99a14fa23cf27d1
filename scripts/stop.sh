#!/usr/bin/env bash
# Stops every process that scripts/run.sh or start-one.sh started.
set -euo pipefail
source "$(dirname "$0")/common.sh"

shopt -s nullglob
files=("$RUN_DIR"/pids/*.pid)
if ((${#files[@]} == 0)); then
  echo "nothing is running"
  exit 0
fi
for file in "${files[@]}"; do
  kill -TERM "$(cat "$file")" 2>/dev/null || true
done
# Give them a moment to exit, then make sure.
for _ in $(seq 1 20); do
  alive=0
  for file in "${files[@]}"; do kill -0 "$(cat "$file")" 2>/dev/null && alive=1; done
  ((alive)) || break
  sleep 0.1
done
for file in "${files[@]}"; do
  kill -9 "$(cat "$file")" 2>/dev/null || true
  rm -f "$file"
done
echo "stopped ${#files[@]} processes"
