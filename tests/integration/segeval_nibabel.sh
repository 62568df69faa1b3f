#!/usr/bin/env bash
# segeval model mode on oblique and anisotropic inputs, checked by an independent reader:
# every prediction (and probability map) must reopen in nibabel with the input's shape
# and affine, as uint8 (float32 for probabilities). Inputs are written by nibabel itself,
# including one smaller than the patch (padding path) and one with a rotated, tilted
# direction matrix. Skips cleanly without nibabel.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needNibabel

"$BIN/segdata" synth --out data --cases 3 --test-cases 1 --size 24 24 16 --seed 4 --log-level warn >/dev/null || fail "synth"
writeConfig tiny.yaml 'data.patch_size=[16, 16, 8]' output.dir=run
"$BIN/segtrain" --config tiny.yaml --log-level warn || fail "segtrain exited $?"

"$PY" - <<'PYEOF' || fail "writing the nibabel inputs"
import os
import numpy as np
import nibabel as nib

os.makedirs("obl/images", exist_ok=True)
os.makedirs("obl/labels", exist_ok=True)
rng = np.random.default_rng(0)

def rotation(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx

cases = {
    # oblique (rotated about all three axes) and anisotropic
    "oblique": ((21, 19, 11), (0.7, 1.3, 2.9), rotation(0.3, -0.2, 0.5), (-40.5, 12.25, 7.0)),
    # axis-aligned but flipped x and smaller than the 16x16x8 patch (padding path)
    "small": ((12, 9, 6), (1.1, 0.9, 3.3), np.diag([-1.0, 1.0, 1.0]), (10.0, -5.0, 2.0)),
}
for name, (shape, spacing, rot, origin) in cases.items():
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag(spacing)
    affine[:3, 3] = origin
    img = rng.normal(size=shape).astype(np.float32)
    lab = np.zeros(shape, np.uint8)
    lab[2:6, 2:6, 1:4] = 1
    img[lab == 1] += 3.0
    for data, path in ((img, f"obl/images/{name}_0000.nii.gz"), (lab, f"obl/labels/{name}.nii.gz")):
        nii = nib.Nifti1Image(data, affine)
        nii.set_qform(affine, code=1)
        nii.set_sform(affine, code=1)
        nib.save(nii, path)
PYEOF

"$BIN/segeval" --checkpoint run/checkpoint_final.pt --images obl/images --labels obl/labels \
  --output ev --mirror --save-probabilities --log-level warn > ev.txt || fail "segeval exited $?"

"$PY" - <<'PYEOF' || fail "nibabel check"
import csv, json
import numpy as np
import nibabel as nib

for name in ("oblique", "small"):
    src = nib.load(f"obl/images/{name}_0000.nii.gz")
    for path, dtype in ((f"ev/predictions/{name}.nii.gz", np.uint8),
                        (f"ev/probabilities/{name}_class1.nii.gz", np.float32)):
        out = nib.load(path)
        assert out.shape == src.shape, (path, out.shape, src.shape)
        assert np.allclose(out.affine, src.affine, atol=1e-4), (path, out.affine, src.affine)
        assert out.get_data_dtype() == dtype, (path, out.get_data_dtype())
    prob = np.asarray(nib.load(f"ev/probabilities/{name}_class1.nii.gz").dataobj)
    pred = np.asarray(nib.load(f"ev/predictions/{name}.nii.gz").dataobj)
    assert prob.min() >= 0.0 and prob.max() <= 1.0
    # Two classes, softmax: class 1 wins exactly where its probability exceeds 0.5.
    agree = np.mean((prob > 0.5) == (pred == 1))
    assert agree > 0.999, agree
    print(name, "shape", out.shape, "affine ok")
rows = list(csv.DictReader(open("ev/cases.csv")))
assert [r["case"] for r in rows] == ["oblique", "small"], rows
conv = json.load(open("ev/metrics.json"))["conventions"]
assert conv["empty_rule"] == "nan" and conv["match_rule"] == "any-overlap", conv
PYEOF
grep -q "data:image/png;base64" ev/report.html || fail "report.html has no overlay"
echo "segeval_nibabel: ok"
