#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then lints and tests.
# Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
