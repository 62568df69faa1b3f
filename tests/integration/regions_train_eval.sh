#!/usr/bin/env bash
# Region-based training and the ignore label end to end: segdata synth --regions (BraTS-like
# nested tumours, nnU-Net region labels in dataset.json) -> segtrain with sigmoid regions
# (from dataset.json, then from the config) -> segeval with the checkpoint and in
# metrics-only mode. The report must be per region (Dice and lesion metrics for the three
# region names), predictions hold only the painted values {0,1,2,3}, region Dice agrees with
# nibabel/numpy on the written files, and with an ignore label the unannotated voxels are
# left out.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out data --cases 5 --test-cases 2 --size 40 40 24 --seed 7 --regions \
  --min-radius 3 --max-radius 8 >/dev/null || fail "synth --regions"
[[ -s data/imagesTr/case_000_0001.nii.gz ]] || fail "synth --regions wrote no second channel"
grep -q '"regions_class_order"' data/dataset.json || fail "dataset.json lacks regions_class_order"

common=(loss.name=dice_ce loss.activation=sigmoid train.epochs=1 train.iterations_per_epoch=2
        train.batch_size=2 train.full_val_every=1)

# 1. Regions from dataset.json.
writeConfig ds.yaml "${common[@]}" output.dir=run
"$BIN/segtrain" --config ds.yaml --log-level warn 2> train.err || fail "segtrain (dataset regions) exited $?: $(tail -5 train.err)"
grep -q "whole tumor" run/config.yaml || fail "resolved config does not hold the regions"
head -1 run/metrics.csv | grep -q "vol_dice_r1,vol_dice_r2,vol_dice_r3" || fail "full-volume columns: $(head -1 run/metrics.csv)"

"$BIN/segeval" --checkpoint run/checkpoint_final.pt --images data/imagesTs --labels data/labelsTs \
  --output eval --save-probabilities > eval.txt 2> eval.err || fail "segeval exited $?: $(tail -5 eval.err)"
grep -q "Dice per case and region" eval.txt || fail "console table is not per region"
for name in "whole tumor" "tumor core" "enhancing tumor"; do
  [[ $(grep -c ",$name\$" eval/cases.csv) -eq 2 ]] || fail "cases.csv: no row per case for '$name'"
  grep -q ",$name\$" eval/size_bins.csv || fail "size_bins.csv: no rows for '$name'"
  grep -q "\"name\": \"$name\"" eval/metrics.json || fail "metrics.json: no '$name'"
  grep -q "$name" eval/report.html || fail "report.html: no '$name'"
done
grep -q '"scored_as": "regions"' eval/metrics.json || fail "metrics.json does not state the regions"
grep -q "regions: whole tumor \[1,2,3\], tumor core \[2,3\], enhancing tumor \[3\]" eval.txt \
  || fail "console report does not name the encoding"
grep -q "<h2>Per region</h2>" eval/report.html || fail "report.html is not per region"
for r in 1 2 3; do [[ -s eval/probabilities/case_003_region$r.nii.gz ]] || fail "probabilities of region $r missing"; done

needNibabel
# Predictions hold only painted values; region Dice of cases.csv = numpy on the files
# (2|A∩B| / (|A|+|B|), NaN when both empty; nnU-Net's region evaluation).
"$PY" - eval data/labelsTs "" <<'PY' || fail "predictions or region Dice disagree with nibabel"
import csv, math, sys, glob, os
import nibabel as nib, numpy as np
ev, labels, ignore = sys.argv[1], sys.argv[2], sys.argv[3]
regions = {1: (1, 2, 3), 2: (2, 3), 3: (3,)}
rows = {(r["case"], int(r["class"])): r for r in csv.DictReader(open(f"{ev}/cases.csv"))}
for path in sorted(glob.glob(f"{ev}/predictions/*.nii.gz")):
    case = os.path.basename(path)[:-7]
    p = np.asarray(nib.load(path).dataobj)
    g = np.asarray(nib.load(f"{labels}/{case}.nii.gz").dataobj)
    assert set(np.unique(p)) <= {0, 1, 2, 3}, (case, np.unique(p))
    keep = np.ones(g.shape, bool) if not ignore else g != int(ignore)
    for c, values in regions.items():
        a, b = np.isin(p, values) & keep, np.isin(g, values) & keep
        tp, total = (a & b).sum(), a.sum() + b.sum()
        want = float("nan") if total == 0 else 2 * tp / total
        got = float(rows[(case, c)]["dice"])
        assert (math.isnan(want) and math.isnan(got)) or abs(want - got) < 1e-12, (case, c, want, got)
        assert int(rows[(case, c)]["ref_voxels"]) == b.sum(), (case, c)
PY

