#!/usr/bin/env bash
# The action's remediation step (input `remediate: true`): `driftlog remediate --apply` over
# the scan step's stacks and configuration, after a scan that found and recorded drift.
# driftlog itself checks the run may apply (the default branch's head, no pull request),
# reverts only what the configuration's rules allow, records every attempt on the audit
# branch, posts the report on each stack's drift issue and appends it to the job summary.
set -uo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every revert is recorded: without the audit log there is nothing to remediate from, nor to
# record in.
needs_audit remediate reverts

args=(--apply)
common_args
INPUT_GITHUB_TOKEN="$github_token" DRIFTLOG_SIGNING_KEY="$signing_key" "$driftlog" remediate "${stacks[@]}" "${args[@]}"
code=$?
case "$code" in
0) exit 0 ;;
2)
  # Drift no rule reverts, or a revert refused: the drift issue and the records say which.
  echo "::notice title=driftlog::drift remains after remediation (refused, or matched by no rule); see the report above"
  exit 0
  ;;
*)
  error "driftlog remediate failed (exit $code); see the log above"
  exit 1
  ;;
esac
