#!/usr/bin/env bash
# End to end on a tiny synthetic dataset: segdata synth -> segtrain -> --resume ->
# segeval (model mode and metrics-only mode), checking outputs and geometry.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
rm -rf "$WORK"; mkdir -p "$WORK"; cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN/segdata" synth --out data --cases 6 --test-cases 2 --size 40 40 24 --seed 3 >/dev/null || fail "synth"

cat > tiny.yaml <<YAML
data:
  root: data
  num_folds: 2
  patch_size: [32, 32, 16]
  num_workers: 1
model:
  features: [4, 8]
loss:
  name: dice_ce
train:
  epochs: 2
  iterations_per_epoch: 3
  batch_size: 2
  val_iterations: 1
output:
  dir: run
YAML

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
"$BIN/segtrain" --config tiny.yaml --set train.epochs=3 --resume --log-level warn || fail "resume"
[[ $(wc -l < run/metrics.csv) -eq 4 ]] || fail "resume should add exactly one epoch"

# Model mode: predictions with the input geometry, report files, tables.
"$BIN/segeval" --checkpoint run/checkpoint_final.pt --images data/imagesTs --labels data/labelsTs \
  --output eval > eval.txt || fail "segeval exited $?"
grep -q "Lesion detection by size" eval.txt || fail "size-bin table missing"
for f in per_case.csv lesions.csv size_bins.csv summary.json; do [[ -s eval/$f ]] || fail "eval/$f missing"; done
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

# Bad checkpoint path: exit 2 naming it.
"$BIN/segeval" --checkpoint nope.pt --images data/imagesTs --output e3 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "nope.pt" err.txt || fail "missing checkpoint: rc $rc, $(cat err.txt)"
echo "train_eval: ok"
