#!/usr/bin/env bash
# tests/unit/eval/NnunetPostprocessingReference.h is what
# scripts/reference/nnunet_postprocessing_reference.py prints with the venv's nnU-Net (its own
# determine_postprocessing): regenerates it into WORK_DIR and diffs it with the checked-in one.
# A difference means the script or nnU-Net changed since the header was written: regenerate it
# (the command is in the header's first lines) and re-run
# segtests --gtest_filter='NnunetPostprocessing*'. Skips (77) without nnunetv2 or SimpleITK.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$(cd "$2" && pwd); WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
"$PY" -c "import nnunetv2, SimpleITK" 2>/dev/null || skip "$PY has no nnunetv2/SimpleITK (run scripts/setup.sh)"

header=tests/unit/eval/NnunetPostprocessingReference.h
"$PY" "$SRC/scripts/reference/nnunet_postprocessing_reference.py" > fresh.h 2> generate.log \
  || { cat generate.log >&2; fail "nnunet_postprocessing_reference.py exited non-zero"; }
[[ -s fresh.h ]] || fail "nnunet_postprocessing_reference.py printed nothing"
if ! diff -u "$SRC/$header" fresh.h > header.diff; then
  head -40 header.diff >&2
  fail "$header is stale (full diff: $WORK/header.diff; stderr: $(cat generate.log))"
fi
echo "nnunet_postprocessing_reference_fresh: ok ($(grep -c '^    {"' fresh.h) scenarios)"
