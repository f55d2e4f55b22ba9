#!/usr/bin/env bash
# The action's install step: puts the driftlog binary for this action's version on the runner
# and writes its path to the step output `path`.
#
# In order: the `binary` input; a binary an earlier step of the job installed; the release
# asset for the runner's platform, checked against the SHA-256 published beside it; a cargo
# build of the action's own source when the release has no asset for the platform.
set -euo pipefail

action_dir=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

output() { echo "$1=$2" >>"${GITHUB_OUTPUT:-/dev/stdout}"; }
die() {
  echo "::error title=driftlog install::$*" >&2
  exit 1
}
sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | awk '{print $1}'
  else
    shasum -a 256 "$1" | awk '{print $1}' # macOS runners
  fi
}

if [[ -n "${INPUT_BINARY:-}" ]]; then
  [[ -f "$INPUT_BINARY" && -x "$INPUT_BINARY" ]] ||
    die "the binary input ($INPUT_BINARY) is not an executable file"
  "$INPUT_BINARY" --version || die "$INPUT_BINARY --version failed: is it a driftlog binary?"
  output path "$(cd "$(dirname "$INPUT_BINARY")" && pwd)/$(basename "$INPUT_BINARY")"
  exit 0
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$action_dir/Cargo.toml" | head -n 1)
[[ -n "$version" ]] || die "cannot read driftlog's version from $action_dir/Cargo.toml"

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-gnu ;;
macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
*) target="" ;;
esac

install_dir="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/driftlog/$version/${target:-source}"
binary="$install_dir/driftlog"
if [[ -x "$binary" ]]; then
  "$binary" --version
  output path "$binary"
  exit 0
fi

release_base=${DRIFTLOG_RELEASE_BASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/driftlog/driftlog/releases/download}
asset="driftlog-$target.tar.gz"
url="$release_base/v$version/$asset"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { curl --fail --silent --show-error --location --retry 3 --retry-delay 2 --output "$2" "$1"; }

if [[ -n "$target" ]] && fetch "$url.sha256" "$work/$asset.sha256" 2>"$work/why"; then
  fetch "$url" "$work/$asset" || die "downloading $url failed"
  expected=$(awk '{print $1; exit}' "$work/$asset.sha256")
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "$url.sha256 does not hold a SHA-256"
  actual=$(sha256_of "$work/$asset")
  [[ "$actual" == "$expected" ]] ||
    die "checksum mismatch for $asset: published $expected, downloaded $actual; not installing it"
  tar -xzf "$work/$asset" -C "$work"
  [[ -f "$work/driftlog" ]] || die "$asset has no driftlog binary at its root"
  mkdir -p "$install_dir"
  install -m 0755 "$work/driftlog" "$binary"
else
  reason=$(tr '\n' ' ' <"$work/why" 2>/dev/null || true)
  echo "::notice title=driftlog install::no release asset of v$version for ${target:-this platform} ($url: ${reason:-unsupported platform}); building it with cargo"
  command -v cargo >/dev/null ||
    die "no release asset to download and no cargo to build one: set up Rust first (e.g. dtolnay/rust-toolchain) or pass the binary input"
  cargo build --release --locked --bin driftlog \
    --manifest-path "$action_dir/Cargo.toml" --target-dir "$install_dir/target"
  install -m 0755 "$install_dir/target/release/driftlog" "$binary"
fi
"$binary" --version
output path "$binary"
