#!/usr/bin/env bash
# Issue 20 end to end on the synthetic phantoms: segtrain --folds all (3 folds; stopped by
# SIGTERM in fold 1 and resumed: fold 0 is skipped untouched, fold 1 resumes, fold 2 starts),
# segeval --cv (every training case scored once, postprocessing chosen and stored with the
# run), the ensemble of the 3 folds on the test cases with each fold's Dice beside the
# ensemble's and the stored postprocessing applied, and a TorchScript export that Python's
# torch.jit.load runs to segtrain's logits. Bad fold lists and a second fresh start on a
# finished run are exit 2 with nothing written.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
needTorch

"$BIN/segdata" synth --out data --cases 6 --test-cases 2 --size 32 32 16 --seed 11 --log-level warn >/dev/null \
  || fail "synth"
writeConfig cv.yaml data.num_folds=3 train.epochs=2 train.iterations_per_epoch=30 train.batch_size=2

# 1. All folds, stopped in fold 1 and resumed.
"$BIN/segtrain" --config cv.yaml --output run --folds all --log-level warn 2> stop.err & pid=$!
for _ in $(seq 1 3000); do
  [[ -f run/fold_1/train.log ]] && grep -q "model: U-Net" run/fold_1/train.log && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.02
done
kill -TERM "$pid" 2>/dev/null; wait "$pid"; rc=$?
[[ $rc -eq 143 ]] || fail "SIGTERM in fold 1: exit $rc, expected 143: $(tail -3 stop.err)"
grep -q "resume with segtrain --output run --folds all --resume" stop.err || fail "no resume hint: $(cat stop.err)"
"$PY" - run '["done", "started", "pending"]' <<'PY' || fail "folds.json after the stop"
import json, sys
j = json.load(open(sys.argv[1] + "/folds.json"))
assert j["num_folds"] == 3, j
assert [f["status"] for f in j["folds"]] == json.loads(sys.argv[2]), j
PY
fold0=$(md5sum < run/fold_0/checkpoint_final.pt)
"$BIN/segtrain" --output run --folds all --resume --log-level info > resume.out 2>&1 || fail "resume exited $?: $(tail -5 resume.out)"
grep -q "fold 0: done .*skipped" resume.out || fail "fold 0 was not skipped"
grep -q "resumed from run/fold_1/checkpoint_latest.pt" run/fold_1/train.log || fail "fold 1 did not resume"
[[ $(md5sum < run/fold_0/checkpoint_final.pt) == "$fold0" ]] || fail "fold 0's checkpoint changed on resume"
for k in 0 1 2; do
  [[ -f run/fold_$k/checkpoint_final.pt ]] || fail "fold $k has no checkpoint_final.pt"
  grep -q "^  fold: $k\$" run/fold_$k/config.yaml || fail "fold $k's config does not say data.fold $k"
done
"$PY" - run '["done", "done", "done"]' <<'PY' || fail "folds.json after the resume"
import json, sys
j = json.load(open(sys.argv[1] + "/folds.json"))
assert [f["status"] for f in j["folds"]] == json.loads(sys.argv[2]), j
PY
cp run/config.yaml config.before
"$BIN/segtrain" --config cv.yaml --output run --folds all --set train.epochs=3 2> again.err; rc=$?
[[ $rc -eq 2 ]] && grep -q "run/fold_0 already holds a run" again.err || fail "fresh start on a finished run: exit $rc"
cmp -s config.before run/config.yaml || fail "a refused start rewrote run/config.yaml"
for bad in "0,3" "1,1" "x"; do
  "$BIN/segtrain" --config cv.yaml --output bad --folds "$bad" 2> bad.err; rc=$?
  [[ $rc -eq 2 ]] && grep -q "^segtrain: error: --folds: " bad.err || fail "--folds $bad: exit $rc: $(cat bad.err)"
  [[ ! -e bad ]] || fail "--folds $bad wrote the output folder"
done