# Metrics-only mode reads the regions from dataset.json: the same per-region table.
"$BIN/segeval" --predictions eval/predictions --labels data/labelsTs --output eval2 > /dev/null || fail "metrics-only"
diff eval/cases.csv eval2/cases.csv || fail "metrics-only cases.csv differs from model mode"
# ... or from --regions when no dataset.json is there.
mkdir -p bare && cp data/labelsTs/*.nii.gz bare/
"$BIN/segeval" --predictions eval/predictions --labels bare --output eval3 \
  --regions "whole tumor=1,2,3;tumor core=2,3;enhancing tumor=3" > /dev/null || fail "metrics-only --regions"
diff eval/cases.csv eval3/cases.csv || fail "--regions cases.csv differs from dataset.json regions"
"$BIN/segeval" --predictions eval/predictions --labels bare --output eval4 --regions "wt=1,x" 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--regions" err.txt || fail "bad --regions: rc $rc, $(cat err.txt)"

# 2. Regions given in the config (two of them, painted 1 then 3) replace dataset.json's.
writeConfig cfg.yaml "${common[@]}" output.dir=run_cfg \
  'data.regions=[{name: tumour, labels: [1, 2, 3]}, {name: active, labels: [3]}]' 'data.regions_class_order=[1, 3]'
"$BIN/segtrain" --config cfg.yaml --log-level warn 2> train.err || fail "segtrain (config regions) exited $?: $(tail -5 train.err)"
"$BIN/segeval" --checkpoint run_cfg/checkpoint_final.pt --images data/imagesTs --labels data/labelsTs \
  --output eval_cfg > /dev/null 2> eval.err || fail "segeval (config regions) exited $?: $(tail -5 eval.err)"
grep -q ",tumour$" eval_cfg/cases.csv && grep -q ",active$" eval_cfg/cases.csv || fail "config regions not in the report"
grep -q ",tumor core$" eval_cfg/cases.csv && fail "dataset.json regions used despite data.regions"
"$PY" -c "
import glob, nibabel as nib, numpy as np
v = set()
for p in glob.glob('eval_cfg/predictions/*.nii.gz'): v |= set(np.unique(np.asarray(nib.load(p).dataobj)).tolist())
assert v <= {0, 1, 3}, v" || fail "config regions painted other values than regions_class_order"

# 3. Sparse annotation: an ignore label in dataset.json; metrics skip the ignored voxels.
"$BIN/segdata" synth --out sparse --cases 5 --test-cases 2 --size 40 40 24 --seed 8 --regions \
  --min-radius 3 --max-radius 8 --ignore-fraction 0.4 >/dev/null || fail "synth --ignore-fraction"
grep -q '"ignore": 4' sparse/dataset.json || fail "dataset.json lacks the ignore label"
writeConfig sp.yaml "${common[@]}" data.root=sparse output.dir=run_sparse
"$BIN/segtrain" --config sp.yaml --log-level warn 2> train.err || fail "segtrain (ignore label) exited $?: $(tail -5 train.err)"
"$BIN/segeval" --checkpoint run_sparse/checkpoint_final.pt --images sparse/imagesTs --labels sparse/labelsTs \
  --output eval_sparse > eval_sparse.txt 2> eval.err || fail "segeval (ignore label) exited $?: $(tail -5 eval.err)"
grep -q '"ignore_label": 4' eval_sparse/metrics.json || fail "metrics.json does not state the ignore label"
grep -q "ignore label 4" eval_sparse.txt || fail "console report does not state the ignore label"
"$PY" - eval_sparse sparse/labelsTs 4 <<'PY' || fail "Dice with the ignore label is not on annotated voxels only"
import csv, math, sys, glob, os
import nibabel as nib, numpy as np
ev, labels, ignore = sys.argv[1], sys.argv[2], int(sys.argv[3])
regions = {1: (1, 2, 3), 2: (2, 3), 3: (3,)}
rows = {(r["case"], int(r["class"])): r for r in csv.DictReader(open(f"{ev}/cases.csv"))}
ignored_any = False
for path in sorted(glob.glob(f"{ev}/predictions/*.nii.gz")):
    case = os.path.basename(path)[:-7]
    p = np.asarray(nib.load(path).dataobj)
    g = np.asarray(nib.load(f"{labels}/{case}.nii.gz").dataobj)
    keep = g != ignore
    ignored_any |= not keep.all()
    for c, values in regions.items():
        a, b = np.isin(p, values) & keep, np.isin(g, values) & keep
        tp, total = (a & b).sum(), a.sum() + b.sum()
        want = float("nan") if total == 0 else 2 * tp / total
        got = float(rows[(case, c)]["dice"])
        assert (math.isnan(want) and math.isnan(got)) or abs(want - got) < 1e-12, (case, c, want, got)
        assert int(rows[(case, c)]["pred_voxels"]) == a.sum(), (case, c, int(rows[(case, c)]["pred_voxels"]), a.sum())
assert ignored_any, "no ignored voxels in the test labels"
PY
echo "regions_train_eval: ok"
