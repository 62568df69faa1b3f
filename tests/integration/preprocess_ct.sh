#!/usr/bin/env bash
# CT normalisation and resampling end to end: segtrain resolves data.target_spacing (the
# dataset median) and data.ct_stats (training foreground) into the run's config.yaml, a
# resume with the original config (keys still empty) is accepted, an explicit different
# spacing is refused on resume, and segeval applies the stored preprocessing and writes
# predictions on the input grid. Numbers are checked against numpy where they can be.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out data --cases 5 --test-cases 1 --size 24 20 16 --spacing 0.8 0.8 2.5 --seed 7 \
  --log-level warn >/dev/null || fail "synth"
writeConfig ct.yaml 'data.patch_size=[16, 16, 8]' data.normalization=ct output.dir=run
"$BIN/segtrain" --config ct.yaml --log-level warn || fail "segtrain exited $?"
grep -Eq "target_spacing: \[0\.80*1?[0-9]*, 0\.80*1?[0-9]*, 2\.5\]" run/config.yaml || fail "target spacing not resolved: $(grep target_spacing run/config.yaml)"
grep -q "CT normalisation, channel 0: clip" run/train.log || fail "CT statistics not logged"

if "$PY" -c "import nibabel, numpy, yaml" 2>/dev/null; then
  "$PY" - <<'PYEOF' || fail "ct_stats check"
import glob
import numpy as np, nibabel as nib, yaml
cfg = yaml.safe_load(open("run/config.yaml"))["data"]["ct_stats"]
for k in ("clip_low", "clip_high", "mean", "std"):
    assert len(cfg[k]) == 1, (k, cfg[k])
lo, hi, mean, std = cfg["clip_low"][0], cfg["clip_high"][0], cfg["mean"][0], cfg["std"][0]
# Statistics come from the training split (a subset of imagesTr): they must lie within
# what the whole training set's foreground spans.
fg = []
for lab in sorted(glob.glob("data/labelsTr/*.nii.gz")):
    cid = lab.split("/")[-1][:-7]
    img = nib.load(f"data/imagesTr/{cid}_0000.nii.gz").get_fdata()
    fg.append(img[nib.load(lab).get_fdata() > 0])
fg = np.concatenate(fg)
assert fg.min() - 1e-4 <= lo < mean < hi <= fg.max() + 1e-4, (lo, mean, hi, fg.min(), fg.max())
assert 0 < std <= fg.std() * 3, (std, fg.std())
print("ct_stats", lo, hi, mean, std)
PYEOF
fi

# Resume with the user's config (keys empty): the stored values are taken.
"$BIN/segtrain" --config ct.yaml --set train.epochs=2 --resume --log-level warn || fail "resume exited $?"
# An explicit, different spacing changes the run: refused.
"$BIN/segtrain" --config ct.yaml --set train.epochs=3 --set 'data.target_spacing=[1,1,1]' --resume \
  --log-level warn 2> refused.txt && fail "changed spacing accepted on resume"
grep -q "data.target_spacing" refused.txt || fail "refusal does not name data.target_spacing: $(cat refused.txt)"

"$BIN/segeval" --checkpoint run/checkpoint_final.pt --images data/imagesTs --labels data/labelsTs --output ev \
  --log-level warn >/dev/null || fail "segeval exited $?"
for f in data/imagesTs/*_0000.nii.gz; do
  id=$(basename "$f" _0000.nii.gz)
  [[ -s ev/predictions/$id.nii.gz ]] || fail "no prediction for $id"
  "$BIN/segdata" inspect --json "ev/predictions/$id.nii.gz" > p.json || fail "inspect prediction"
  "$BIN/segdata" inspect --json "$f" > i.json || fail "inspect image"
  "$PY" -c "
import json; p = json.load(open('p.json')); i = json.load(open('i.json'))
assert p['size'] == i['size'] and p['spacing'] == i['spacing'] and p['origin'] == i['origin'], (p, i)
" || fail "prediction geometry differs from the input"
done
echo "ok"
