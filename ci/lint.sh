#!/usr/bin/env bash
# Formatting, clippy (warnings are errors) and the dependency rules of ARCHITECTURE.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
ci/check-deps.sh
