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

# A PyPI package in a venv of its own under target/, best effort: without
# Python or PyPI the Rust tests still run, and the test that needs the
# package says it was skipped. Succeeds if the venv's Python imports it.
python_venv() { # venv-folder package module what-is-skipped-without-it
  local venv="$ROOT/target/$1"
  if ! "$venv/bin/python" -c "import $3" 2>/dev/null && command -v python3 >/dev/null 2>&1; then
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q "$2"; } >/dev/null 2>&1 ||
      echo "note: could not install $2; $4 will be skipped" >&2
  fi
  "$venv/bin/python" -c "import $3" 2>/dev/null
}

# Python's zeep, a standard SOAP client, checks the financial service's WSDL
# (tests/soap_standard_client.rs).
if python_venv zeep-venv "zeep==4.3.3" zeep "the SOAP standard-client test"; then
  export MARKETPLACE_ZEEP_PYTHON="$ROOT/target/zeep-venv/bin/python"
fi

# Python's grpcio calls both databases with stubs generated from proto/
# alone (tests/grpc_python.rs).
if python_venv grpc-venv "grpcio-tools==1.68.1" grpc_tools "the Python gRPC test"; then
  export MARKETPLACE_GRPC_PYTHON="$ROOT/target/grpc-venv/bin/python"
fi

# A Debian package a test needs, installed as root when its command is
# missing (best effort: without it the test says it was skipped and why).
apt_tool() { # command what-is-skipped-without-it apt-get-install-arguments...
  local tool=$1 what=$2
  shift 2
  if [ "$(id -u)" -eq 0 ] && ! command -v "$tool" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "installing $tool for $what" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >/dev/null 2>&1 ||
      echo "note: could not install $tool; $what will be skipped" >&2
  fi
}

# tests/hosts.rs runs the cluster on network-namespace hosts and cuts one
# off with iptables.
apt_tool iptables "the hosts test" iptables

# tests/live_view.rs loads cluster-status's live view in headless
# Chromium (Debian's package); without it the test checks the page's data
# only and says so.
apt_tool chromium "the live view's browser check" chromium

# tests/container.rs builds the container image and runs a cluster from it
# with podman (runc, as this kind of machine needs).
apt_tool podman "the container test" --no-install-recommends \
  podman buildah fuse-overlayfs slirp4netns catatonit uidmap runc

# The same test checks the Kubernetes manifests against the API's schemas
# with kubernetes-validate.
if python_venv k8s-venv "kubernetes-validate==1.37.0" kubernetes_validate \
  "the manifests' schema check"; then
  export MARKETPLACE_K8S_VALIDATE="$ROOT/target/k8s-venv/bin/kubernetes-validate"
fi

# tests/container.rs builds the Containerfile's runtime stage on a
# debootstrapped Debian base (scripts/image.sh debian) when a tar of such a
# base is at hand: `scripts/image.sh debian --base-tar target/bookworm-root.tar`
# makes it once (debootstrap takes minutes, so this script does not).
if [ -z "${MARKETPLACE_DEBIAN_BASE_TAR:-}" ] && [ -s "$ROOT/target/bookworm-root.tar" ]; then
  export MARKETPLACE_DEBIAN_BASE_TAR="$ROOT/target/bookworm-root.tar"
fi

cargo test --release "$@"
