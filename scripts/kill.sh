#!/usr/bin/env bash
# Kills one process of the cluster with SIGKILL, as a crash would:
#   scripts/kill.sh <component> <index>
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ $# -ne 2 ]; then
  echo "usage: $0 <component> <index>" >&2
  exit 2
fi
component="$1" index="$2"
check_component "$component"
file="$(pid_file "$component" "$index")"
if ! is_running "$component" "$index"; then
  echo "$component $index is not running"
  rm -f "$file"
  exit 0
fi
kill -9 "$(cat "$file")"
rm -f "$file"
echo "killed $component $index"
