#!/usr/bin/env bash
# segdata exit codes and messages: 0 success, 2 bad usage or input (naming the
# file or case), never a signal.
# Usage: segdata_cli.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1
WORK=$3
SEGDATA="$BIN/segdata"
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}  # the project's venv (tests/support/lib.sh)
failures=0

rm -rf "$WORK"
mkdir -p "$WORK"

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, keeps stdout/stderr in $WORK/out, $WORK/err.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" > "$WORK/out" 2> "$WORK/err"
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$WORK/out" | head -20
    sed 's/^/  stderr: /' "$WORK/err" | head -20
    failures=$((failures + 1))
  else
    echo "ok: $what (exit $got)"
  fi
}

# expect_text FILE TEXT DESCRIPTION
expect_text() {
  if ! grep -qF -- "$2" "$1"; then
    echo "FAIL: $3: '$2' not in $(basename "$1")"
    sed 's/^/  /' "$1" | head -20
    failures=$((failures + 1))
  fi
}

expect 0 "--help" -- "$SEGDATA" --help
expect_text "$WORK/out" "synth" "--help lists subcommands"
expect 0 "--version" -- "$SEGDATA" --version
expect_text "$WORK/out" "segdata" "--version names the tool"
expect 0 "synth --help" -- "$SEGDATA" synth --help
expect 2 "unknown option" -- "$SEGDATA" --no-such-option
expect 2 "no subcommand" -- "$SEGDATA"
expect 2 "unknown log level" -- "$SEGDATA" --log-level loud inspect "$WORK/x.nii.gz"

missing="$WORK/missing/scan.nii.gz"
expect 2 "inspect missing file" -- "$SEGDATA" inspect "$missing"
expect_text "$WORK/err" "image file not found: $missing" "inspect names the missing file"

printf 'this is not a NIfTI file, just text padded out to a few hundred bytes %0300d' 0 > "$WORK/junk.nii"
expect 2 "inspect non-NIfTI" -- "$SEGDATA" inspect "$WORK/junk.nii"
expect_text "$WORK/err" "$WORK/junk.nii" "inspect names the bad file"

expect 2 "synth bad option" -- "$SEGDATA" synth --out "$WORK/bad" --classes 3
expect_text "$WORK/err" "classes" "synth names the option"
[[ -e "$WORK/bad" ]] && { echo "FAIL: synth wrote $WORK/bad despite a bad option"; failures=$((failures + 1)); }

ds="$WORK/ds"
expect 0 "synth" -- "$SEGDATA" synth --out "$ds" --cases 4 --test-cases 1 --size 24 24 16 --max-radius 3 --log-level warn
expect 0 "check a good dataset" -- "$SEGDATA" check "$ds"
expect_text "$WORK/out" "no problems" "check summary"
expect 2 "synth into a non-empty folder" -- "$SEGDATA" synth --out "$ds"
expect_text "$WORK/err" "not empty" "synth refuses a non-empty folder"

# plan: fingerprint and suggested plan; lesion counts checked against scipy.ndimage.label.
expect 0 "plan --json" -- "$SEGDATA" plan "$ds" --json
expect_text "$WORK/out" '"patch_size"' "plan --json has a patch size"
if "$PY" -c "import nibabel, numpy, scipy" 2>/dev/null; then
  if ! "$PY" - "$WORK/out" "$ds" <<'PYEOF'
import glob, json, sys
import numpy as np, nibabel as nib
from scipy import ndimage
j = json.load(open(sys.argv[1]))
fp, plan = j["fingerprint"], j["plan"]
labels = sorted(glob.glob(sys.argv[2] + "/labelsTr/*.nii.gz"))
assert j["cases"] == len(labels) == 3, j["cases"]
lesions, fg = 0, []
for lab in labels:
    seg = np.asarray(nib.load(lab).dataobj)
    lesions += ndimage.label(seg == 1, structure=np.ones((3, 3, 3)))[1]
    img = nib.load(lab.replace("labelsTr", "imagesTr").replace(".nii.gz", "_0000.nii.gz")).get_fdata()
    fg.append(img[seg > 0])
