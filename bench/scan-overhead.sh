#!/usr/bin/env bash
# Measures driftlog against bare terraform on one stack of BENCH_RESOURCES (default 2000)
# resources, clean and with 10 % drifted (and, drifted, what classifying the drift costs; then
# with computed-only drift too, which takes the targeted normal plan), and driftlog's show-JSON
# throughput against jq.
# Prints ratios measured in this run; asserts nothing.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
resources="${BENCH_RESOURCES:-2000}"
runs="${BENCH_RUNS:-3}"

bench_setup scan-overhead
cat > main.tf <<TF
terraform {
  required_providers {
    filestate = { source = "example/filestate", version = "0.1.0" }
  }
}
provider "filestate" {
  directory = "store"
}
resource "filestate_object" "r" {
  count       = $resources
  name        = "r-\${count.index}"
  description = "resource \${count.index}"
  size        = count.index
  enabled     = true
  secret      = "secret-\${count.index}"
  tags        = { env = "prod", team = "platform", index = tostring(count.index) }
  rule {
    port        = 443
    cidr_blocks = ["10.0.0.0/8", "10.1.0.0/16"]
  }
}
TF
echo "building a stack of $resources resources..."
terraform init -input=false -no-color >/dev/null
start=$(now)
terraform apply -auto-approve -input=false -no-color -parallelism=20 >/dev/null
echo "apply: $(echo "$(now) - $start" | bc) s"

bare() { terraform plan -refresh-only -json -input=false -detailed-exitcode -out=bare.tfplan; }
scan() { "$driftlog" scan . --format json --quiet --no-audit; }

compare() {
  local label=$1 bare_s scan_s
  bare_s=$(median_time bare)
  scan_s=$(median_time scan)
  printf '%-8s terraform plan -refresh-only -json: %6.2f s   driftlog scan: %6.2f s   ratio: %.3f\n' \
    "$label" "$bare_s" "$scan_s" "$(echo "$scan_s / $bare_s" | bc -l)"
}

echo "median of $runs runs each:"
compare clean
python3 - "$resources" <<'PY'
import json, pathlib, sys
for i in range(0, int(sys.argv[1]), 10):
    path = pathlib.Path("store") / f"r-{i}.json"
    obj = json.loads(path.read_text())
    obj["tags"]["env"] = "drifted"
    obj["rule"][0]["cidr_blocks"][1] = "0.0.0.0/0"
    path.write_text(json.dumps(obj))
PY
compare "drifted"
# What a drifted scan cost before classification: the refresh-only plan and its show. The
# rest of driftlog's time on a drifted stack is the targeted normal plan that classifies.
bare_show() { bare || [ $? -eq 2 ]; terraform show -json bare.tfplan >/dev/null; }
plan_show_s=$(median_time bare_show)
scan_s=$(median_time scan)
printf 'drifted  plan -refresh-only + show: %6.2f s   driftlog scan: %6.2f s   classification adds %.2f s (%.0f %% of the bare plan)\n' \
  "$plan_show_s" "$scan_s" "$(echo "$scan_s - $plan_show_s" | bc -l)" \
  "$(echo "($scan_s - $plan_show_s) * 100 / $(median_time bare)" | bc -l)"
scan >/dev/null 2>&1 || true
drifted=$("$driftlog" scan . --format json --quiet --no-audit | jq '.summary.drifted' || true)
echo "drifted resources found: $drifted of $resources"

# The same drift plus a computed-only attribute on each drifted resource: the provider schema
# cannot say whether apply would set it back, so the targeted normal plan classifies.
python3 - "$resources" <<'PY'
import json, pathlib, sys
for i in range(0, int(sys.argv[1]), 10):
    path = pathlib.Path("store") / f"r-{i}.json"
    obj = json.loads(path.read_text())
    obj["status"] = "stopped"
    path.write_text(json.dumps(obj))
PY
compare "computed"

terraform show -json bare.tfplan > show.json
# A larger document from the same real entries: 50 copies of each, under distinct addresses.
python3 - <<'PY'
import copy, json
doc = json.load(open("show.json"))
entries = doc.get("resource_drift", [])
doc["resource_drift"] = [
    dict(copy.deepcopy(e), address=f"module.copy{k}.{e['address']}", module_address=f"module.copy{k}")
    for k in range(50) for e in entries
]
json.dump(doc, open("show-large.json", "w"))
PY
cd "$repo"
for doc in show.json show-large.json; do
  echo "-- $doc"
  cargo bench --quiet --bench analyse_show -- "$work/$doc"
  bytes=$(stat -c %s "$work/$doc")
  jq_s=$(cd "$work" && median_time jq '.resource_drift|length' "$doc")
  printf 'jq .resource_drift|length: %.2f MB in %.3f s = %.1f MB/s\n' \
    "$(echo "$bytes / 1000000" | bc -l)" "$jq_s" "$(echo "$bytes / 1000000 / $jq_s" | bc -l)"
done
