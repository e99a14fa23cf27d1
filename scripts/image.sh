#!/usr/bin/env bash
# Builds the marketplace's container image.
#
#   scripts/image.sh full  [--tag TAG]              multi-stage build of conf/deploy/Containerfile
#                                                   (needs a registry for the rust and debian images)
#   scripts/image.sh local [--tag TAG] [--bin DIR]  an image FROM scratch holding the binaries
#                                                   already built in DIR (default target/release)
#                                                   and the shared libraries they need
#
# TAG defaults to localhost/marketplace:latest. ENGINE=docker uses docker
# instead of podman (default: podman if installed, else docker). Both images
# have the same layout (see conf/deploy/Containerfile and docs/DEPLOY.md).
set -euo pipefail
source "$(dirname "$0")/common.sh"

# The binaries the image holds: the servers, the clients and cluster-status
# (bench and chaos start clusters of their own and stay out).
IMAGE_BINARIES=(product-db customer-db seller-server buyer-server financial-service
  seller-client buyer-client cluster-status)

die() {
  echo "image.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

engine() {
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

build_full() {
  local tag="$1"
  cd "$ROOT"
  "$(engine)" build -f conf/deploy/Containerfile -t "$tag" .
}

# Copies FILE into ROOTFS at the same path, following symlinks (the image
# has no package manager to recreate them).
copy_into_rootfs() {
  local file="$1" rootfs="$2"
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
}

build_local() {
  local tag="$1" bin_dir="$2" binary library
  command -v ldd >/dev/null 2>&1 || die "ldd is missing (it lists the libraries to copy)"
  command -v strip >/dev/null 2>&1 || die "strip is missing (apt-get install binutils)"
  for binary in "${IMAGE_BINARIES[@]}"; do
    [ -x "$bin_dir/$binary" ] || die "$bin_dir/$binary is not built: run 'cargo build --release --bins' first"
  done
  # The context is ours alone and goes on every path (a global: the EXIT
  # trap runs after this function has returned).
  context="$(mktemp -d "${TMPDIR:-/tmp}/marketplace-image.XXXXXX")"
  trap 'rm -rf "$context"' EXIT
  local rootfs="$context/rootfs"
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/marketplace" "$rootfs/tmp" "$context/data"
  chmod 1777 "$rootfs/tmp"
  for binary in "${IMAGE_BINARIES[@]}"; do
    # Without the line tables of debug = 1: 7 MB a binary instead of 180.
    strip -o "$rootfs/usr/local/bin/$binary" "$bin_dir/$binary"
  done
  # Every library any binary needs, the dynamic loader included, at the
  # path ldd gives (the loader's path is compiled into the binaries).
  # ldd prints "name => /path (address)" per library and the loader as
  # "\t/path (address)"; vdso has no file.
  for library in $(ldd "${IMAGE_BINARIES[@]/#/$bin_dir/}" |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
    copy_into_rootfs "$library" "$rootfs"
  done
  # A user for the numeric id the image runs as, so tools that look it up
  # (ps, id) show a name.
  printf 'root:x:0:0:root:/:/sbin/nologin\nmarketplace:x:10001:10001:marketplace:/var/lib/marketplace:/sbin/nologin\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nmarketplace:x:10001:\n' >"$rootfs/etc/group"
  cp "$ROOT/conf/deploy/Containerfile.local" "$context/Containerfile"
  "$(engine)" build -f "$context/Containerfile" -t "$tag" "$context"
}

main() {
  local mode="${1:-}" tag="localhost/marketplace:latest" bin_dir="$BIN_DIR"
  [ -n "$mode" ] || usage
  shift
  while (($#)); do
    case "$1" in
      --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
      --bin) bin_dir="${2:?--bin needs a value}"; shift 2 ;;
      *) usage ;;
    esac
  done
  case "$mode" in
    full) build_full "$tag" ;;
    local) build_local "$tag" "$bin_dir" ;;
    *) usage ;;
  esac
}

main "$@"
