#!/usr/bin/env bash
# The action's scan step: `driftlog scan` in each stack, with the action's inputs (INPUT_*
# variables, set by action.yml) as flags. driftlog itself writes the job summary, annotations,
# comment, status and issue; this script adds up the step outputs over all stacks, verifies the
# audit branch, and exits non-zero on a failed scan, or on drift when fail-on-drift is true.
set -uo pipefail

driftlog=${DRIFTLOG:-driftlog}
truthy() {
  case "${1,,}" in
  true | yes | on | 1) return 0 ;;
  *) return 1 ;;
  esac
}
error() { echo "::error title=driftlog::$*" >&2; }

audit_branch=${INPUT_AUDIT_BRANCH:-driftlog/audit}
args=(--terraform-bin "${INPUT_TERRAFORM_BIN:-terraform}" --audit-branch "$audit_branch" --quiet)
truthy "${INPUT_INIT:-true}" && args+=(--init)
truthy "${INPUT_COMMENT:-true}" || args+=(--no-comment)
truthy "${INPUT_FAIL_ON_DRIFT:-false}" && args+=(--fail-on-drift)
[[ -n "${INPUT_CONFIG:-}" ]] && args+=(--config "$INPUT_CONFIG")
audit=false
if truthy "${INPUT_AUDIT:-true}"; then
  audit=true
  if [[ -z "${INPUT_SIGNING_KEY:-}" ]]; then
    error "audit is on but the signing-key input is empty: pass the key from a secret (\`driftlog keygen\` makes one), or set audit: false"
    exit 1
  fi
  export DRIFTLOG_SIGNING_KEY="$INPUT_SIGNING_KEY"
else
  args+=(--no-audit)
fi
export GITHUB_TOKEN="${INPUT_GITHUB_TOKEN:-${GITHUB_TOKEN:-}}"

reports="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/driftlog-reports"
mkdir -p "$reports"
drift=false
drifted=0
failed=0
report=""
audit_head=""
scanned=0

while IFS= read -r stack || [[ -n "$stack" ]]; do
  stack="${stack#"${stack%%[![:space:]]*}"}"
  stack="${stack%"${stack##*[![:space:]]}"}"
  [[ -z "$stack" || "$stack" == \#* ]] && continue
  scanned=$((scanned + 1))
  name=$(printf '%s' "$stack" | tr -c 'A-Za-z0-9._-' '_')
  json="$reports/$name.json"
  outputs=$(mktemp "$reports/outputs.XXXXXX")
  echo "::group::driftlog scan $stack"
  # driftlog's own outputs go to a scratch file: the action's outputs cover every stack.
  GITHUB_OUTPUT="$outputs" "$driftlog" scan "$stack" "${args[@]}" --output "$json"
  code=$?
  echo "::endgroup::"
  while IFS='=' read -r key value; do
    case "$key" in
    drift) [[ "$value" == true ]] && drift=true ;;
    drifted-resources) [[ "$value" =~ ^[0-9]+$ ]] && drifted=$((drifted + value)) ;;
    audit-head) [[ -n "$value" ]] && audit_head="$value" ;;
    esac
  done <"$outputs"
  rm -f "$outputs"
  [[ -f "$json" ]] && report="$json"
  case "$code" in
  0 | 2) ;;
  *)
    error "scanning $stack failed (exit $code); see the log above"
    failed=$((failed + 1))
    ;;
  esac
done <<<"${INPUT_STACKS:-.}"

if ((scanned == 0)); then
  error "the stacks input names no directory"
  failed=1
fi

if [[ "$audit" == true && -n "$audit_head" ]]; then
  signers=${INPUT_ALLOWED_SIGNERS:-.driftlog/allowed_signers}
  if [[ -f "$signers" ]]; then
    if ! "$driftlog" verify --branch "$audit_branch" --allowed-signers "$signers"; then
      error "the audit branch $audit_branch does not verify against $signers"
      failed=$((failed + 1))
    fi
  else
    echo "::notice title=driftlog::no allowed signers file at $signers, so the audit branch was not verified here; commit one (driftlog keygen prints its line)"
  fi
fi

{
  echo "drift=$drift"
  echo "drifted-resources=$drifted"
  echo "report=$report"
  echo "audit-head=$audit_head"
} >>"${GITHUB_OUTPUT:-/dev/stdout}"

if ((failed > 0)); then
  exit 1
fi
if [[ "$drift" == true ]] && truthy "${INPUT_FAIL_ON_DRIFT:-false}"; then
  error "drift found in $drifted resource(s) and fail-on-drift is true"
  exit 2
fi
exit 0
