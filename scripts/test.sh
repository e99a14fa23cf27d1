#!/usr/bin/env bash
# Installs what a fresh machine lacks, checks the code's layout (rustfmt)
# and lints (clippy, warnings denied), and runs every test (unit tests, the
# tidy check and the process-level integration tests), in release mode: the
# binaries the integration tests start and the tests themselves share one
# build of gRPC's C core.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_build_tools
cd "$ROOT"

# The habits every change keeps (README, "Tests"), checked before the
# tests: rustfmt's layout, and no clippy warning in any target (the
# library, the binaries, the tests). Clippy runs in release mode, as the
# tests do, so they reuse what it built of gRPC's C core. Docs on every
# public item are the compiler's job (`#![deny(missing_docs)]` in
# lib/lib.rs); the function and line limits are tests/tidy.rs's.
for tool in fmt clippy; do
  component=${tool/fmt/rustfmt}
  if ! cargo "$tool" --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
    echo "installing $component (rustup)" >&2
    rustup component add "$component" >/dev/null 2>&1 || true
  fi
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    echo "test.sh: cargo $tool is missing and could not be installed: rustup component add $component" >&2
    exit 1
  fi
done
if ! cargo fmt --check; then
  echo "test.sh: the code is not laid out as rustfmt would (diff above): run cargo fmt" >&2
  exit 1
fi
if ! cargo clippy --release --all-targets -- -D warnings; then
  echo "test.sh: clippy warns, and warnings are denied (see above): fix them first" >&2
  exit 1
fi

# Python's zeep, a standard SOAP client, checks the financial service's WSDL
# (tests/soap_standard_client.rs). Best effort: without Python or PyPI the
# Rust tests still run, and that test says it was skipped.
venv="$ROOT/target/zeep-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import zeep" 2>/dev/null; then
  if command -v python3 >/dev/null 2>&1; then
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q "zeep==4.3.3"; } >/dev/null 2>&1 ||
      echo "note: could not install zeep; the SOAP standard-client test will be skipped" >&2
  fi
fi
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import zeep" 2>/dev/null; then
  export MARKETPLACE_ZEEP_PYTHON="$venv/bin/python"
fi

# Python's grpcio calls both databases with stubs generated from proto/
# alone (tests/grpc_python.rs). Best effort, as for zeep.
grpc_venv="$ROOT/target/grpc-venv"
if [ ! -x "$grpc_venv/bin/python" ] || ! "$grpc_venv/bin/python" -c "import grpc_tools" 2>/dev/null; then
  if command -v python3 >/dev/null 2>&1; then
    { python3 -m venv "$grpc_venv" && "$grpc_venv/bin/pip" install -q "grpcio-tools==1.68.1"; } >/dev/null 2>&1 ||
      echo "note: could not install grpcio-tools; the Python gRPC test will be skipped" >&2
  fi
fi
if [ -x "$grpc_venv/bin/python" ] && "$grpc_venv/bin/python" -c "import grpc_tools" 2>/dev/null; then
  export MARKETPLACE_GRPC_PYTHON="$grpc_venv/bin/python"
fi

# tests/hosts.rs runs the cluster on network-namespace hosts and cuts one
# off with iptables: as root, install iptables if it is missing (best
# effort; without it the test says it was skipped and why).
if [ "$(id -u)" -eq 0 ] && ! command -v iptables >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "installing iptables for the hosts test" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables; } >/dev/null 2>&1 ||
    echo "note: could not install iptables; the hosts test will be skipped" >&2
fi

# tests/live_view.rs loads cluster-status's live view in headless
# Chromium (Debian's package): installed if missing, as root (best effort;
# without it the test checks the page's data only and says so).
if [ "$(id -u)" -eq 0 ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the live-view test" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 ||
    echo "note: could not install chromium; the live view's browser check will be skipped" >&2
fi

# tests/container.rs builds the container image and runs a cluster from it
# with podman (runc, as this kind of machine needs): installed if missing,
# as root (best effort; without it the test says it was skipped and why).
if [ "$(id -u)" -eq 0 ] && ! command -v podman >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "installing podman for the container test" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      podman buildah fuse-overlayfs slirp4netns catatonit uidmap runc; } >/dev/null 2>&1 ||
    echo "note: could not install podman; the container test will be skipped" >&2
fi

# The same test checks the Kubernetes manifests against the API's schemas
# with kubernetes-validate (PyPI), best effort as for zeep.
k8s_venv="$ROOT/target/k8s-venv"
if [ ! -x "$k8s_venv/bin/kubernetes-validate" ] && command -v python3 >/dev/null 2>&1; then
  { python3 -m venv "$k8s_venv" && "$k8s_venv/bin/pip" install -q "kubernetes-validate==1.37.0"; } >/dev/null 2>&1 ||
    echo "note: could not install kubernetes-validate; the manifests' schema check will be skipped" >&2
fi
if [ -x "$k8s_venv/bin/kubernetes-validate" ]; then
  export MARKETPLACE_K8S_VALIDATE="$k8s_venv/bin/kubernetes-validate"
fi

# tests/container.rs builds the Containerfile's runtime stage on a
# debootstrapped Debian base (scripts/image.sh debian) when a tar of such a
# base is at hand: `scripts/image.sh debian --base-tar target/bookworm-root.tar`
# makes it once (debootstrap takes minutes, so this script does not).
if [ -z "${MARKETPLACE_DEBIAN_BASE_TAR:-}" ] && [ -s "$ROOT/target/bookworm-root.tar" ]; then
  export MARKETPLACE_DEBIAN_BASE_TAR="$ROOT/target/bookworm-root.tar"
fi

cargo test --release "$@"
