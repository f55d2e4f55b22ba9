#!/usr/bin/env bash
# Runs driftlog's main job on a built-in example: applies a demo stack with the filestate test
# provider (recorded), scans it clean, drifts it the way people and automation do, scans it
# again, explains the drift from the audit log and a CloudTrail file, reverts the security
# group's drift by a predefined rule (a dry run, then a guarded apply), and adopts the
# database's resize into the code (proven by terraform). Beside it, a CloudFormation stack
# served by a local fake of the CloudFormation API (no AWS account): the same scan finds its
# drift, keeps its NoEcho password secret, and lists what CloudFormation could not check.
# Safe to run twice.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

bash scripts/setup-test-env.sh >/dev/null
tools="${CARGO_TARGET_DIR:-$repo/target}/driftlog-tools"
# shellcheck source=/dev/null
source "$tools/env"
cargo build --quiet --bin driftlog
cargo build --quiet -p fake-cloudformation --bin fake-cloudformation
driftlog="${CARGO_TARGET_DIR:-$repo/target}/debug/driftlog"
fake_cloudformation="${CARGO_TARGET_DIR:-$repo/target}/debug/fake-cloudformation"

demo="${CARGO_TARGET_DIR:-$repo/target}/demo"
rm -rf "$demo"
mkdir -p "$demo"
mkdir -p "$demo/infra"
cp -r examples/demo "$demo/infra/prod"
mkdir -p "$demo/cfn"
cp examples/cloudformation/app.yaml "$demo/cfn/app.yaml"
# The secret the CloudFormation stack's NoEcho parameter holds: it must never be shown.
cfn_secret=$(python3 -c 'import json, sys; print(next(p["value"] for p in json.load(open(sys.argv[1]))["stacks"][0]["parameters"] if p.get("no_echo")))' examples/cloudformation/scenario.json)

echo "==> a local fake of the CloudFormation API (fake-cloudformation, on 127.0.0.1): NOT AWS."
echo "    No AWS account or credentials are used; the real AWS CLI talks to the fake. It serves"
echo "    the stack demo-app (examples/cloudformation/scenario.json), already drifted."
fake_run="${CARGO_TARGET_DIR:-$repo/target}/demo-cloudformation"
rm -rf "$fake_run"
mkdir -p "$fake_run"
fake_pid=""
stop_fake() {
  if [ -n "$fake_pid" ]; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
}
trap stop_fake EXIT
# Its standard input is a pipe only this script writes to: if the script dies without running
# the trap, the fake sees the pipe close and stops too.
mkfifo "$fake_run/stdin"
"$fake_cloudformation" --scenario examples/cloudformation/scenario.json \
  --port-file "$fake_run/url" <"$fake_run/stdin" >/dev/null &
fake_pid=$!
exec 9>"$fake_run/stdin"
for _ in $(seq 100); do
  [ -s "$fake_run/url" ] && break
  kill -0 "$fake_pid" 2>/dev/null || { echo "demo: fake-cloudformation did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$fake_run/url" ] || { echo "demo: fake-cloudformation wrote no port file" >&2; exit 1; }
export AWS_ENDPOINT_URL
AWS_ENDPOINT_URL="$(cat "$fake_run/url")"
export AWS_ACCESS_KEY_ID=demo-not-a-key AWS_SECRET_ACCESS_KEY=demo-not-a-secret
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
cd "$demo/infra/prod"

echo "==> a git repository holding the stack, and a signing key for the audit log"
cd "$demo"
git init -q -b main .
git config user.name "driftlog demo"
git config user.email "demo@example.com"
printf '.terraform/\nstore/\n*.tfstate*\n.terraform.lock.hcl\nkeys/\nreport.*\nscan.log\ncloudtrail.json\n' > .gitignore
mkdir -p keys .driftlog
"$driftlog" keygen --output keys/signing_key --principal demo@example.com > .driftlog/allowed_signers 2>/dev/null
cat > .driftlog.toml <<'TOML'
[[stacks]]
path = "infra/prod"

[[stacks]]
cloudformation = "demo-app"     # served by the local fake, not AWS
region = "eu-west-1"
template = "cfn/app.yaml"       # annotations in Actions point at each resource's line

