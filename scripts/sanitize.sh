#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build in a separate folder (build-asan), then
# the unit and integration tests under it. Prints "sanitizer findings: N" (tests that failed
# with a sanitizer report) and exits non-zero when there is any finding or failure.
#   BUILD_DIR        default build-asan
#   SEG_SANITIZE     default address,undefined
#   CTEST_ARGS       extra ctest arguments, e.g. "-R integration.cli_contract"
#   SKIP_BUILD=1     run the tests of an existing build only
#
# Runtime options (why each one, see docs/reliability.md):
#   detect_leaks=0        LibTorch, ITK and OpenBLAS are not instrumented and keep process-lifetime
#                         allocations (thread pools, registries) that LSan reports as leaks.
#   halt_on_error=1, abort_on_error=0, print_stacktrace=1: a finding fails the test with a trace.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
SANITIZE=${SEG_SANITIZE:-address,undefined}
export CCACHE_BASEDIR="$PWD"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    # -O1: sanitizer reports stay readable and the build is faster than -O3; NDEBUG as in Release.
    # The LibTorch of the project's venv (scripts/setup.sh), as the main build.
    py=${SEG_PYTHON:-${SEG_VENV:-$HOME/.venvs/segtrain}/bin/python}
    cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="${CMAKE_PREFIX_PATH:-$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')}" \
      -DSEG_PYTHON="$py" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DSEG_SANITIZE="$SANITIZE"
  fi
  jobs=$(nproc 2>/dev/null || echo 2)
  cmake --build "$BUILD_DIR" -j "$jobs" --target segtests segtrain segeval segdata
fi

log="$BUILD_DIR/sanitize-ctest.log"
set +e
# shellcheck disable=SC2086
ctest --test-dir "$BUILD_DIR" --output-on-failure ${CTEST_ARGS:-} 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
findings=$(grep -cE '^(==[0-9]+==ERROR: (Address|Leak)Sanitizer|.*runtime error: )' "$log" || true)
echo "sanitizer findings: $findings"
[[ $rc -eq 0 && $findings -eq 0 ]]
