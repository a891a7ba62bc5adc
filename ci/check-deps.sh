#!/usr/bin/env bash
# Dependency rules (ARCHITECTURE.md): only apiserver-store links RocksDB.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
direct=$(cargo tree --workspace --locked -e normal,build,dev -i rocksdb --depth 1 --prefix none 2>/dev/null \
  | tail -n +2 | awk '{print $1}' | sort -u)
if [ "$direct" != "apiserver-store" ]; then
  echo "check-deps: only apiserver-store may depend on rocksdb; found: $direct" >&2
  exit 1
fi
echo "check-deps: ok"
