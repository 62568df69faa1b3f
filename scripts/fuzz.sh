#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt, clang, ASan+UBSan) in build-fuzz and runs
# each for SECONDS (default 600) on a scratch copy of its checked-in seed corpus. Crashes are
# written to build-fuzz/findings/<target>/; copy each into fuzz/regressions/<target>/ once
# fixed (tests/unit/core/FuzzRegressionTest.cpp replays them). Prints per target
# "fuzz <target>: executions N / findings M" and exits non-zero on any finding.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: config_fuzzer nifti_fuzzer
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-600}; shift || true
TARGETS=("$@"); ((${#TARGETS[@]})) || TARGETS=(config_fuzzer nifti_fuzzer)
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 2; }
export CCACHE_BASEDIR="$PWD"
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
  launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S fuzz -B "$BUILD" "${generator[@]}" "${launcher[@]}" >/dev/null || exit 2
fi
cmake --build "$BUILD" -j "$(nproc)" --target "${TARGETS[@]}" || exit 2

total=0
for target in "${TARGETS[@]}"; do
  kind=${target%_fuzzer}
  work="$BUILD/run/$target"; findings="$BUILD/findings/$target"
  # Findings of earlier runs are not this run's: fixed ones live in fuzz/regressions/.
  rm -rf "$work" "$findings"; mkdir -p "$work/corpus" "$findings"
  cp fuzz/corpus/"$kind"/* "$work/corpus/"
  [[ -d fuzz/regressions/$kind ]] && cp fuzz/regressions/"$kind"/* "$work/corpus/" 2>/dev/null
  # detect_leaks=0: ITK and yaml-cpp keep process-lifetime singletons (see docs/reliability.md).
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$BUILD/$target" "$work/corpus" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=10 -max_len=4096 -print_final_stats=1 -artifact_prefix="$findings/" \
    -fork="${FUZZ_JOBS:-1}" -ignore_crashes=1 > "$work/log.txt" 2>&1
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log.txt" | awk '{s += $2} END {print s + 0}')
  if [[ "$execs" == 0 ]]; then
    execs=$(grep -oE '#[0-9]+' "$work/log.txt" | tail -1 | tr -d '#')
  fi
  found=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  total=$((total + found))
  echo "fuzz $target: executions ${execs:-0} / findings $found (${SECONDS_PER_TARGET}s; log $work/log.txt)"
done
(( total == 0 ))
