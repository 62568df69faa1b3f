#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every unit and integration test.
# GPU-only *_CUDA tests are compiled in every CUDA build and report themselves skipped, with
# the reason, when no GPU is visible; ctest lists them under "did not run".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
# What this build is: the LibTorch and CUDA it was built with, and the GPUs it sees.
"$BUILD_DIR/app/segtrain" --version
ver=$("$BUILD_DIR/app/segtrain" --version)
torch=$(sed -nE 's/^  LibTorch ([^ ]+).*/\1/p' <<<"$ver")
cuda=$(sed -nE 's/^  CUDA ([0-9.]+) \(built with\)/\1/p' <<<"$ver")
if grep -q "^  GPUs none visible" <<<"$ver"; then gpus="no GPU visible: the *_CUDA tests are skipped"; else gpus="$(sed -nE 's/^  GPUs (.*)/\1/p' <<<"$ver")"; fi
if [[ -n "$cuda" ]]; then built="CUDA $cuda"; else built="no CUDA (a CPU build)"; fi
echo "test: LibTorch $torch built with $built; $gpus"
jobs=$(nproc 2>/dev/null || echo 2)
# ctest pads every line with dots to the longest test name (parameterised gtest names reach
# about 110 characters); the dot leaders are cut to one space. The exit status is ctest's
# (pipefail).
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$jobs" "$@" | sed -u -E 's/ \.{2,} / /'
