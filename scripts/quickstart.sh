#!/usr/bin/env bash
# The main job on the built-in dataset: setup + build, synthetic lesion phantoms,
# training (configs/quickstart.yaml, CPU), evaluation of the held-out cases, and the
# per-case Dice and per-lesion-size detection tables.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DATA=${DATA:-data/synth}
RUN=${RUN:-runs/quickstart-$(date +%Y%m%d-%H%M%S)}

scripts/setup.sh
bin="$BUILD_DIR/app"
if [[ ! -f "$DATA/dataset.json" ]]; then
  "$bin/segdata" synth --out "$DATA" --cases 16 --test-cases 4 --seed 1
fi
"$bin/segtrain" --config configs/quickstart.yaml --set data.root="$DATA" --output "$RUN"
"$bin/segeval" --checkpoint "$RUN/checkpoint_final.pt" --images "$DATA/imagesTs" --labels "$DATA/labelsTs" \
  --output "$RUN/eval"
echo
echo "run: $RUN (checkpoints, metrics.csv, train.log); predictions and report: $RUN/eval"