[[remediate]]
resource = "filestate_object.web_sg"
action = "revert"
reason = "security groups change only through code"

[[remediate]]
resource = "filestate_object.database"
attribute = "size"
action = "adopt"
reason = "the DBA grew the disk at 3 a.m.; keep it"

[[remediate]]
resource = "filestate_object.bucket*"
action = "adopt"
reason = "bucket tags follow the console"
TOML
git add .gitignore .driftlog .driftlog.toml infra cfn
git commit -q -m "demo stack"
cd "$demo/infra/prod"

echo "==> terraform init, then driftlog apply (terraform apply, recorded in the audit log)"
terraform init -input=false -no-color >/dev/null
cd "$demo"
"$driftlog" apply infra/prod --signing-key keys/signing_key -- -auto-approve -no-color | tail -n 3

echo "==> driftlog scan: clean"
"$driftlog" scan infra/prod --signing-key keys/signing_key --quiet
# CloudTrail times have one-second resolution: the console edit comes a second later.
sleep 1
cd "$demo/infra/prod"

echo "==> a refactor in code: filestate_object.db renamed to database (a moved block), committed"
sed -i 's/resource "filestate_object" "db"/resource "filestate_object" "database"/' main.tf
printf '\nmoved {\n  from = filestate_object.db\n  to   = filestate_object.database\n}\n' >> main.tf
(cd "$demo" && git commit -q -am "rename db to database")

echo "==> drifting it out of band: a console edit, an autoscaler (under ignore_changes), a"
echo "    health check (a computed status), a rotated password, a manual delete"
python3 - <<'PY'
import json, pathlib
store = pathlib.Path("store")
def edit(name, change):
    path = store / f"{name}.json"
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj, indent=2))
def open_ssh(o):
    o["rule"][1]["cidr_blocks"][0] = "0.0.0.0/0"
    o["tags"]["env"] = "staging"
    o["tags"]["edited-by"] = "console"
edit("web-sg", open_ssh)
edit("worker-1", lambda o: o.update(size=5))
edit("worker-2", lambda o: o.update(status="degraded"))
edit("db-main", lambda o: o.update(secret="demo-password-after"))
edit("bucket-audit-trail", lambda o: o["tags"].update(purpose="temporary"))
(store / "subnet-1.json").unlink()

# What AWS CloudTrail would have logged for the console edit (and for unrelated calls).
import datetime
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def event(event_id, name, group, read_only=False):
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/ops-admin/alice",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ops-admin",
                               "arn": "arn:aws:iam::123456789012:role/ops-admin"}},
        },
        "eventTime": now, "eventSource": "ec2.amazonaws.com", "eventName": name,
        "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7",
        "userAgent": "AWS Internal", "requestParameters": {"groupId": group},
        "eventID": event_id, "readOnly": read_only, "eventType": "AwsApiCall",
    }
trail = {"Records": [
    event("3f2a9c1e-demo", "ModifySecurityGroupRules", "web-sg"),
    event("77b1d0aa-demo", "DescribeSecurityGroups", "web-sg", read_only=True),
    event("0c5e44f2-demo", "ModifySecurityGroupRules", "sg-elsewhere"),
]}
pathlib.Path("../../cloudtrail.json").write_text(json.dumps(trail, indent=2))
PY

echo "==> driftlog scan: both stacks of .driftlog.toml, the Terraform one and the CloudFormation"
echo "    one (from the local fake), in one combined report, each recorded in driftlog/audit"
set +e
cd "$demo"
# A CloudFormation stack is recorded in the log of the repository the run starts in.
"$driftlog" scan --signing-key keys/signing_key --events cloudtrail.json \
  --output "$demo/report.json" 2>&1 |
  tee "$demo/scan.log"
