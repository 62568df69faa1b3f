#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every unit and
# integration test (GPU-only *_CUDA tests are skipped when no GPU is present).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$jobs" "$@"
