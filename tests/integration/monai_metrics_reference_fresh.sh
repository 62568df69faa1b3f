#!/usr/bin/env bash
# The MONAI cross-check headers are up to date: regenerates them with the venv's MONAI into
# WORK_DIR and diffs them against the checked-in ones,
#   tests/unit/metrics/MonaiMetricsReference.h    (scripts/reference/monai_metrics_reference.py)
#   tests/unit/infer/MonaiSlidingWindowReference.h (scripts/reference/monai_sliding_window_reference.py)
# A difference means the scripts, MONAI, torch or numpy changed since the headers were
# written: regenerate them (the command is in each header's first lines) and re-run
# segtests --gtest_filter='Monai*'. Skips (77) without MONAI.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$(cd "$2" && pwd); WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needMonai

status=0
for pair in "monai_metrics_reference.py:tests/unit/metrics/MonaiMetricsReference.h" \
            "monai_sliding_window_reference.py:tests/unit/infer/MonaiSlidingWindowReference.h"; do
  script=${pair%%:*}; header=${pair#*:}
  fresh="$WORK/$(basename "$header")"
  "$PY" "$SRC/scripts/reference/$script" --out "$fresh" 2>"$WORK/$script.log" \
    || { cat "$WORK/$script.log" >&2; fail "$script exited non-zero"; }
  if ! diff -u "$SRC/$header" "$fresh" > "$WORK/$(basename "$header").diff"; then
    head -40 "$WORK/$(basename "$header").diff" >&2
    echo "FAIL: $header is stale (full diff: $WORK/$(basename "$header").diff)" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "OK: MONAI reference headers are fresh"
exit "$status"
