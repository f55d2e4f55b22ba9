#!/usr/bin/env bash
# The action's scan step: one `driftlog scan` over the stacks, with the action's inputs
# (INPUT_* variables, set by action.yml) as flags, or `driftlog report merge` of shard jobs'
# reports. driftlog itself writes the job summary, step outputs and annotations, and posts the
# comment, status and issues; this script then verifies the audit branch against the allowed
# signers of the repository's default branch (never the pull request's own copy) and exits
# non-zero on a failed scan, or on drift when fail-on-drift is true.
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

# The key and the token live in shell variables from here on, handed to driftlog's own
# commands only (the key to the scan alone): git, jq and whatever else this script starts never
# see them, and driftlog takes them out of its environment before terraform starts, so no
# provider or local-exec does either.
signing_key=${INPUT_SIGNING_KEY:-}
github_token=${INPUT_GITHUB_TOKEN:-}
unset INPUT_SIGNING_KEY INPUT_GITHUB_TOKEN DRIFTLOG_SIGNING_KEY
driftlog_with_token() { INPUT_GITHUB_TOKEN="$github_token" "$driftlog" "$@"; }
driftlog_with_key() { INPUT_GITHUB_TOKEN="$github_token" DRIFTLOG_SIGNING_KEY="$signing_key" "$driftlog" "$@"; }
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
  audit=(--audit-branch "${INPUT_AUDIT_BRANCH:-driftlog/audit}" --audit-deadline "${INPUT_AUDIT_DEADLINE:-3m}")
  if truthy "${INPUT_AUDIT:-true}" && [[ -n "$signing_key" ]]; then
    # With the key, the merge first folds the records shards left on pending refs.
    driftlog_with_key report merge "${files[@]}" "${post[@]}" "${audit[@]}" --output "$reports/merged.json"
  else
    driftlog_with_token report merge "${files[@]}" "${post[@]}" --no-audit --output "$reports/merged.json"
  fi
  code=$?
else
  audit_branch=${INPUT_AUDIT_BRANCH:-driftlog/audit}
  args=(--terraform-bin "${INPUT_TERRAFORM_BIN:-terraform}" --audit-branch "$audit_branch" --audit-deadline "${INPUT_AUDIT_DEADLINE:-3m}" --quiet)
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
    if [[ -z "$signing_key" ]]; then
      error "audit is on but the signing-key input is empty: pass the key from a secret (\`driftlog keygen\` makes one), or set audit: false"
      exit 1
    fi
  else
    args+=(--no-audit)
  fi
  # The trust root comes from the default branch, which the pull request does not control:
  # fetched here, as actions/checkout fetches only the commit under test.
  signers=${INPUT_ALLOWED_SIGNERS:-.driftlog/allowed_signers}
  trust=()
  trust_error=""
  witnessed=""
  verified=""
  if truthy "${INPUT_AUDIT:-true}"; then
    default=$(git ls-remote --symref origin HEAD 2>/dev/null | sed -n 's|^ref: refs/heads/\(.*\)\tHEAD$|\1|p' | head -n 1)
    if [[ -z "$default" && -n "${GITHUB_EVENT_PATH:-}" ]] && command -v jq >/dev/null; then
      default=$(jq -r '.repository.default_branch // empty' "$GITHUB_EVENT_PATH" 2>/dev/null)
    fi
    depth=()
    [[ "$(git rev-parse --is-shallow-repository 2>/dev/null)" == true ]] && depth=(--depth=1)
    if [[ -z "$default" ]]; then
      trust_error="cannot tell the repository's default branch (git ls-remote --symref origin HEAD), so the audit branch cannot be verified against its allowed signers"
    elif ! git fetch --quiet --no-tags "${depth[@]}" origin "+refs/heads/$default:refs/remotes/origin/$default"; then
      trust_error="cannot fetch the default branch $default to read the allowed signers from"
    elif ! git cat-file -e "origin/$default:$signers" 2>/dev/null; then
      echo "::notice title=driftlog::no allowed signers file $signers on the default branch $default, so the audit branch was not verified here; commit one there (driftlog keygen prints its line)"
    elif [[ "$signers" == .driftlog/allowed_signers ]]; then
      trust=(--trust-ref "origin/$default")
    else
      git show "origin/$default:$signers" >"$reports/allowed_signers" && trust=(--allowed-signers "$reports/allowed_signers")
    fi
    if ((${#trust[@]})); then
      # The log as it is, before this run appends to it: fetched (fast-forward only, so a
      # local record not yet pushed is kept) and verified from the newest checkpoint GitHub
      # witnessed, else in full. A log that does not verify is not appended to: the scan
      # still reports drift, unrecorded, and the step fails. So no comment of this run ever
      # shows a checkpoint over a history that did not verify.
      git fetch --quiet --no-tags origin "refs/heads/$audit_branch:refs/heads/$audit_branch" 2>/dev/null || true
      if git rev-parse --verify --quiet "refs/heads/$audit_branch" >/dev/null; then
        witnessed=$(driftlog_with_token verify --branch "$audit_branch" "${trust[@]}" --print-witnessed) || witnessed=""
        since=()
        [[ -n "$witnessed" ]] && since=(--since "$witnessed")
        if driftlog_with_token verify --branch "$audit_branch" "${trust[@]}" "${since[@]}" >"$reports/verify-before.txt"; then
          cat "$reports/verify-before.txt"
          verified=$(sed -n 's/^checkpoint (keep it to verify later): //p' "$reports/verify-before.txt")
        else
          cat "$reports/verify-before.txt"
          trust_error="the audit branch $audit_branch does not verify against $signers on the default branch $default, so this scan was not recorded on it; see the problems above"
          args+=(--no-audit)
        fi
      fi
    fi
  fi

  mapfile -t stacks < <(lines "${INPUT_STACKS-.}")
  name=all
  [[ -n "${INPUT_SHARD:-}" ]] && name="shard-${INPUT_SHARD/\//-of-}"
  driftlog_with_key scan "${stacks[@]}" "${args[@]}" "${post[@]}" --output "$reports/$name.json"
  code=$?

  if [[ -n "$trust_error" ]]; then
    error "$trust_error"
    code=1
  elif ((${#trust[@]})) && git rev-parse --verify --quiet "refs/heads/$audit_branch" >/dev/null; then
    # What this run appended, from the checkpoint verified before it (else the whole branch).
    since=()
    [[ -n "$verified" ]] && since=(--since "$verified")
    if ! driftlog_with_token verify --branch "$audit_branch" "${trust[@]}" "${since[@]}"; then
      error "the audit branch $audit_branch does not verify against $signers on the default branch $default"
      code=1
    fi
  fi
fi

# Remediation acts only on drift this scan found and recorded on a log that verified; never
# after a shard's or a merge's run, which do not scan every stack.
remediable=false
if [[ -z "${INPUT_MERGE:-}" && -z "${INPUT_SHARD:-}" && -z "${trust_error:-}" ]] && ((code == 2)); then
  remediable=true
fi
[[ -n "${GITHUB_OUTPUT:-}" ]] && echo "remediable=$remediable" >>"$GITHUB_OUTPUT"
# Adoption acts on the same, and on a clean recorded scan too (it closes stale pull requests).
adoptable=false
if [[ -z "${INPUT_MERGE:-}" && -z "${INPUT_SHARD:-}" && -z "${trust_error:-}" ]] && ((code == 0 || code == 2)) && truthy "${INPUT_AUDIT:-true}"; then
  adoptable=true
fi
[[ -n "${GITHUB_OUTPUT:-}" ]] && echo "adoptable=$adoptable" >>"$GITHUB_OUTPUT"

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
