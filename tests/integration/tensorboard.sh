#!/usr/bin/env bash
# output.tensorboard end to end, read back with the `tensorboard` package's own reader
# (EventAccumulator, pinned in scripts/requirements.txt): every epoch's metrics.csv values are
# scalars at step = epoch (losses, lr, pseudo-Dice, full-volume Dice and lesion metrics), and a
# run resumed from an older checkpoint purges what it writes again, so each step holds one value,
# the one of metrics.csv after the resume.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
"$PY" -c "import tensorboard" 2>/dev/null || fail "the venv lacks the tensorboard package (scripts/requirements.txt)"

"$BIN/segdata" synth --out data --cases 4 --test-cases 0 --size 32 32 16 --seed 7 >/dev/null || fail "synth"
writeConfig tb.yaml 'data.patch_size=[16, 16, 16]' train.epochs=2 train.iterations_per_epoch=3 \
  train.batch_size=2 train.full_val_every=1 output.tensorboard=true output.dir=run
"$BIN/segtrain" --config tb.yaml > out.txt 2> err.txt || fail "segtrain exited $?: $(tail -5 err.txt)"
cp run/checkpoint_latest.pt epoch2.pt
"$BIN/segtrain" --config tb.yaml --set train.epochs=3 --resume > out.txt 2> err.txt || fail "resume to 3: $(tail -5 err.txt)"
# Back to epoch 2 and epoch 3 once more: its first values must be purged.
cp epoch2.pt run/checkpoint_latest.pt
"$BIN/segtrain" --config tb.yaml --set train.epochs=3 --resume > out.txt 2> err.txt || fail "second resume: $(tail -5 err.txt)"
[[ $(ls run/tensorboard | grep -c tfevents) -eq 3 ]] || fail "expected 3 event files: $(ls run/tensorboard)"

"$PY" - run <<'PY' || fail "TensorBoard's reader disagrees with metrics.csv"
import csv, math, sys, warnings
warnings.filterwarnings("ignore")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
run = sys.argv[1]
ea = EventAccumulator(run + "/tensorboard", size_guidance={"scalars": 0})
ea.Reload()
tags = set(ea.Tags()["scalars"])
rows = list(csv.DictReader(open(run + "/metrics.csv")))
assert [int(r["epoch"]) for r in rows] == [1, 2, 3], [r["epoch"] for r in rows]
expected = {"loss/train_loss": "train_loss", "optim/lr": "lr", "pseudo_dice/val_dice_1": "val_dice_1",
            "pseudo_dice/ema_dice": "ema_dice", "full_volume/vol_dice_1": "vol_dice_1",
            "full_volume/vol_lesion_f1_1": "vol_lesion_f1_1",
            "full_volume/vol_lesion_sensitivity_1": "vol_lesion_sensitivity_1"}
for tag, column in expected.items():
    assert tag in tags, (tag, sorted(tags))
    events = ea.Scalars(tag)
    steps = [e.step for e in events]
    want = [(int(r["epoch"]), float(r[column])) for r in rows if r[column] not in ("", "nan")]
    assert steps == [s for s, _ in want], (tag, steps, want)
    for e, (_, v) in zip(events, want):
        assert math.isclose(e.value, v, rel_tol=1e-4, abs_tol=1e-6), (tag, e.step, e.value, v)
print("ok", len(tags), "tags")
PY
# Without the key no event files are written.
writeConfig plain.yaml 'data.patch_size=[16, 16, 16]' train.epochs=1 train.iterations_per_epoch=2 \
  train.batch_size=2 output.dir=plain
"$BIN/segtrain" --config plain.yaml > out.txt 2> err.txt || fail "plain run: $(tail -5 err.txt)"
[[ ! -e plain/tensorboard ]] || fail "tensorboard/ written without output.tensorboard"
echo "tensorboard: ok"
