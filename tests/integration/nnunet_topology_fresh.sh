#!/usr/bin/env bash
# tests/unit/data/NnunetTopologyReference.h is what scripts/reference/nnunet_topology_reference.py
# prints with the venv's nnunetv2 (get_pool_and_conv_props): regenerates it into WORK_DIR and
# diffs it with the checked-in one. A difference means the script or nnU-Net changed since the
# header was written: regenerate it (the command is in the header's first lines) and re-run
# segtests --gtest_filter='*NnunetTopology*'. Skips (77) without nnunetv2.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$(cd "$2" && pwd); WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
"$PY" -c "import nnunetv2" 2>/dev/null || skip "$PY has no nnunetv2 (run scripts/setup.sh)"

header=tests/unit/data/NnunetTopologyReference.h
"$PY" "$SRC/scripts/reference/nnunet_topology_reference.py" > fresh.h 2> generate.log \
  || { cat generate.log >&2; fail "nnunet_topology_reference.py exited non-zero"; }
[[ -s fresh.h ]] || fail "nnunet_topology_reference.py printed nothing"
if ! diff -u "$SRC/$header" fresh.h > header.diff; then
  head -40 header.diff >&2
  fail "$header is stale (full diff: $WORK/header.diff; stderr: $(cat generate.log))"
fi
echo "nnunet_topology_fresh: ok ($(grep -c '^    {"' fresh.h) cases)"
