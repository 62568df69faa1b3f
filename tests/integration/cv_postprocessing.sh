#!/usr/bin/env bash
# segeval --cv (docs/evaluation.md, "Cross-validation and postprocessing"): three folds of a
# tiny two-class run, each fold's validation cases predicted by its own model; every training
# case is scored once, folds.csv has a row per fold, postprocessing is chosen (nnU-Net's rule)
# and written to RUN/postprocessing.json, and the postprocessed report is no worse for any
# class a step was applied to. A fold without a checkpoint and a case in two folds' validation
# are exit 2 naming them.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
"$PY" -c "import json, csv" 2>/dev/null || skip "$PY does not run"

"$BIN/segdata" synth --out data --cases 6 --test-cases 0 --size 32 32 16 --seed 11 --classes 2 --log-level warn \
  >/dev/null || fail "synth"
writeConfig tiny.yaml data.num_folds=3 train.epochs=2 train.iterations_per_epoch=12 train.batch_size=2 train.val_every=0
for k in 0 1 2; do
  "$BIN/segtrain" --config tiny.yaml --set data.fold=$k --set output.dir=run/fold_$k --log-level warn \
    || fail "segtrain fold $k exited $?"
done

"$BIN/segeval" --cv run --output cv --no-distances --log-level warn > cv.out 2> cv.err || {
  cat cv.err >&2; fail "segeval --cv exited $?"; }
