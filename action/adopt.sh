#!/usr/bin/env bash
# The action's adoption step (input `adopt: true`): `driftlog adopt --pull-request` over the
# scan step's stacks and configuration, after a scan that was recorded. driftlog writes the
# drift the `adopt` rules take into the code, proves it with terraform, and opens or updates
# one pull request per stack (closing it when the drift is gone), each recorded.
set -uo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

needs_audit adopt "proposes"

args=(--pull-request)
common_args
INPUT_GITHUB_TOKEN="$github_token" DRIFTLOG_SIGNING_KEY="$signing_key" "$driftlog" adopt "${stacks[@]}" "${args[@]}"
code=$?
case "$code" in
0) exit 0 ;;
2)
  echo "::notice title=driftlog::some drift was not adopted (a secret, an expression, a failed proof); see the report above"
  exit 0
  ;;
*)
  error "driftlog adopt failed (exit $code); see the log above"
  exit 1
  ;;
esac
