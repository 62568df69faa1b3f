#!/usr/bin/env bash
# Golden check against an independent reader: files written by `segdata synth`
# (ITK) must show nibabel the same shape, spacing and affine that
# `segdata inspect --json` reports.
# Usage: nifti_nibabel.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
BIN=$1
SRC=$2
WORK=$3

source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needNibabel
# Anisotropic spacing and an off-centre origin make axis-order and LPS/RAS mistakes visible.
"$BIN/segdata" synth --out "$WORK/ds" --cases 2 --test-cases 1 --size 20 18 16 \
  --spacing 0.7 0.9 2.5 --seed 5 --max-radius 3 --log-level warn

for f in "$WORK/ds/imagesTr/case_000_0000.nii.gz" "$WORK/ds/labelsTr/case_000.nii.gz" \
         "$WORK/ds/imagesTs/case_001_0000.nii.gz"; do
  "$BIN/segdata" inspect --json "$f" > "$WORK/inspect.json"
  "$PY" "$SRC/scripts/reference/check_nifti.py" "$f" --compare "$WORK/inspect.json"
done

# The expected values themselves, not only agreement between the two readers.
"$PY" "$SRC/scripts/reference/check_nifti.py" "$WORK/ds/labelsTr/case_000.nii.gz" > "$WORK/nib.json"
"$PY" - "$WORK/nib.json" <<'EOF'
import json, sys
ref = json.load(open(sys.argv[1]))
assert ref["shape"] == [20, 18, 16], ref["shape"]
assert all(abs(a - b) < 1e-5 for a, b in zip(ref["spacing"], [0.7, 0.9, 2.5])), ref["spacing"]
assert ref["dtype"] == "uint8", ref["dtype"]
print("nibabel sees shape", ref["shape"], "spacing", ref["spacing"], "dtype", ref["dtype"])
EOF
echo "nifti_nibabel: OK"
