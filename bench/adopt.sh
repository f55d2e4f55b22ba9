#!/usr/bin/env bash
# Measures `driftlog adopt --patch` against the bare terraform it rests on: on a small stack
# (two objects) with two drifted attributes recorded by one `driftlog scan`, the wall time of
# the adoption (reading the audit branch, the edit, the mirror and its targeted proof plan and
# show) next to a bare `terraform plan -target=ADDR -out=F` + `terraform show -json F`, and a
# scan of the same stack. --patch writes nothing, so every run adopts the same drift. Prints
# the median of BENCH_RUNS (default 5) runs each and their ratios, measured in this run;
# asserts nothing.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
runs="${BENCH_RUNS:-5}"

bench_setup adopt
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
  size = 3
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
action = "adopt"
reason = "the console change was the fix"
TOML
printf '.terraform/\nstore/\n*.tfstate*\nkey*\n*.tfplan\n' > .gitignore
git add . && git commit -qm stack
"$driftlog" keygen --output key --principal bench@example.com >/dev/null 2>&1
terraform init -input=false -no-color >/dev/null
terraform apply -auto-approve -input=false -no-color >/dev/null
python3 - <<'PY'
import json
path = "store/web.json"
obj = json.load(open(path))
obj["size"] = 5
obj["tags"]["env"] = "staging"
json.dump(obj, open(path, "w"))
PY
set +e
"$driftlog" scan . --signing-key key --quiet >/dev/null 2>&1
code=$?
set -e
((code == 2)) || { echo "the recording scan found no drift (exit $code)" >&2; exit 1; }
# A run that adopted nothing measures nothing.
"$driftlog" adopt . --patch 2>/dev/null | grep -q '^+  size = 5' ||
  { echo "driftlog adopt --patch did not adopt the drift" >&2; exit 1; }

bare() {
  terraform plan -input=false -no-color -target=filestate_object.web -out=bare.tfplan &&
    terraform show -json bare.tfplan
}
bare_s=$(median_time bare)
adopt_s=$(median_time "$driftlog" adopt . --patch)
scan_s=$(median_time "$driftlog" scan . --no-audit --quiet)
echo "two drifted attributes of 2 objects, median of $runs runs each, $(nproc) CPUs"
printf '  terraform plan -target -out + show -json: %6.2f s\n' "$bare_s"
printf '  driftlog adopt --patch:                   %6.2f s   ratio: %.2f\n' \
  "$adopt_s" "$(echo "$adopt_s / $bare_s" | bc -l)"
printf '  driftlog scan (unrecorded), for scale:    %6.2f s   ratio: %.2f\n' \
  "$scan_s" "$(echo "$scan_s / $bare_s" | bc -l)"
