#!/usr/bin/env bash
# The action's scan step: one `driftlog scan` over the stacks, with the action's inputs
# (INPUT_* variables, set by action.yml) as flags, or `driftlog report merge` of shard jobs'
# reports. driftlog itself writes the job summary, step outputs and annotations, and posts the
# comment, status and issues; this script then verifies the audit branch and exits non-zero on
# a failed scan, or on drift when fail-on-drift is true.
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

# driftlog reads the token (INPUT_GITHUB_TOKEN) and the key (DRIFTLOG_SIGNING_KEY) and takes
# both out of its environment before terraform starts: no provider or local-exec sees them.
# Nothing here exports them anywhere else.
reports="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/driftlog-reports"
mkdir -p "$reports"

post=()
truthy "${INPUT_COMMENT:-true}" || post+=(--no-comment)
truthy "${INPUT_FAIL_ON_DRIFT:-false}" && post+=(--fail-on-drift)

if [[ -n "${INPUT_MERGE:-}" ]]; then
  files=()
  while IFS= read -r pattern; do
    # Globs expand here; a pattern matching nothing stays as is and driftlog names it.
    # shellcheck disable=SC2206
    matched=($pattern)
    files+=("${matched[@]}")
  done < <(lines "$INPUT_MERGE")
  if ((${#files[@]} == 0)); then
    error "the merge input names no report"
    exit 1
  fi
  "$driftlog" report merge "${files[@]}" "${post[@]}" --output "$reports/merged.json"
  code=$?
else
  audit_branch=${INPUT_AUDIT_BRANCH:-driftlog/audit}
  args=(--terraform-bin "${INPUT_TERRAFORM_BIN:-terraform}" --audit-branch "$audit_branch" --quiet)
  truthy "${INPUT_INIT:-true}" && args+=(--init)
  [[ -n "${INPUT_CONFIG:-}" ]] && args+=(--config "$INPUT_CONFIG")
  [[ -n "${INPUT_JOBS:-}" ]] && args+=(--jobs "$INPUT_JOBS")
  while IFS= read -r events; do
    args+=(--events "$events")
  done < <(lines "${INPUT_EVENTS:-}")
  if [[ -n "${INPUT_SHARD:-}" ]]; then
    # The job that merges the shards posts the one comment, status and issues.
    args+=(--shard "$INPUT_SHARD" --no-comment --no-status --no-issue)
  fi
  if truthy "${INPUT_AUDIT:-true}"; then
    if [[ -z "${INPUT_SIGNING_KEY:-}" ]]; then
      error "audit is on but the signing-key input is empty: pass the key from a secret (\`driftlog keygen\` makes one), or set audit: false"
      exit 1
    fi
    export DRIFTLOG_SIGNING_KEY="$INPUT_SIGNING_KEY"
  else
    args+=(--no-audit)
  fi
  mapfile -t stacks < <(lines "${INPUT_STACKS-.}")
  name=all
  [[ -n "${INPUT_SHARD:-}" ]] && name="shard-${INPUT_SHARD/\//-of-}"
  "$driftlog" scan "${stacks[@]}" "${args[@]}" "${post[@]}" --output "$reports/$name.json"
  code=$?

  signers=${INPUT_ALLOWED_SIGNERS:-.driftlog/allowed_signers}
  if truthy "${INPUT_AUDIT:-true}" && git rev-parse --verify --quiet "refs/heads/$audit_branch" >/dev/null; then
    if [[ -f "$signers" ]]; then
      if ! "$driftlog" verify --branch "$audit_branch" --allowed-signers "$signers"; then
        error "the audit branch $audit_branch does not verify against $signers"
        code=1
      fi
    else
      echo "::notice title=driftlog::no allowed signers file at $signers, so the audit branch was not verified here; commit one (driftlog keygen prints its line)"
    fi
  fi
fi

case "$code" in
0) exit 0 ;;
2)
  if truthy "${INPUT_FAIL_ON_DRIFT:-false}"; then
    error "drift found and fail-on-drift is true"
    exit 2
  fi
  exit 0
  ;;
*)
  error "driftlog failed (exit $code); see the log above"
  exit 1
  ;;
esac
