# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034: driftlog and work are for the sourcing script; SC2154: it sets runs.)
# Sourced by the benchmark scripts: the test tools, a release driftlog, a fresh work
# directory, and timing helpers. Sets repo, target, driftlog and work; needs `runs` for
# median_time.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"

# bench_setup NAME: installs what the benchmarks need, builds driftlog, and enters an empty
# $target/bench/NAME.
bench_setup() {
  cd "$repo"
  bash scripts/setup-test-env.sh >/dev/null
  command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
  # shellcheck source=/dev/null
  source "$target/driftlog-tools/env"
  cargo build --quiet --release --bin driftlog
  driftlog="$target/release/driftlog"
  work="$target/bench/$1"
  rm -rf "$work"
  mkdir -p "$work"
  cd "$work"
}

now() { date +%s.%N; }

# Median wall time of $runs runs of a command; exit codes 0 and 2 are both success here.
median_time() {
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1 code
    t0=$(now)
    set +e
    "$@" >/dev/null 2>&1
    code=$?
    set -e
    t1=$(now)
    if ((code != 0 && code != 2)); then
      echo "benchmark command failed (exit $code): $*" >&2
      exit 1
    fi
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}
