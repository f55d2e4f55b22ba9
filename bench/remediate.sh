#!/usr/bin/env bash
# Measures `driftlog remediate --apply` against bare terraform reverting the same drift: on a
# small stack (two objects) with one drifted attribute, the wall time of the whole
# remediation (its re-check scan, targeted plan and show, the apply of that saved plan, the
# verifying scan and the signed records) next to a bare `terraform plan -target=ADDR -out=F`
# + `terraform apply F`. The drift is made again before every run, outside the timing (and,
# for driftlog, recorded by `driftlog scan`, which remediation acts on). Prints the median of
# BENCH_RUNS (default 5) runs each and their ratio, measured in this run; asserts nothing.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
runs="${BENCH_RUNS:-5}"
address=filestate_object.web

bench_setup remediate
# Its own repository on main: remediation reads the audit branch there, and applies only on
# the head of the default branch.
git init -q -b main .
git config user.name "driftlog bench"
git config user.email bench@example.com
cat > main.tf <<'TF'
terraform {
  required_providers {
    filestate = { source = "example/filestate", version = "0.1.0" }
  }
}
provider "filestate" {
  directory = "store"
}
resource "filestate_object" "web" {
  name = "web"
  tags = { env = "prod" }
}
resource "filestate_object" "db" {
  name = "db"
  tags = { env = "prod" }
}
TF
cat > .driftlog.toml <<'TOML'
[[remediate]]
resource = "filestate_object.*"
action = "revert"
reason = "objects change only through code"
TOML
printf '.terraform/\nstore/\n*.tfstate*\nkey*\n*.tfplan\n' > .gitignore
git add . && git commit -qm stack
"$driftlog" keygen --output key --principal bench@example.com >/dev/null 2>&1
terraform init -input=false -no-color >/dev/null
terraform apply -auto-approve -input=false -no-color >/dev/null

# The one drifted attribute, as an edit out of band would make it.
drift() {
  python3 - <<'PY'
import json
path = "store/web.json"
obj = json.load(open(path))
obj["tags"]["env"] = "staging"
json.dump(obj, open(path, "w"))
PY
}
drift_and_record() {
  drift
  set +e
  "$driftlog" scan . --signing-key key --quiet >/dev/null 2>&1
  local code=$?
  set -e
  ((code == 2)) || { echo "the recording scan found no drift (exit $code)" >&2; exit 1; }
}
# Fails unless the drift is gone: a run that reverted nothing measures nothing.
reverted() {
  python3 -c 'import json,sys; sys.exit(json.load(open("store/web.json"))["tags"]["env"] != "prod")' ||
    { echo "the run did not revert the drift" >&2; exit 1; }
}
remediate() { "$driftlog" remediate . --apply --signing-key key; }
bare() {
  terraform plan -input=false -no-color -target="$address" -out=bare.tfplan &&
    terraform apply -input=false -no-color bare.tfplan
}

# Median wall time of $runs runs of a command, each after `$1` (untimed); one untimed run
# first, to warm the caches.
median_after() {
  local setup=$1 times=()
  shift
  for i in $(seq 0 "$runs"); do
    "$setup"
    local t0 t1 code
    t0=$(now)
    set +e
    "$@" >/dev/null 2>&1
    code=$?
    set -e
    t1=$(now)
    ((code == 0)) || { echo "benchmark command failed (exit $code): $*" >&2; exit 1; }
    reverted
    ((i == 0)) || times+=("$(echo "$t1 - $t0" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

bare_s=$(median_after drift bare)
remediate_s=$(median_after drift_and_record remediate)
# What of that is the two scans: the re-check (of the drifted stack) and the verifying one (of
# the clean stack), each unrecorded here.
clean_s=$(median_time "$driftlog" scan . --no-audit --quiet)
drift
drifted_s=$(median_time "$driftlog" scan . --no-audit --quiet)
scans_s=$(echo "$drifted_s + $clean_s" | bc)
records=$(git ls-tree -r --name-only driftlog/audit records | grep -c '\.json$' || true)
echo "one drifted attribute of 2 objects, median of $runs runs each, $(nproc) CPUs"
printf '  terraform plan -target -out + apply: %6.2f s\n' "$bare_s"
printf '  driftlog remediate --apply:          %6.2f s   ratio: %.2f\n' \
  "$remediate_s" "$(echo "$remediate_s / $bare_s" | bc -l)"
printf '  of that, its two scans: %.2f s (drifted %.2f + clean %.2f); the rest (plan, show, apply, records): %.2f s\n' \
  "$scans_s" "$drifted_s" "$clean_s" "$(echo "$remediate_s - $scans_s" | bc)"
echo "  ($records records on the audit branch: each run's scan, verifying scan and remediation)"
