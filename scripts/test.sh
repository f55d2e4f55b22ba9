#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then lints and tests.
# Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# cargo prints one result line per test binary, the last of which is often an empty doctest
# run: close with the totals.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
