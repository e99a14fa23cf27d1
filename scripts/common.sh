# Shared by the scripts: paths, the cluster file, and the build prerequisites.
# Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG="${MARKETPLACE_CONFIG:-$ROOT/conf/local.json}"
RUN_DIR="$ROOT/run"
BIN_DIR="$ROOT/target/release"
COMPONENTS=(product-db customer-db seller-server buyer-server financial-service)

# grpcio builds gRPC's C core from source: it needs cmake and a C++ compiler.
ensure_build_tools() {
  local missing=()
  command -v cmake >/dev/null 2>&1 || missing+=(cmake)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v make >/dev/null 2>&1 || missing+=(make)
  if ((${#missing[@]})); then
    echo "installing build prerequisites: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install the Rust toolchain (https://rustup.rs) first" >&2
    exit 1
  fi
}

pid_file() { echo "$RUN_DIR/pids/$1-$2.pid"; }

is_running() {
  local file
  file="$(pid_file "$1" "$2")"
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

check_component() {
  local c
  for c in "${COMPONENTS[@]}"; do [ "$c" = "$1" ] && return 0; done
  echo "unknown component '$1' (one of: ${COMPONENTS[*]})" >&2
  exit 2
}