code=${PIPESTATUS[0]}
"$driftlog" scan --quiet --no-audit --format markdown --output "$demo/report.md" >/dev/null
set -e
echo
echo "==> the audit branch, checked with git itself"
git log --oneline driftlog/audit
git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=.driftlog/allowed_signers verify-commit driftlog/audit
echo
echo "==> driftlog verify (chain, signatures, Merkle checkpoints) and driftlog log"
"$driftlog" verify --trust-ref main   # no remote here: the trust root is main's allowed signers
"$driftlog" log
echo
echo "==> driftlog explain filestate_object.web_sg --events cloudtrail.json"
"$driftlog" explain filestate_object.web_sg --events cloudtrail.json
echo "==> driftlog history filestate_object.web_sg"
"$driftlog" history filestate_object.web_sg
echo
echo "==> driftlog remediate infra/prod: a dry run of the .driftlog.toml rule (changes nothing)"
echo "    It refuses: the rename in code was never applied, and a targeted plan cannot leave it out."
set +e
"$driftlog" remediate infra/prod
echo "==> the rename applied on its own (driftlog apply -target, recorded), then a recorded scan"
"$driftlog" apply infra/prod --signing-key keys/signing_key -- -auto-approve -no-color \
  -target=filestate_object.database -target=filestate_object.db | tail -n 1
"$driftlog" scan infra/prod --signing-key keys/signing_key --quiet >/dev/null
echo "==> driftlog remediate infra/prod --apply: the guarded saved plan applied, verified, recorded"
"$driftlog" remediate infra/prod --apply --signing-key keys/signing_key
remediated=$?
"$driftlog" log --limit 1 | grep -q reverted || remediated=unverified
echo "==> the night after: a DBA grew the database's disk by hand; the nightly scan records it"
python3 - <<'PY'
import json, pathlib
path = pathlib.Path("infra/prod/store/db-main.json")
obj = json.loads(path.read_text())
obj["size"] = 150
path.write_text(json.dumps(obj, indent=2))
PY
"$driftlog" scan infra/prod --signing-key keys/signing_key --quiet >/dev/null
echo "==> driftlog adopt infra/prod --patch: the database's resize written into code, proven by"
echo "    a terraform plan of the edited code; the bucket tag is set by each.key, so it is refused"
"$driftlog" adopt infra/prod --patch
echo "==> driftlog adopt infra/prod --write: the same edit made, and recorded"
"$driftlog" adopt infra/prod --write --signing-key keys/signing_key
adopted=$?
set -e
git diff --stat
"$driftlog" log --limit 4
echo
echo "driftlog scan exited with $code (0 clean, 2 drift, 1 error)."
echo "The CloudFormation stack demo-app came from a local fake of the CloudFormation API, not AWS."
echo "driftlog remediate exited with $remediated (2: the drift no rule reverts remains)."
echo "driftlog adopt exited with $adopted (2: some drift was not adopted, as said above)."
echo "JSON report: $demo/report.json"
echo "Pull-request comment body: $demo/report.md"
if [ "$code" -ne 2 ]; then
  echo "demo: expected drift (exit 2), got $code" >&2
  exit 1
fi
if ! python3 - "$demo/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
by_dir = {s["stack"]["dir"]: s for s in report["stacks"]}
cfn = by_dir["cloudformation/eu-west-1/demo-app"]
drifted = {r["address"]: r for r in cfn["resources"]}
assert {c["path"] for c in drifted["AppSecurityGroup"]["changes"]} == {"SecurityGroupIngress[0].CidrIp"}
assert all(c["after"]["kind"] == "sensitive" for c in drifted["AppDatabase"]["changes"])
assert [n["address"] for n in cfn["not_checked"]] == ["ReadyHandle"]
assert by_dir["infra/prod"]["status"] == "drifted"
PY
then
  echo "demo: expected the CloudFormation stack's drift in $demo/report.json beside Terraform's" >&2
  exit 1
fi
if grep -rqF "$cfn_secret" "$demo/report.json" "$demo/report.md" "$demo/scan.log" ||
  git grep -qF "$cfn_secret" driftlog/audit; then
  echo "demo: the CloudFormation stack's NoEcho password was shown" >&2
  exit 1
fi
if [ "$remediated" != 2 ]; then
  echo "demo: expected the security group reverted and other drift left (exit 2), got $remediated" >&2
  exit 1
fi
if [ "$adopted" -ne 2 ] || ! grep -q "size    = 150" infra/prod/main.tf; then
  echo "demo: expected the database size adopted into infra/prod/main.tf (exit 2), got $adopted" >&2
  exit 1
fi
