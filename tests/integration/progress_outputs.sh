#!/usr/bin/env bash
# What a user sees during training (and train.full_val_every): a status line redrawn with '\r' on a terminal
# (run under script(1) for a pseudo-terminal), plain lines without '\r' elsewhere,
# the versions line in train.log, and progress.svg: well-formed XML (parsed with
# python3's xml.etree) holding one series per metrics.csv column it plots.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

"$BIN/segdata" synth --out data --cases 4 --test-cases 0 --size 32 32 16 --seed 5 >/dev/null || fail "synth"
writeConfig tiny.yaml 'data.patch_size=[16, 16, 16]' train.epochs=3 train.iterations_per_epoch=4 \
  train.full_val_every=2 output.dir=run

# Not a terminal: no carriage returns anywhere.
"$BIN/segtrain" --config tiny.yaml > out.txt 2> err.txt || fail "segtrain exited $?: $(cat err.txt)"
grep -q $'\r' out.txt err.txt run/train.log && fail "carriage return in non-terminal output"
grep -qE "LibTorch [0-9]+\.[0-9]+.*CUDA .*cuDNN " run/train.log || fail "versions not logged: $(head -5 run/train.log)"
grep -q "full-volume validation (2 cases" run/train.log || fail "full-volume validation not logged"
[[ $(grep -c "full-volume validation" run/train.log) -eq 1 ]] || fail "full-volume validation should run in epoch 2 only"

[[ -s run/progress.svg ]] || fail "progress.svg missing"
ls run | grep -q tmp && fail "temporary file left behind"
"$PY" - <<'PY' || fail "progress.svg is not the expected picture"
import csv, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse("run/progress.svg").getroot()   # raises on malformed XML
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
rows = list(csv.DictReader(open("run/metrics.csv")))
assert len(rows) == 3, rows
series = {e.get("id"): e for e in root.iter() if (e.get("id") or "").startswith("series-")}
for column in ("train_loss", "lr", "val_dice_1", "ema_dice"):
    e = series.get("series-" + column)
    assert e is not None and e.tag.endswith("polyline"), (column, sorted(series))
    points = e.get("points").split()
    assert len(points) == 3, (column, points)   # one vertex per epoch
# Full-volume validation ran in epoch 2 only: values there, empty cells elsewhere, one point.
for k in ("vol_dice_1", "vol_lesion_sensitivity_1", "vol_lesion_dice_1", "vol_fp_per_case_1"):
    assert [r[k] != "" for r in rows] == [False, True, False], (k, rows)
assert 0.0 <= float(rows[1]["vol_dice_1"]) <= 1.0 and float(rows[1]["vol_fp_per_case_1"]) >= 0
assert series["series-vol_dice_1"].tag.endswith("circle"), series["series-vol_dice_1"].tag
# The lesion metrics in [0, 1] have their own panel; false positives per case (a count) are not drawn.
for k in ("vol_lesion_sensitivity_1", "vol_lesion_dice_1", "vol_lesion_f1_1"):
    assert series["series-" + k].tag.endswith("circle"), (k, sorted(series))
assert "series-vol_fp_per_case_1" not in series, sorted(series)
titles = [e.text for e in root.iter() if e.get("class") == "title"]
assert "full-volume lesion metrics" in titles, titles
# The loss line falls where the loss falls: SVG y grows downwards.
loss = [float(r["train_loss"]) for r in rows]
ys = [float(p.split(",")[1]) for p in series["series-train_loss"].get("points").split()]
for i in range(3):
    for j in range(3):
        if loss[i] < loss[j]:
            assert ys[i] > ys[j], (loss, ys)
PY

# A terminal (script(1) gives the run a pseudo-terminal): the status line uses '\r'.
if command -v script >/dev/null; then
  rm -rf run
  script -qec "'$BIN/segtrain' --config tiny.yaml" tty.txt > /dev/null || fail "segtrain on a terminal exited $?"
  grep -q $'\repoch 1/3  it [0-9]/4  loss' tty.txt || fail "no status line on the terminal: $(cat -v tty.txt | head -20)"
  grep -qE "it/s  ETA [0-9hms-]+  loader wait [0-9]+%" tty.txt || fail "status line lacks it/s, ETA or loader wait"
  grep -q $'\r' run/train.log && fail "status line leaked into train.log"
fi
echo "progress_outputs: ok"