# 2. Cross-validation: each fold's validation cases by its own model; postprocessing stored.
"$BIN/segeval" --cv run --output cv --no-distances --log-level warn > cv.out 2> cv.err || fail "segeval --cv: $(tail -3 cv.err)"
[[ -s run/postprocessing.json ]] || fail "segeval --cv stored no run/postprocessing.json"
"$PY" - data cv <<'PY' || fail "cross-validation report"
import csv, os, sys
data, cv = sys.argv[1:]
cases = sorted(f[:-7] for f in os.listdir(f"{data}/labelsTr") if f.endswith(".nii.gz"))
rows = [r for r in csv.DictReader(open(f"{cv}/cases.csv")) if r["class"] == "1"]
assert sorted(r["case"] for r in rows) == cases, (rows, cases)
assert len(list(csv.DictReader(open(f"{cv}/folds.csv")))) == 3
PY

# 3. The ensemble of the 3 folds on the test cases, each fold's Dice beside it.
"$BIN/segeval" --checkpoint run/fold_0/checkpoint_final.pt run/fold_1/checkpoint_final.pt run/fold_2/checkpoint_final.pt \
  --images data/imagesTs --labels data/labelsTs --output ens --member-scores --no-distances > ens.out 2> ens.err \
  || fail "ensemble segeval: $(tail -3 ens.err)"
for m in fold_0 fold_1 fold_2 ensemble; do grep -q "^$m " ens.out || fail "member table lacks $m: $(cat ens.out)"; done
grep -q "postprocessing from run/postprocessing.json" ens/eval.log || fail "the run's postprocessing was not applied"
"$PY" - ens <<'PY' || fail "members.csv"
import csv, sys
models = {r["model"] for r in csv.DictReader(open(sys.argv[1] + "/members.csv"))}
assert models == {"fold_0", "fold_1", "fold_2", "ensemble"}, models
PY
# A member's row is what that fold predicts alone (same cases, same postprocessing), and the
# ensemble's row is the ensemble run's own cases.csv.
"$BIN/segeval" --checkpoint run/fold_1/checkpoint_final.pt --images data/imagesTs --labels data/labelsTs \
  --output alone --no-distances > alone.out 2> alone.err || fail "segeval of fold 1 alone: $(tail -3 alone.err)"
"$PY" - ens alone <<'PY' || fail "members.csv disagrees with the member run alone"
import csv, math, sys
ens, alone = sys.argv[1:]
def mean_dice(path):
    d = [float(r["dice"] or "nan") for r in csv.DictReader(open(path)) if r["class"] == "1"]
    d = [v for v in d if not math.isnan(v)]
    return sum(d) / len(d)
rows = {}
for r in csv.DictReader(open(ens + "/members.csv")):  # rows per model in class order: class 1 first
    rows.setdefault(r["model"], r)
for model, cases in (("fold_1", alone + "/cases.csv"), ("ensemble", ens + "/cases.csv")):
    got, want = float(rows[model]["mean_dice"]), mean_dice(cases)
    assert math.isclose(got, want, abs_tol=1e-6), (model, got, want)
PY

# 4. TorchScript export: Python's torch.jit.load gives segtrain's logits.
"$BIN/segtrain" export --torchscript --checkpoint run/fold_0/checkpoint_final.pt --out model.pt --check-io io.pt \
  > export.out || fail "export --torchscript exited $?"
"$PY" - model.pt io.pt <<'PY' || fail "TorchScript module disagrees with segtrain"
import sys, warnings, torch
warnings.simplefilter("ignore")
m = torch.jit.load(sys.argv[1])
io = torch.load(sys.argv[2])
with torch.no_grad():
    y = m(io["input"])
assert y.shape == io["logits"].shape, (y.shape, io["logits"].shape)
d = (y - io["logits"]).abs().max().item()
assert d <= 1e-4, d
PY
echo "cv_to_deployment: folds stopped/resumed, cross-validation, 3-fold ensemble, TorchScript export OK"
