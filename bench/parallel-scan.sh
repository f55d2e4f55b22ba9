#!/usr/bin/env bash
# Measures `driftlog scan -j N` over BENCH_STACKS (default 24) small stacks: wall time with
# -j 1 and with -j 2 (these machines have 2 cores), the speed-up, and how close it comes to
# the ideal of 2. Prints numbers measured in this run; asserts nothing.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
stacks="${BENCH_STACKS:-24}"
runs="${BENCH_RUNS:-5}"

bench_setup parallel-scan
# Its own repository, so discovery finds these stacks and nothing of driftlog's own.
git init -q .
echo "building $stacks stacks of 5 resources each..."
for i in $(seq -w 1 "$stacks"); do
  mkdir -p "stacks/s$i"
  cat >"stacks/s$i/main.tf" <<TF
terraform {
  required_providers {
    filestate = { source = "example/filestate", version = "0.1.0" }
  }
}
provider "filestate" {
  directory = "store"
}
resource "filestate_object" "r" {
  count       = 5
  name        = "s$i-\${count.index}"
  description = "stack $i"
  tags        = { env = "prod" }
}
TF
  (cd "stacks/s$i" && terraform init -input=false -no-color >/dev/null &&
    terraform apply -auto-approve -input=false -no-color >/dev/null)
done
# Drift in every third stack, so the scans that run `show` are measured too.
for i in $(seq -w 1 3 "$stacks"); do
  sed -i 's/"stack [0-9]*"/"edited by hand"/' "stacks/s$i/store/s$i-0.json"
done


serial=$(median_time "$driftlog" scan --no-audit --quiet -j 1 --format json)
parallel=$(median_time "$driftlog" scan --no-audit --quiet -j 2 --format json)
# Terraform waits on its provider plugins for part of every plan, so more scans than
# cores still help; shown for choosing -j, not part of the target.
oversubscribed=$(median_time "$driftlog" scan --no-audit --quiet -j 4 --format json)
speedup=$(echo "scale=2; $serial / $parallel" | bc)
of_ideal=$(echo "scale=0; 100 * $speedup / 2" | bc)
echo "$stacks stacks, median of $runs runs each, $(nproc) CPUs"
echo "  -j 1: ${serial} s"
echo "  -j 2: ${parallel} s"
echo "  speed-up ${speedup}x (ideal 2x: ${of_ideal} % of it; target at least 1.7x)"
echo "  -j 4: ${oversubscribed} s ($(echo "scale=2; $serial / $oversubscribed" | bc)x; terraform idles while its plugins start)"
