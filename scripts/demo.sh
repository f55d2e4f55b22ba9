#!/usr/bin/env bash
# Runs driftlog's main job on a built-in example: applies a demo stack with the filestate test
# provider, drifts it the way people and automation do, and scans it. Safe to run twice.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

bash scripts/setup-test-env.sh >/dev/null
tools="${CARGO_TARGET_DIR:-$repo/target}/driftlog-tools"
# shellcheck source=/dev/null
source "$tools/env"
cargo build --quiet --bin driftlog
driftlog="${CARGO_TARGET_DIR:-$repo/target}/debug/driftlog"

demo="${CARGO_TARGET_DIR:-$repo/target}/demo"
rm -rf "$demo"
mkdir -p "$demo"
mkdir -p "$demo/infra"
cp -r examples/demo "$demo/infra/prod"
cd "$demo/infra/prod"

echo "==> a git repository holding the stack, and a signing key for the audit log"
cd "$demo"
git init -q -b main .
git config user.name "driftlog demo"
git config user.email "demo@example.com"
printf '.terraform/\nstore/\n*.tfstate*\n.terraform.lock.hcl\nkeys/\nreport.*\n' > .gitignore
mkdir -p keys .driftlog
"$driftlog" keygen --output keys/signing_key --principal demo@example.com > .driftlog/allowed_signers 2>/dev/null
git add .gitignore .driftlog infra
git commit -q -m "demo stack"
cd "$demo/infra/prod"

echo "==> terraform init && terraform apply (demo stack, 10 resources)"
terraform init -input=false -no-color >/dev/null
terraform apply -auto-approve -input=false -no-color >/dev/null

echo "==> drifting it out of band: a console edit, an autoscaler, a rotated password, a manual delete"
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
edit("db-main", lambda o: o.update(secret="demo-password-after"))
edit("bucket-audit-trail", lambda o: o["tags"].update(purpose="temporary"))
(store / "subnet-1.json").unlink()
PY

echo "==> driftlog scan (recorded in the audit branch driftlog/audit)"
set +e
cd "$demo"
"$driftlog" scan infra/prod --signing-key keys/signing_key --output "$demo/report.json"
code=$?
"$driftlog" scan infra/prod --quiet --no-audit --format markdown --output "$demo/report.md" >/dev/null
set -e
echo
echo "==> the audit branch, checked with git itself"
git log --oneline driftlog/audit
git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=.driftlog/allowed_signers verify-commit driftlog/audit
echo
echo "==> driftlog verify (chain, signatures, Merkle checkpoints) and driftlog log"
"$driftlog" verify
"$driftlog" log
echo
echo "driftlog exited with $code (0 clean, 2 drift, 1 error)."
echo "JSON report: $demo/report.json"
echo "Pull-request comment body: $demo/report.md"
if [ "$code" -ne 2 ]; then
  echo "demo: expected drift (exit 2), got $code" >&2
  exit 1
fi
