#!/usr/bin/env bash
# Runs lmsim's libFuzzer targets (fuzz/, docs/robustness.md), one after the other.
#   scripts/fuzz.sh [SECONDS_EACH] [TARGET...]      (default 600 s; every target)
# Needs the clang build: CC=clang CXX=clang++ cmake -S . -B build-fuzz -DLMSIM_FUZZ=ON
#                        cmake --build build-fuzz -j2 --target fuzz
# Each target grows a working corpus in build-fuzz/corpus/<target> from fuzz/corpus/<target>;
# a crash, a hang (-timeout: 60 s, generous because the machines are shared) or an out-of-memory input lands in fuzz/findings/<target>/.
# Keep a fixed finding as a regression test: move it to fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config sweep safetensors vectors cli)
for t in "${targets[@]}"; do
  bin=build-fuzz/fuzz/lmsim_fuzz_$t
  [ -x "$bin" ] || { echo "fuzz.sh: $bin missing (build the fuzz targets first)" >&2; exit 2; }
  mkdir -p "build-fuzz/corpus/$t" "fuzz/findings/$t"
  echo "== $t: ${seconds} s"
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="fuzz/findings/$t/" "build-fuzz/corpus/$t" "fuzz/corpus/$t" > "build-fuzz/fuzz-$t.log" 2>&1 \
    && echo "   no finding" || { echo "   FINDING (fuzz/findings/$t/):"; status=1; }
  grep -E "^stat::|SUMMARY|Test unit written|exiting" "build-fuzz/fuzz-$t.log" | sed 's/^/   /' || true
done
exit ${status:-0}
