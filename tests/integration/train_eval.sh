#!/usr/bin/env bash
# End to end on a tiny synthetic dataset: segdata synth -> segtrain -> --resume ->
# segeval (model mode and metrics-only mode), checking outputs and geometry.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out data --cases 6 --test-cases 2 --size 40 40 24 --seed 3 >/dev/null || fail "synth"

writeConfig tiny.yaml loss.name=dice_ce train.epochs=2 train.iterations_per_epoch=3 train.batch_size=2 \
  output.dir=run

"$BIN/segtrain" --config tiny.yaml --log-level warn || fail "segtrain exited $?"
for f in config.yaml train.log metrics.csv checkpoint_latest.pt checkpoint_final.pt; do
  [[ -s run/$f ]] || fail "run/$f missing"
done
[[ $(wc -l < run/metrics.csv) -eq 3 ]] || fail "metrics.csv should have a header and 2 epochs"
ls run | grep -q tmp && fail "temporary checkpoint left behind"

# The resolved config has every default filled and reloads to the same config.
grep -q "smooth_nr" run/config.yaml || fail "resolved config lacks defaults"
"$BIN/segtrain" --config run/config.yaml --print-config > reprinted.yaml || fail "print-config"
diff <(grep -v "^#" run/config.yaml) <(grep -v "^#" reprinted.yaml) >/dev/null || fail "resolved config does not round-trip"

# A second run into the same directory must not clobber it; --resume continues it.
"$BIN/segtrain" --config tiny.yaml --log-level warn 2> err.txt; rc=$?
[[ $rc -eq 2 ]] || fail "second run into a used output dir exited $rc, expected 2"
grep -q -- "--resume" err.txt || fail "message should suggest --resume: $(cat err.txt)"
"$BIN/segtrain" --config tiny.yaml --set train.optimizer.lr=0.5 --resume --log-level warn 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "train.optimizer.lr: 0.01 -> 0.5" err.txt || fail "resume with a changed lr: rc $rc, $(cat err.txt)"
"$BIN/segtrain" --config tiny.yaml --set train.epochs=3 --resume --log-level warn || fail "resume"
[[ $(wc -l < run/metrics.csv) -eq 4 ]] || fail "resume should add exactly one epoch"

# Model mode: predictions with the input geometry, report files, tables.
"$BIN/segeval" --checkpoint run/checkpoint_final.pt --images data/imagesTs --labels data/labelsTs \
  --output eval > eval.txt || fail "segeval exited $?"
grep -q "Lesion detection by size" eval.txt || fail "size-bin table missing"
for f in cases.csv lesions.csv size_bins.csv metrics.json report.html; do [[ -s eval/$f ]] || fail "eval/$f missing"; done
head -1 eval/cases.csv | grep -q "^case,class,dice,iou,hd95,assd,ref_voxels,pred_voxels,ref_lesions,detected_lesions,fp_lesions" \
  || fail "cases.csv header: $(head -1 eval/cases.csv)"
head -1 eval/lesions.csv | grep -q "^case,class,lesion,voxels,volume_mm3,size_bin,detected,dice" \
  || fail "lesions.csv header: $(head -1 eval/lesions.csv)"
grep -q '"empty_rule": "nan"' eval/metrics.json || fail "metrics.json does not state the empty rule"
grep -q "data:image/png;base64" eval/report.html || fail "report.html has no embedded overlay"
for img in data/imagesTs/*_0000.nii.gz; do
  id=$(basename "$img" _0000.nii.gz)
  pred=eval/predictions/$id.nii.gz
  [[ -s $pred ]] || fail "prediction $pred missing"
  a=$("$BIN/segdata" inspect "$img" --json | grep -E '"(size|spacing|origin|direction)"' -A3 | tr -d ' \n')
  b=$("$BIN/segdata" inspect "$pred" --json | grep -E '"(size|spacing|origin|direction)"' -A3 | tr -d ' \n')
  [[ "$a" == "$b" ]] || fail "prediction geometry differs for $id: $a vs $b"
done

# Metrics-only mode on the written predictions gives the same per-case table.
"$BIN/segeval" --predictions eval/predictions --labels data/labelsTs --output eval2 > eval2.txt || fail "metrics-only"
diff <(grep -E '^case_' eval.txt) <(grep -E '^case_' eval2.txt) || fail "metrics-only Dice differs from model mode"
diff eval/cases.csv eval2/cases.csv || fail "metrics-only cases.csv differs from model mode"

# The BraTS preset and IoU matching state themselves in the report.
"$BIN/segeval" --predictions eval/predictions --labels data/labelsTs --output eval3 --preset brats2023 > eval3.txt || fail "preset"
grep -q "preset brats2023" eval3.txt && grep -q '"preset": "brats2023"' eval3/metrics.json && grep -q '"empty_rule": "one"' eval3/metrics.json \
  || fail "brats2023 preset not reported"
"$BIN/segeval" --predictions eval/predictions --labels data/labelsTs --output eval4 --match iou:0.5 --no-distances > /dev/null || fail "iou match"
grep -q '"match_rule": "iou>=0.5"' eval4/metrics.json || fail "iou match rule not reported"
"$BIN/segeval" --predictions eval/predictions --labels data/labelsTs --output eval5 --match dice:1 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "match rule" err.txt || fail "bad --match: rc $rc, $(cat err.txt)"

# Export: a dict Python's torch.load reads, equal to the checkpoint's weights.
"$BIN/segtrain" export --checkpoint run/checkpoint_final.pt --out weights.pt > /dev/null || fail "export"
if "$PY" -c "import torch" 2>/dev/null; then
  "$PY" - <<'PY' || fail "exported weights differ from the checkpoint"
import torch
exported = torch.load("weights.pt")
ckpt = torch.jit.load("run/checkpoint_final.pt")
tensors = dict(ckpt.named_parameters()); tensors.update(dict(ckpt.named_buffers()))
model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
assert isinstance(exported, dict) and exported.keys() == model.keys(), (sorted(exported), sorted(model))
assert all(torch.equal(exported[k], model[k]) for k in model)
PY
fi

# Bad checkpoint path: exit 2 naming it.
"$BIN/segeval" --checkpoint nope.pt --images data/imagesTs --output e3 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "nope.pt" err.txt || fail "missing checkpoint: rc $rc, $(cat err.txt)"
echo "train_eval: ok"
