#!/usr/bin/env bash
# A plain case list in the YAML config (data.cases) with an explicit nnU-Net
# splits_final.json (data.split_file) and the decoded cache (data.cache_dir): the fold
# the file names is used, a second run reads every case from the cache, and a bad id
# in the split file is an input error naming it.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out data --cases 4 --test-cases 0 --size 24 24 16 --seed 5 --log-level warn >/dev/null || fail "synth"
mkdir -p scans masks
for i in 0 1 2 3; do
  mv "data/imagesTr/case_00${i}_0000.nii.gz" "scans/p${i}.nii.gz"
  mv "data/labelsTr/case_00${i}.nii.gz" "masks/p${i}_seg.nii.gz"
done
cat > splits_final.json <<'JSON'
[{"train": ["p0", "p1"], "val": ["p3"]}, {"train": ["p2", "p3"], "val": ["p0", "p1"]}]
JSON
cat > list.yaml <<YAML
data:
  root: .
  labels: [background, lesion]
  cases:
    - {images: [scans/p0.nii.gz], label: masks/p0_seg.nii.gz}
    - {id: p1, images: [scans/p1.nii.gz], label: masks/p1_seg.nii.gz}
    - {id: p2, images: [scans/p2.nii.gz], label: masks/p2_seg.nii.gz}
    - {id: p3, images: [scans/p3.nii.gz], label: masks/p3_seg.nii.gz}
  split_file: splits_final.json
  fold: 0
  cache_dir: cache
  patch_size: [16, 16, 8]
  num_workers: 1
model:
  features: [4, 8]
train:
  epochs: 1
  iterations_per_epoch: 1
  batch_size: 1
  val_iterations: 1
YAML
"$BIN/segtrain" --config list.yaml --output run1 --log-level info > run1.txt 2>&1 || { cat run1.txt; fail "segtrain exited $?"; }
grep -q "2 train, 1 validation" run1/train.log || fail "fold 0 of the split file not used: $(grep dataset run1/train.log)"
grep -q "fold 0 of splits_final.json: 2 train" run1/train.log || fail "log should name the split file, not data.num_folds: $(grep dataset run1/train.log)"
grep -q "loaded 2 cases (0 from the cache" run1/train.log || fail "first run should fill the cache"
[[ $(ls cache/*.segcache | wc -l) -eq 3 ]] || fail "expected 3 cache entries, got $(ls cache)"
ls cache | grep -q tmp && fail "temporary cache file left behind"
grep -qF "images: [scans/p0.nii.gz], label: masks/p0_seg.nii.gz}" run1/config.yaml || fail "resolved config lacks the case list"

"$BIN/segtrain" --config list.yaml --output run2 --log-level info > run2.txt 2>&1 || fail "second segtrain exited $?"
grep -q "loaded 2 cases (2 from the cache" run2/train.log || fail "second run did not use the cache"
grep -q "loaded 1 cases (1 from the cache" run2/train.log || fail "validation case not from the cache"

"$BIN/segtrain" --config list.yaml --set data.fold=1 --output run3 --log-level info > run3.txt 2>&1 || fail "fold 1 exited $?"
grep -q "2 train, 2 validation" run3/train.log || fail "fold 1 of the split file not used"

echo '[{"train": ["p0", "p9"], "val": []}]' > bad_split.json
"$BIN/segtrain" --config list.yaml --set data.split_file=bad_split.json --output run4 2> bad.txt
rc=$?
[[ $rc -eq 2 ]] || fail "unknown id in the split file: exit $rc, expected 2"
grep -q "bad_split.json: fold 0: train: case 'p9' is not a training case" bad.txt || fail "message: $(cat bad.txt)"
echo "ok"
