#!/usr/bin/env bash
# The action's remediation step (input `remediate: true`): `driftlog remediate --apply` over
# the scan step's stacks and configuration, after a scan that found and recorded drift.
# driftlog itself checks the run may apply (the default branch's head, no pull request),
# reverts only what the configuration's rules allow, records every attempt on the audit
# branch, posts the report on each stack's drift issue and appends it to the job summary.
set -uo pipefail

driftlog=${DRIFTLOG:-driftlog}
truthy() {
  case "${1,,}" in
  true | yes | on | 1) return 0 ;;
  *) return 1 ;;
  esac
}
error() { echo "::error title=driftlog::$*" >&2; }
# One entry per non-empty line, spaces around it trimmed.
lines() {
  local line
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [[ -n "$line" && "$line" != \#* ]] && printf '%s\n' "$line"
  done <<<"$1"
}

# As in the scan step: the key and the token reach driftlog alone, which takes them out of
# its environment before terraform starts.
signing_key=${INPUT_SIGNING_KEY:-}
github_token=${INPUT_GITHUB_TOKEN:-}
unset INPUT_SIGNING_KEY INPUT_GITHUB_TOKEN DRIFTLOG_SIGNING_KEY

# Every revert is recorded: without the audit log there is nothing to remediate from, nor to
# record in.
if ! truthy "${INPUT_AUDIT:-true}"; then
  error "remediate needs audit: true (remediation acts on recorded drift and records what it reverts)"
  exit 1
fi
if [[ -z "$signing_key" ]]; then
  error "remediate needs the signing-key input: every revert is recorded, signed, on the audit branch"
  exit 1
fi

args=(--apply --terraform-bin "${INPUT_TERRAFORM_BIN:-terraform}" --audit-branch "${INPUT_AUDIT_BRANCH:-driftlog/audit}" --audit-deadline "${INPUT_AUDIT_DEADLINE:-3m}")
truthy "${INPUT_INIT:-true}" && args+=(--init)
[[ -n "${INPUT_CONFIG:-}" ]] && args+=(--config "$INPUT_CONFIG")

mapfile -t stacks < <(lines "${INPUT_STACKS-.}")
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
