#!/usr/bin/env bash
# Benchmarks (not tests). Prints a table of ratios measured in the same run and writes
# bench_results.json. Runs alternate between implementations (A B A B ...) so machine
# noise hits both; the median of the repeats is reported.
#   REPEATS (default 3), THREADS (default: nproc), STEPS (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-5}
OUT=${OUT:-bench_results.json}
cmake --build "$BUILD_DIR" --target seg_train_step >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ms() { sed -E 's/.*"ms_per_step": ([0-9.e+-]+).*/\1/'; }

shape=(16,32,64,128 64 64 64 2)
results=()
for mode in fp32 bf16; do
  ours=(); theirs=()
  for r in $(seq 1 "$REPEATS"); do
    ours+=("$("$BUILD_DIR/bench/seg_train_step" "${shape[@]}" "$THREADS" "$STEPS" "$mode" | ms)")
    theirs+=("$(/usr/bin/python3 scripts/bench/train_step.py "${shape[@]}" "$THREADS" "$STEPS" "$mode" | ms)")
  done
  a=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${theirs[@]}" | median)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a / b}')
  printf 'P1 train step %-5s  segtrain %8.1f ms   python %8.1f ms   ratio %s (lower is better)\n' "$mode" "$a" "$b" "$ratio"
  results+=("{\"bench\": \"P1_train_step\", \"mode\": \"$mode\", \"segtrain_ms\": $a, \"python_ms\": $b, \"ratio\": $ratio}")
done
{ echo "["; (IFS=,; echo "${results[*]}"); echo "]"; } > "$OUT"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads $THREADS; U-Net 16-32-64-128, batch 2, 64^3 patch"
echo "wrote $OUT"
