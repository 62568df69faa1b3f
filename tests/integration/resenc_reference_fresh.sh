#!/usr/bin/env bash
# tests/unit/models/ResEncReference.h is what scripts/reference/resenc_reference.py prints
# with the venv's dynamic_network_architectures (nnU-Net's ResidualEncoderUNet):
# regenerates it into WORK_DIR and diffs it with the checked-in one. A difference means
# the script, dynamic_network_architectures or torch changed since the header was written:
# regenerate it (the command is in the header's first lines) and re-run
# segtests --gtest_filter='ResEnc*'. Skips (77) without dynamic_network_architectures.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$(cd "$2" && pwd); WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch
"$PY" -c "import dynamic_network_architectures" 2>/dev/null \
  || skip "$PY has no dynamic_network_architectures (pip install dynamic_network_architectures==0.4.4)"

header=tests/unit/models/ResEncReference.h
"$PY" "$SRC/scripts/reference/resenc_reference.py" > fresh.h 2> generate.log \
  || { cat generate.log >&2; fail "resenc_reference.py exited non-zero"; }
[[ -s fresh.h ]] || fail "resenc_reference.py printed nothing"
if ! diff -u "$SRC/$header" fresh.h > header.diff; then
  head -40 header.diff >&2
  fail "$header is stale (full diff: $WORK/header.diff; stderr: $(cat generate.log))"
fi
echo "resenc_reference_fresh: ok ($(grep -c '^      {$' fresh.h) plans, $(grep -c '^              {"' fresh.h) parameters)"