fg = np.concatenate(fg)
cls = fp["classes"][0]
assert cls["lesions"] == lesions, (cls["lesions"], lesions)
assert sum(b["lesions"] for b in cls["size_histogram"]) == lesions
intensity = fp["foreground_intensity"][0]
assert abs(intensity["mean"] - fg.mean()) < 1e-4 * max(1, abs(fg.mean())), (intensity["mean"], fg.mean())
assert abs(intensity["percentile_99_5"] - np.percentile(fg, 99.5)) < 1e-4, intensity
assert fp["median_spacing"] == [1.0, 1.0, 1.0] and plan["target_spacing"] == [1.0, 1.0, 1.0], (fp, plan)
assert plan["patch_size"] == [24, 24, 16], plan  # the median shape, multiples of 8
assert plan["batch_size"] == 2, plan
PYEOF
  then
    echo "FAIL: plan fingerprint differs from the scipy/numpy reference"; failures=$((failures + 1))
  fi
fi
expect 0 "plan (table)" -- "$SEGDATA" plan "$ds"
expect_text "$WORK/out" "suggested plan:" "plan prints the plan"
expect_text "$WORK/out" "data.patch_size: [24, 24, 16]" "plan prints the patch size"

expect 0 "inspect --json" -- "$SEGDATA" inspect --json "$ds/labelsTr/case_000.nii.gz"
expect_text "$WORK/out" '"component_type": "uint8"' "inspect --json component type"
expect_text "$WORK/out" '"distinct_values"' "inspect --json lists label values"

# Break two labels: one is not a NIfTI file, one is on another grid.
"$SEGDATA" synth --out "$WORK/other" --cases 2 --test-cases 0 --size 20 20 16 --max-radius 2 --log-level warn
printf 'garbage garbage garbage %0400d' 0 | gzip > "$ds/labelsTr/case_001.nii.gz"
cp "$WORK/other/labelsTr/case_000.nii.gz" "$ds/labelsTr/case_002.nii.gz"
# And a test-case label holding class 2, which this one-class dataset.json does not declare.
"$SEGDATA" synth --out "$WORK/two" --cases 4 --test-cases 1 --size 24 24 16 --max-radius 3 --classes 2 --log-level warn
expect 0 "inspect a two-class label" -- "$SEGDATA" inspect --json "$WORK/two/labelsTs/case_003.nii.gz"
expect_text "$WORK/out" '2.0' "the two-class label holds class 2"
cp "$WORK/two/labelsTs/case_003.nii.gz" "$ds/labelsTs/case_003.nii.gz"
expect 2 "check a dataset with broken labels" -- "$SEGDATA" check "$ds"
expect_text "$WORK/out" "case case_001: $ds/labelsTr/case_001.nii.gz" "check names the unreadable label's case"
expect_text "$WORK/out" "case case_002:" "check names the case with a grid mismatch"
expect_text "$WORK/out" "does not match the image grid" "check explains the grid mismatch"
expect_text "$WORK/out" "case case_003: $ds/labelsTs/case_003.nii.gz: label values {2} are not declared" \
  "check names undeclared label values"

# A broken dataset.json is an input error too.
echo '{"channel_names": ' > "$ds/dataset.json"
expect 2 "check with invalid dataset.json" -- "$SEGDATA" check "$ds"
expect_text "$WORK/err" "$ds/dataset.json: invalid JSON" "check names dataset.json"

# NaN/Inf written by nibabel: inspect counts them (statistics over the finite voxels,
# checked with numpy); training refuses the file.
if "$PY" -c "import nibabel, numpy" 2>/dev/null; then
  "$PY" - "$WORK" <<'PYEOF'
