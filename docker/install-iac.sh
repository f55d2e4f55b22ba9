#!/bin/sh
# Installs Terraform or OpenTofu from its official release archive into /opt/<tool>/, checking
# the archive's SHA-256 first. Run by the Dockerfile's `iac` stage; every input is a build
# argument there (see the Dockerfile for their defaults):
#
#   IAC_TOOL             terraform (default) or tofu
#   TERRAFORM_VERSION    TERRAFORM_SHA256 | TERRAFORM_SHA256_<ARCH>    TERRAFORM_ARCHIVE
#   TOFU_VERSION         TOFU_SHA256      | TOFU_SHA256_<ARCH>         TOFU_ARCHIVE
#   TARGETARCH           set by the builder (BuildKit, podman); else dpkg's architecture
#
# *_SHA256 wins over the per-architecture default. *_ARCHIVE is a path in the build context,
# already copied to /tmp/iac-archive/ by the Dockerfile; the placeholder docker/NO_ARCHIVE (the
# default) means "download the release". Either way the checksum is verified and the archive
# is unpacked whole (the release's LICENSE stays beside the binary), and the binary must report
# the pinned version.
set -eu

die() {
    echo "install-iac: error: $*" >&2
    exit 1
}
log() { echo "install-iac: $*" >&2; }

tool=${IAC_TOOL:-terraform}
arch=${TARGETARCH:-$(dpkg --print-architecture)}
arch_upper=$(echo "$arch" | tr '[:lower:]-' '[:upper:]_')

case "$tool" in
terraform)
    version=${TERRAFORM_VERSION:-}
    sha256=${TERRAFORM_SHA256:-}
    [ -n "$sha256" ] || eval "sha256=\${TERRAFORM_SHA256_$arch_upper:-}"
    archive=${TERRAFORM_ARCHIVE:-}
    url="https://releases.hashicorp.com/terraform/$version/terraform_${version}_linux_$arch.zip"
    arg=TERRAFORM
    ;;
tofu)
    version=${TOFU_VERSION:-}
    sha256=${TOFU_SHA256:-}
    [ -n "$sha256" ] || eval "sha256=\${TOFU_SHA256_$arch_upper:-}"
    archive=${TOFU_ARCHIVE:-}
    url="https://github.com/opentofu/opentofu/releases/download/v$version/tofu_${version}_linux_$arch.zip"
    arg=TOFU
    ;;
*)
    die "IAC_TOOL must be terraform or tofu, not '$tool'"
    ;;
esac

[ -n "$version" ] || die "${arg}_VERSION is empty"
echo "$sha256" | grep -Eq '^[0-9a-f]{64}$' ||
    die "no SHA-256 for $tool $version on linux_$arch: pass --build-arg ${arg}_SHA256=<64 hex digits> (from ${tool}_${version}_SHA256SUMS)"

case "$archive" in
"" | docker/NO_ARCHIVE | ./docker/NO_ARCHIVE) local_archive="" ;;
*) local_archive=/tmp/iac-archive/$(basename "$archive") ;;
esac

packages="unzip"
[ -n "$local_archive" ] || packages="$packages ca-certificates curl"
apt-get update -qq
# shellcheck disable=SC2086 # a list of package names
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null

zip=/tmp/iac-download.zip
if [ -n "$local_archive" ]; then
    [ -f "$local_archive" ] || die "${arg}_ARCHIVE=$archive was not copied into the build"
    log "using $archive from the build context"
    zip=$local_archive
else
    log "downloading $url"
    curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
        --retry 3 --retry-delay 2 --output "$zip" "$url" ||
        die "downloading $url failed (offline? pass ${arg}_ARCHIVE=<path in the build context>)"
fi

actual=$(sha256sum "$zip" | cut -d' ' -f1)
[ "$actual" = "$sha256" ] ||
    die "SHA-256 mismatch for $tool $version (linux_$arch): expected $sha256, got $actual"
log "SHA-256 verified: $actual"

rm -rf "/opt/$tool"
mkdir -p "/opt/$tool"
unzip -q "$zip" -d "/opt/$tool"
[ -f "/opt/$tool/$tool" ] || die "the archive has no '$tool' at its top level"
chmod 0755 "/opt/$tool/$tool"

# The binary must run here and be the pinned version.
reported=$(CHECKPOINT_DISABLE=1 "/opt/$tool/$tool" version) ||
    die "'$tool version' failed in the runtime base image"
echo "$reported" | head -n 1 | grep -Fq "v$version" ||
    die "expected $tool v$version, the archive's binary says: $(echo "$reported" | head -n 1)"
log "installed $(echo "$reported" | head -n 1) in /opt/$tool"

# Only /opt/$tool leaves this stage: nothing else needs cleaning up.
