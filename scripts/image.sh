#!/usr/bin/env bash
# Builds the marketplace's container image.
#
#   scripts/image.sh full  [--tag TAG]              multi-stage build of conf/deploy/Containerfile
#                                                   (needs a registry for the rust and debian images)
#   scripts/image.sh local [--tag TAG] [--bin DIR]  an image FROM scratch holding the binaries
#                                                   already built in DIR (default target/release)
#                                                   and the shared libraries they need
#   scripts/image.sh debian [--tag TAG] [--bin DIR] [--base-tar FILE]
#                                                   the Containerfile's own runtime stage, on a
#                                                   Debian bookworm base made with debootstrap
#                                                   (no registry; a Debian mirror), with the
#                                                   binaries of DIR in place of the builder stage
#
# TAG defaults to localhost/marketplace:latest. ENGINE=docker uses docker
# instead of podman (default: podman if installed, else docker); DEBIAN_MIRROR
# is the mirror debootstrap uses (deb.debian.org). The three images
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
  sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# The base image the Containerfile's runtime stage names, and the mirror
# debootstrap fetches it from.
DEBIAN_BASE=docker.io/library/debian:bookworm-slim
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Makes $DEBIAN_BASE from a bookworm root made with debootstrap (minbase:
# apt, dpkg and essential packages only), unless the engine has it already.
# With a FILE, a tar of that root is kept there and used again next time
# (debootstrap takes minutes).
make_debian_base() {
  local base_tar="$1" engine
  engine="$(engine)"
  if "$engine" image inspect "$DEBIAN_BASE" >/dev/null 2>&1; then
    echo "image.sh: using the $DEBIAN_BASE this engine has" >&2
    return 0
  fi
  if [ -z "$base_tar" ] || [ ! -s "$base_tar" ]; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or give --base-tar FILE with a bookworm root already made)"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (apt-get install debootstrap)"
    local root="$context/debian-root" tar="${base_tar:-$context/debian-root.tar}"
    echo "image.sh: debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (a few minutes)" >&2
    debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$context/debootstrap.log" 2>&1 ||
      die "debootstrap failed (is $DEBIAN_MIRROR reachable? set DEBIAN_MIRROR): $(tail -5 "$context/debootstrap.log")"
    # Like Debian's own images: no package lists or downloaded packages
    # (about 80 MB; the runtime stage runs apt-get update itself), and
    # apt told to keep no caches (their docker-clean), so that the stage's
    # apt-get leaves no 70 MB of package cache in its layer.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CLEAN
    # Written aside first, so an interrupted run leaves no half a tar.
    tar -C "$root" -cf "$tar.partial" .
    mv "$tar.partial" "$tar"
    base_tar="$tar"
  fi
  echo "image.sh: importing $base_tar as $DEBIAN_BASE" >&2
  "$engine" import "$base_tar" "$DEBIAN_BASE" >/dev/null
}

# The runtime stage of conf/deploy/Containerfile as it is, on a Debian base
# made here: the build context named "builder" (a folder holding out/ with
# the stripped binaries) takes the place of the builder stage, which is
# then never built (podman 4.3+, docker buildx). The stage's apt-get runs on
# the host's network (--network host: no bridge or firewall table made).
build_debian() {
  local tag="$1" bin_dir="$2" base_tar="$3" binary engine
  engine="$(engine)"
  for binary in "${IMAGE_BINARIES[@]}"; do
    [ -x "$bin_dir/$binary" ] || die "$bin_dir/$binary is not built: run 'cargo build --release --bins' first"
  done
  command -v strip >/dev/null 2>&1 || die "strip is missing (apt-get install binutils)"
  context="$(mktemp -d "${TMPDIR:-/tmp}/marketplace-image.XXXXXX")"
  # debootstrap mounts /proc and /sys in the root it makes: should it be
  # stopped half-way, those go first, and rm never crosses into a mount.
  trap 'awk -v c="$context/" '"'"'index($2, c) == 1 { print $2 }'"'"' /proc/mounts | sort -r |
          xargs -r -n1 umount -l; rm -rf --one-file-system "$context"' EXIT
  trap 'exit 130' INT TERM
  make_debian_base "$base_tar"
  mkdir -p "$context/builder/out"
  for binary in "${IMAGE_BINARIES[@]}"; do
    strip -o "$context/builder/out/$binary" "$bin_dir/$binary"
  done
  "$engine" build --network host --build-context "builder=$context/builder" \
    -f "$ROOT/conf/deploy/Containerfile" -t "$tag" "$context/builder"
}

main() {
  local mode="${1:-}" tag="localhost/marketplace:latest" bin_dir="$BIN_DIR" base_tar=""
  [ -n "$mode" ] || usage
  shift
  while (($#)); do
    case "$1" in
      --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
      --bin) bin_dir="${2:?--bin needs a value}"; shift 2 ;;
      --base-tar) base_tar="${2:?--base-tar needs a file}"; shift 2 ;;
      *) usage ;;
    esac
  done
  case "$mode" in
    full) build_full "$tag" ;;
    local) build_local "$tag" "$bin_dir" ;;
    debian) build_debian "$tag" "$bin_dir" "$base_tar" ;;
    *) usage ;;
  esac
}

main "$@"