import sys
import numpy as np, nibabel as nib
work = sys.argv[1]
a = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3) - 7.5
a[1, 2, 0] = np.nan
a[3, 4, 2] = np.inf
a[0, 0, 1] = -np.inf
nib.save(nib.Nifti1Image(a, np.diag([0.8, 0.8, 2.0, 1.0])), f"{work}/nan.nii.gz")
f = a[np.isfinite(a)].astype(np.float64)
open(f"{work}/nan_expected.txt", "w").write(f"{float(f.min())!r} {float(f.max())!r} {float(f.mean())!r}\n")
PYEOF
  expect 0 "inspect --json a file with NaN/Inf" -- "$SEGDATA" inspect --json "$WORK/nan.nii.gz"
  expect_text "$WORK/out" '"non_finite": 3' "inspect counts non-finite values"
  if ! "$PY" - "$WORK" <<'PYEOF'
import json, sys
work = sys.argv[1]
j = json.load(open(f"{work}/out"))
lo, hi, mean = map(float, open(f"{work}/nan_expected.txt").read().split())
assert (j["min"], j["max"]) == (lo, hi), (j, lo, hi)
assert abs(j["mean"] - mean) < 1e-9, (j["mean"], mean)
PYEOF
  then
    echo "FAIL: inspect statistics over finite voxels differ from numpy"; failures=$((failures + 1))
  fi
  # A 4D file (nibabel shape x, y, z, t = 4, 5, 3, 2): the JSON size is x, y, z, t; the t
  # extent is also the channel count; the table keeps the spatial size.
  "$PY" -c "
import numpy as np, nibabel as nib
nib.save(nib.Nifti1Image(np.arange(120, dtype=np.float32).reshape(4, 5, 3, 2), np.eye(4)), '$WORK/four.nii.gz')"
  expect 0 "inspect --json a 4D file" -- "$SEGDATA" inspect --json "$WORK/four.nii.gz"
  if ! "$PY" -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['dimension'] == 4 and j['size'] == [4, 5, 3, 2] and j['channels'] == 2, j
assert (j['min'], j['max'], j['mean']) == (0.0, 119.0, 59.5), j" "$WORK/out"; then
    echo "FAIL: inspect --json of a 4D file: size is not x, y, z, t"; failures=$((failures + 1))
  fi
  expect 0 "inspect table of a 4D file" -- "$SEGDATA" inspect "$WORK/four.nii.gz"
  expect_text "$WORK/out" "size:        4 5 3" "inspect table shows the spatial size of a 4D file"
  expect_text "$WORK/out" "4D, 2 channel(s)" "inspect table shows the 4D channels"
  expect 0 "inspect table with NaN/Inf" -- "$SEGDATA" inspect "$WORK/nan.nii.gz"
  expect_text "$WORK/out" "non-finite:  3" "inspect table shows the count"
  mkdir -p "$WORK/nanset/imagesTr" "$WORK/nanset/labelsTr"
  cp "$WORK/nan.nii.gz" "$WORK/nanset/imagesTr/c_0000.nii.gz"
  "$PY" -c "
import numpy as np, nibabel as nib
nib.save(nib.Nifti1Image(np.zeros((4, 5, 3), np.uint8), np.diag([0.8, 0.8, 2.0, 1.0])), '$WORK/nanset/labelsTr/c.nii.gz')"
  echo '{"channel_names": {"0": "CT"}, "labels": {"background": 0, "x": 1}, "numTraining": 1, "file_ending": ".nii.gz"}' \
    > "$WORK/nanset/dataset.json"
  expect 2 "check refuses NaN/Inf" -- "$SEGDATA" check "$WORK/nanset"
  expect_text "$WORK/out" "3 non-finite values (NaN or Inf)" "check names the non-finite values"
else
  echo "SKIP: NaN inspection (no nibabel)"
fi

if [[ $failures -ne 0 ]]; then
  echo "segdata_cli: $failures failure(s)"
  exit 1
fi
echo "segdata_cli: OK"
