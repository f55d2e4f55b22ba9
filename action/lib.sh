# shellcheck shell=bash disable=SC2034
# (SC2034: driftlog, github_token and stacks are for the sourcing script.)
# Shared by the action's steps that run after the scan (remediate.sh, adopt.sh): sourced.

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

# What every recorded step needs: the audit log and its key. $1 names the step, $2 what it records.
needs_audit() {
  if ! truthy "${INPUT_AUDIT:-true}"; then
    error "$1 needs audit: true ($1 acts on recorded drift and records what it $2)"
    exit 1
  fi
  if [[ -z "$signing_key" ]]; then
    error "$1 needs the signing-key input: everything it $2 is recorded, signed, on the audit branch"
    exit 1
  fi
}

# The arguments the scan step's stacks and settings give every later step.
common_args() {
  args+=(--terraform-bin "${INPUT_TERRAFORM_BIN:-terraform}" --audit-branch "${INPUT_AUDIT_BRANCH:-driftlog/audit}" --audit-deadline "${INPUT_AUDIT_DEADLINE:-3m}")
  truthy "${INPUT_INIT:-true}" && args+=(--init)
  [[ -n "${INPUT_CONFIG:-}" ]] && args+=(--config "$INPUT_CONFIG")
  mapfile -t stacks < <(lines "${INPUT_STACKS-.}")
}
