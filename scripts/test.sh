#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then lints and tests:
# cargo's tests, the leak scan over what they wrote, then the container image
# (tests/container/run.sh, podman). Safe to run twice.
# Closes with the totals of both, also when something failed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Every output the integration tests capture is searched for the test secrets afterwards.
rm -rf "${CARGO_TARGET_DIR:-target}/leak-capture"
cargo test --workspace 2>&1 | tee "$log" || status=1
# `--workspace`, as above, so cargo reuses that build (features unify per selection).
cargo test --workspace --test integration leaks:: -- --ignored 2>&1 | tee -a "$log" || status=1
bash tests/container/run.sh 2>&1 | tee -a "$log" || status=1
# cargo prints one result line per test binary (the last often an empty doctest run), the
# container test one "N passed, N failed" line: close with the sum.
awk '/^test result:/ { passed += $4; failed += $6 }
     /^[0-9]+ passed, [0-9]+ failed$/ { passed += $1; failed += $3 }
     END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
