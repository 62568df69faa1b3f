#!/usr/bin/env bash
# tests/unit/losses/MonaiLossReference.h is what scripts/reference/monai_reference.py prints
# with the venv's MONAI: regenerates it into WORK_DIR and diffs it with the checked-in one.
# A difference means the script, MONAI or torch changed since the header was written:
# regenerate it (the command is in the header's first lines) and re-run
# segtests --gtest_filter='Monai*'. Skips (77) without MONAI.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$(cd "$2" && pwd); WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needMonai

header=tests/unit/losses/MonaiLossReference.h
"$PY" "$SRC/scripts/reference/monai_reference.py" > fresh.h 2> generate.log \
  || { cat generate.log >&2; fail "monai_reference.py exited non-zero"; }
[[ -s fresh.h ]] || fail "monai_reference.py printed nothing"
if ! diff -u "$SRC/$header" fresh.h > header.diff; then
  head -40 header.diff >&2
  fail "$header is stale (full diff: $WORK/header.diff; stderr: $(cat generate.log))"
fi
echo "monai_reference_fresh: ok ($(grep -c '^    {"' fresh.h) cases)"
