#!/usr/bin/env bash
# Sliding-window inference benchmark: our C++ (seg_infer_bench) against an independent
# Python reference on Debian's torch (bench/sliding_window_reference.py), same process
# settings, same run; prints seconds per volume, the ratio, the max logit difference
# (must be <= 1e-4) and the bf16 autocast speed-up and Dice agreement.
# Usage: scripts/bench_infer.sh [BUILD_DIR] [extra seg_infer_bench options, e.g. --size 128 128 64]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
shift || true
cmake --build "$BUILD" --target seg_infer_bench
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$BUILD/bench/seg_infer_bench" --out "$OUT" "$@" > /dev/null
/usr/bin/python3 "$SRC/bench/sliding_window_reference.py" "$OUT"
