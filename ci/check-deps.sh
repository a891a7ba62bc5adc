#!/usr/bin/env bash
# Dependency rules (ARCHITECTURE.md):
#  - only apiserver-store links RocksDB;
#  - only apiserver-registry and the apiserver binary use apiserver-store;
#  - only apiserver-http and the apiserver binary use apiserver-registry;
#  - apiserver-machinery is sans-IO: no tokio, hyper or rocksdb in its dependency tree;
#  - the controllers, the scheduler and the node agent are API clients: no store, registry or
#    HTTP server crate (nor RocksDB) anywhere in their dependency trees.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
fail=0

direct=$(cargo tree --workspace --locked -e normal,build,dev -i rocksdb --depth 1 --prefix none 2>/dev/null \
  | tail -n +2 | awk '{print $1}' | sort -u)
if [ "$direct" != "apiserver-store" ]; then
  echo "check-deps: only apiserver-store may depend on rocksdb; found: $direct" >&2
  fail=1
fi

users=$(cargo tree --workspace --locked -e normal -i apiserver-store --depth 1 --prefix none 2>/dev/null \
  | tail -n +2 | awk '{print $1}' | grep -v -x -E 'apiserver-store|apiserver-registry|apiserver' | sort -u || true)
if [ -n "$users" ]; then
  echo "check-deps: only apiserver-registry and the apiserver binary may use apiserver-store; found: $users" >&2
  fail=1
fi

users=$(cargo tree --workspace --locked -e normal -i apiserver-registry --depth 1 --prefix none 2>/dev/null \
  | tail -n +2 | awk '{print $1}' | grep -v -x -E 'apiserver-registry|apiserver-http|apiserver' | sort -u || true)
if [ -n "$users" ]; then
  echo "check-deps: only apiserver-http and the apiserver binary may use apiserver-registry; found: $users" >&2
  fail=1
fi

io=$(cargo tree --locked -p apiserver-machinery -e normal --prefix none \
  | awk '{print $1}' | grep -E '^(tokio|hyper|rocksdb|librocksdb-sys)$' | sort -u || true)
if [ -n "$io" ]; then
  echo "check-deps: apiserver-machinery must stay sans-IO; it depends on: $io" >&2
  fail=1
fi

for client in apiserver-controllers apiserver-scheduler node-agent; do
  server=$(cargo tree --locked -p "$client" -e normal --prefix none \
    | awk '{print $1}' | grep -E '^(apiserver-store|apiserver-registry|apiserver-http|rocksdb|librocksdb-sys)$' | sort -u || true)
  if [ -n "$server" ]; then
    echo "check-deps: $client must reach the cluster through the API only; it depends on: $server" >&2
    fail=1
  fi
done

[ "$fail" -eq 0 ] && echo "check-deps: ok"
exit "$fail"