grep -q "postprocessing (chosen by dice" cv.out || fail "no postprocessing summary: $(cat cv.out)"
[[ -s run/postprocessing.json && -s cv/postprocessing.json ]] || fail "postprocessing.json missing"
[[ -s cv/report.html ]] && grep -q "<h2>Cross-validation</h2>" cv/report.html || fail "report.html has no cv section"
ls cv/postprocessed/predictions/*.nii.gz >/dev/null 2>&1 || fail "no postprocessed predictions"

"$PY" - data run cv <<'PY' || fail "report checks failed"
import csv, json, math, os, sys
data, run, cv = sys.argv[1:]
cases = sorted(f[:-len(".nii.gz")] for f in os.listdir(os.path.join(data, "labelsTr")) if f.endswith(".nii.gz"))
rows = list(csv.DictReader(open(os.path.join(cv, "cases.csv"))))
classes = sorted({r["class"] for r in rows})
assert classes == ["1", "2"], classes
for c in classes:
    ids = sorted(r["case"] for r in rows if r["class"] == c)
    assert ids == cases, f"class {c}: cases {ids} != training cases {cases}"
folds = list(csv.DictReader(open(os.path.join(cv, "folds.csv"))))
assert len(folds) == 3, folds
assert sum(int(f["cases"]) for f in folds) == len(cases), folds
assert sorted(os.listdir(os.path.join(cv, "predictions"))) == [c + ".nii.gz" for c in cases]
pp = json.load(open(os.path.join(run, "postprocessing.json")))
assert pp["criterion"] == "dice" and pp["connectivity"] == 26 and pp["num_cases"] == len(cases), pp
assert json.load(open(os.path.join(cv, "postprocessing.json"))) == pp

def mean_dice(path):
    out = {}
    for c in classes:
        v = [float(r["dice"]) for r in csv.DictReader(open(path)) if r["class"] == c and r["dice"] != "nan"]
        out[int(c)] = sum(v) / len(v) if v else float("nan")
    return out
raw = mean_dice(os.path.join(cv, "cases.csv"))
post = mean_dice(os.path.join(cv, "postprocessed", "cases.csv"))
targets = set()
for s in pp["steps"]:
    targets |= set(raw) if s["target"] == 0 else {s["target"]}
for c in sorted(targets):
    assert post[c] >= raw[c] - 1e-12, f"class {c}: postprocessed Dice {post[c]} < raw {raw[c]}"
for c in set(raw) - targets:
    assert post[c] == raw[c] or (math.isnan(post[c]) and math.isnan(raw[c])), f"class {c} changed without a step"
# The file's own before/after scores agree with the reports.
for c in raw:
    b = pp["before"]["per_class"][c - 1]
    assert b is None or abs(b - raw[c]) < 1e-6, (c, b, raw[c])
    a = pp["after"]["per_class"][c - 1]
    assert a is None or abs(a - post[c]) < 1e-6, (c, a, post[c])
print("steps:", pp["steps"], "raw:", raw, "postprocessed:", post)
PY

# --select lesion: chosen by the pooled lesion F1 (2TP / (2TP + FN + FP), from cases.csv's counts).
"$BIN/segeval" --cv run --output cv_lesion --select lesion --pp-min-sizes 5,50 --no-distances --log-level warn \
  > lesion.out 2> lesion.err || { cat lesion.err >&2; fail "segeval --cv --select lesion exited $?"; }
"$PY" - run cv_lesion <<'PY' || fail "lesion selection checks failed"
import csv, json, os, sys
run, cv = sys.argv[1:]
pp = json.load(open(os.path.join(run, "postprocessing.json")))
assert pp["criterion"] == "lesion_f1", pp["criterion"]
sizes = sorted({c["min_size_mm3"] for c in pp["candidates"] if c["kind"] == "remove_small"})
assert sizes == [5.0, 50.0], sizes
def f1(path):
    out = {}
    for r in csv.DictReader(open(path)):
        t = out.setdefault(int(r["class"]), [0, 0, 0])
        t[0] += int(r["detected_lesions"]); t[1] += int(r["ref_lesions"]) - int(r["detected_lesions"])
        t[2] += int(r["fp_lesions"])
    return {c: (2 * tp / (2 * tp + fn + fp) if tp + fn + fp else None) for c, (tp, fn, fp) in out.items()}
raw, post = f1(os.path.join(cv, "cases.csv")), f1(os.path.join(cv, "postprocessed", "cases.csv"))
for c in raw:
    assert raw[c] is None or abs(pp["before"]["per_class"][c - 1] - raw[c]) < 1e-9, (c, raw[c], pp["before"])
    assert post[c] is None or abs(pp["after"]["per_class"][c - 1] - post[c]) < 1e-9, (c, post[c], pp["after"])
for s in pp["steps"]:
    for c in (raw if s["target"] == 0 else [s["target"]]):
        assert post[c] >= raw[c], f"class {c}: lesion F1 {post[c]} < {raw[c]}"
print("lesion steps:", pp["steps"], "raw F1:", raw, "postprocessed F1:", post)
PY

# A fold that has not finished: exit 2 naming the fold folder, nothing written.
mkdir -p partial && cp -r run/fold_0 partial/fold_0 && mkdir -p partial/fold_1 && cp run/fold_1/config.yaml partial/fold_1/
"$BIN/segeval" --cv partial --output cv_partial --log-level warn > partial.out 2>&1
rc=$?
[[ $rc -eq 2 ]] || fail "missing checkpoint: exit $rc, expected 2: $(cat partial.out)"
grep -q "partial/fold_1' has no checkpoint_final.pt" partial.out || fail "message does not name the fold: $(cat partial.out)"
[[ ! -e partial/postprocessing.json ]] || fail "postprocessing.json written on error"

# The same validation case in two folds: exit 2 naming the case.
mkdir -p twice && cp -r run/fold_0 twice/fold_0 && cp -r run/fold_0 twice/fold_1
"$BIN/segeval" --cv twice --output cv_twice --no-postprocessing --log-level warn > twice.out 2>&1
rc=$?
[[ $rc -eq 2 ]] || fail "duplicate case: exit $rc, expected 2: $(cat twice.out)"
grep -q "is a validation case of fold 0 and of fold 0" twice.out || fail "message: $(cat twice.out)"
echo "cv_postprocessing: ok"
