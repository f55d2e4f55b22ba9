#!/usr/bin/env bash
# Measures `driftlog scan --cloudformation` through the real AWS CLI against the
# fake-cloudformation binary on loopback: stacks of 1, 10 and 50 drifted resources, and a
# stack holding a nested stack (two reports). Per scan: the median wall time of BENCH_RUNS
# (default 3) runs, the AWS CLI calls it made (counted by a wrapper around the CLI), and the
# ratios measured in this run: seconds per call, and the scan against that many bare
# `aws cloudformation describe-stacks` calls (the CLI's own cost; what is above it is
# driftlog's polling waits and work). Asserts nothing; takes about a minute after the build.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
runs="${BENCH_RUNS:-3}"

bench_setup cloudformation
cargo build --quiet --release -p fake-cloudformation --bin fake-cloudformation \
  --manifest-path "$repo/Cargo.toml"
fake_bin="$target/release/fake-cloudformation"

# Every call of the CLI leaves a line here, then runs the real one.
aws_bin="$(command -v aws)"
cat >aws-counted <<SH
#!/usr/bin/env bash
echo call >>"$work/calls"
exec "$aws_bin" "\$@"
SH
chmod +x aws-counted

python3 - <<'PY'
import json
def stack(name, drifted, extra=()):
    resources = [
        {"logical_id": f"Topic{i:03}", "type": "AWS::SNS::Topic", "physical_id": f"{name}-t{i}",
         "expected": {"DisplayName": "as deployed", "Tags": [{"Key": "env", "Value": "prod"}]},
         "actual": {"DisplayName": "edited by hand", "Tags": [{"Key": "env", "Value": "prod"}]}}
        for i in range(drifted)
    ]
    ids = "".join(f"  Topic{i:03}:\n    Type: AWS::SNS::Topic\n" for i in range(drifted))
    return {"name": name, "template": "Resources:\n" + ids, "resources": resources + list(extra)}
nested = {"logical_id": "Child", "type": "AWS::CloudFormation::Stack", "nested_stack": "parent-Child-1ABC"}
scenario = {"stacks": [
    stack("r1", 1), stack("r10", 10), stack("r50", 50),
    stack("parent", 10, [nested]), stack("parent-Child-1ABC", 10),
]}
json.dump(scenario, open("scenario.json", "w"))
PY

fake_pid=""
stop_fake() {
  if [ -n "$fake_pid" ]; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
}
trap stop_fake EXIT
# Stdin is a pipe only this script holds: the fake stops with it, trap or not.
mkfifo fake.stdin
"$fake_bin" --scenario scenario.json --port-file fake.url <fake.stdin >/dev/null &
fake_pid=$!
exec 9>fake.stdin
for _ in $(seq 100); do
  [ -s fake.url ] && break
  sleep 0.1
done
[ -s fake.url ] || { echo "fake-cloudformation did not start" >&2; exit 1; }

export AWS_ENDPOINT_URL
AWS_ENDPOINT_URL="$(cat fake.url)"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN

bare_call() { "$aws_bin" cloudformation describe-stacks --stack-name r1 --output json; }
# measure NAME: the median wall time of $runs scans of stack NAME, and the CLI calls each made
# (the same every run: the fake answers alike), as "SECONDS CALLS".
measure() {
  local times=() calls=() t0 t1 code
  for _ in $(seq "$runs"); do
    : >calls
    t0=$(now)
    set +e
    "$driftlog" scan --cloudformation "$1" --aws-bin "$work/aws-counted" --no-audit --quiet \
      --format json >"scan-$1.json" 2>"scan-$1.err"
    code=$?
    set -e
    t1=$(now)
    if ((code != 2)); then
      echo "the scan of $1 found no drift (exit $code): $(tail -n 3 "scan-$1.err")" >&2
      exit 1
    fi
    times+=("$(echo "$t1 - $t0" | bc)")
    calls+=("$(wc -l <calls)")
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")" \
    "$(printf '%s\n' "${calls[@]}" | sort -n | tail -n 1)"
}
drifted_of() {
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sum(s["summary"]["drifted"] for s in r.get("stacks", [r])))' "scan-$1.json"
}

bare_s=$(median_time bare_call)
printf 'one bare aws cloudformation describe-stacks: %.3f s (median of %s)\n' "$bare_s" "$runs"
echo "driftlog scan --cloudformation, median of $runs runs each (CLI calls include aws --version):"
base_s=""
for name in r1 r10 r50 parent; do
  read -r scan_s calls < <(measure "$name")
  base_s=${base_s:-$scan_s}
  label=$name
  [ "$name" = parent ] && label="parent+nested"
  printf '%-14s %3s drifted  %6.2f s  %3s CLI calls  %.3f s/call  %.2fx the bare calls  %.2fx r1\n' \
    "$label" "$(drifted_of "$name")" "$scan_s" "$calls" "$(echo "$scan_s / $calls" | bc -l)" \
    "$(echo "$scan_s / ($calls * $bare_s)" | bc -l)" "$(echo "$scan_s / $base_s" | bc -l)"
done
