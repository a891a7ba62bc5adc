# Sourced by the ci/ scripts: one build directory outside the clone, reused between runs
# (a cold build of RocksDB takes minutes on 2 cores), and no interactive prompts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kybernetes/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export DEBIAN_FRONTEND=noninteractive
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
