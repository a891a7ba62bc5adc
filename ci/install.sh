#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine. Idempotent and quick when
# everything is present.
#   libclang-dev       bindgen for librocksdb-sys
#   g++                RocksDB's C++
#   protobuf-compiler  etcd-client's build script (the benchmark's etcd client, a dev-dependency)
#   libprotobuf-dev    the well-known .proto files protoc needs for etcd-client (only recommended
#                      by protobuf-compiler, so --no-install-recommends leaves it out)
#   etcd-server        etcd 3.4, the benchmark's side-by-side peer
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

packages=(libclang-dev g++ protobuf-compiler libprotobuf-dev etcd-server)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ci/install: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

components=$(rustup component list --installed 2>/dev/null || true)
for component in rustfmt clippy; do
  [[ "$components" == *"$component"* ]] || rustup component add "$component"
done
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
ci/install-kubectl.sh
