#!/usr/bin/env bash
# train.select_by lesion_f1 end to end: checkpoint_best.pt is chosen at each full-volume
# validation by the mean over classes of the pooled lesion F1 (vol_lesion_f1_<c> in
# metrics.csv). The epoch the log names as the best must hold the strictly first maximum of
# that column (ties keep the earlier epoch), checkpoint_best.pt must exist, and select_by
# lesion_f1 without train.full_val_every is a config error (exit 2) naming the key.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out data --cases 4 --test-cases 0 --size 32 32 16 --seed 5 >/dev/null || fail "synth"
writeConfig sel.yaml 'data.patch_size=[16, 16, 16]' train.epochs=3 train.iterations_per_epoch=3 \
  train.batch_size=2 train.full_val_every=1 train.select_by=lesion_f1 output.dir=run
"$BIN/segtrain" --config sel.yaml > out.txt 2> err.txt || fail "segtrain exited $?: $(tail -5 err.txt)"
grep -q "select_by: lesion_f1" run/config.yaml || fail "resolved config lacks select_by: $(grep -n select run/config.yaml)"
head -1 run/metrics.csv | grep -q "vol_lesion_f1_1" || fail "metrics.csv lacks vol_lesion_f1_1: $(head -1 run/metrics.csv)"
grep "checkpoint_best.pt chosen by" run/train.log > chosen.txt
[[ -s chosen.txt ]] || fail "the log never names the criterion of checkpoint_best.pt"
grep -vq "chosen by lesion_f1" chosen.txt && fail "a best checkpoint chosen by another criterion: $(cat chosen.txt)"
[[ -s run/checkpoint_best.pt ]] || fail "checkpoint_best.pt missing"
best=$(tail -1 chosen.txt | sed -E 's/.*epoch ([0-9]+): checkpoint_best.pt chosen by lesion_f1 = ([0-9.]+).*/\1 \2/')
"$PY" - $best <<'PY' || fail "the logged best epoch is not the first maximum of vol_lesion_f1 ($best): $(cat run/metrics.csv)"
import csv, math, sys
epoch, value = int(sys.argv[1]), float(sys.argv[2])
rows = list(csv.DictReader(open("run/metrics.csv")))
assert len(rows) == 3, rows
cols = [k for k in rows[0] if k.startswith("vol_lesion_f1_")]
def score(r):  # mean over classes, skipping classes without a value (NaN is written empty)
    v = [float(r[k]) for k in cols if r[k] not in ("", "nan")]
    return sum(v) / len(v) if v else math.nan
scores = [(int(r["epoch"]), score(r)) for r in rows]
finite = [s for s in scores if not math.isnan(s[1])]
top = max(s for _, s in finite)
first = min(e for e, s in finite if s == top)
assert epoch == first, (epoch, first, scores)
assert abs(value - top) < 5e-5, (value, top)
PY

# --resume continues the same selection: the stored best (its epoch and score) is kept, so a
# resumed epoch is only logged as a new best above it; another select_by is refused.
"$BIN/segtrain" --output run --resume --set train.epochs=4 > resume.out 2> resume.err ||
  fail "resume exited $?: $(tail -5 resume.err)"
[[ $(grep -c "chosen by lesion_f1 = [0-9.]* (first)" run/train.log) -eq 1 ]] ||
  fail "the resumed run restarted the best tracking: $(grep 'chosen by' run/train.log)"
"$PY" - <<'PY' || fail "resumed selection: $(grep 'chosen by' run/train.log)"
import csv, re
rows = list(csv.DictReader(open("run/metrics.csv")))
assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4], rows
f1 = {int(r["epoch"]): float(r["vol_lesion_f1_1"]) for r in rows}
chosen = [int(m.group(1)) for m in re.finditer(r"epoch (\d+): checkpoint_best.pt chosen by lesion_f1", open("run/train.log").read())]
best = max(f1[e] for e in (1, 2, 3))
# Epoch 4 is a new best exactly when it beats the first three epochs' best.
assert (4 in chosen) == (f1[4] > best), (chosen, f1)
PY
"$BIN/segtrain" --output run --resume --set train.epochs=5 --set train.select_by=pseudo_dice > other.out 2> other.err
rc=$?
[[ $rc -eq 2 ]] || fail "resume with another select_by exited $rc, expected 2: $(tail -3 other.err)"
grep -q "train.select_by: lesion_f1 -> pseudo_dice" other.err || fail "refusal does not name train.select_by: $(cat other.err)"

# The lesion criteria need the full-volume validation.
writeConfig bad.yaml train.select_by=lesion_f1 output.dir=bad
"$BIN/segtrain" --config bad.yaml > bad.out 2> bad.err
rc=$?
[[ $rc -eq 2 ]] || fail "select_by without full_val_every exited $rc, expected 2: $(cat bad.err)"
grep -q "train.select_by: lesion_f1 needs train.full_val_every > 0" bad.err || fail "error does not name the key: $(cat bad.err)"
[[ -e bad ]] && fail "a refused config left a run directory"
echo "select_by_lesion: ok"
