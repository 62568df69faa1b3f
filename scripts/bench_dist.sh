#!/usr/bin/env bash
# P5 distributed benchmark (CPU, Gloo): collectives per training step and 2-rank weak scaling,
# ours measured by segtrain itself, nnU-Net's collectives counted on its own loss in the same run.
#   1. Collectives per step: segtrain counts every collective it issues (ProcessGroup, the
#      "rank 0: N collectives" line of train.log). Two runs that differ only in their number of
#      iterations give the per-step count exactly: (N(2K) - N(K)) / K, so start-up broadcasts and
#      per-epoch reductions drop out. The Dice-statistics share is the difference between
#      loss.batch true and false (with false the statistics are per sample and not reduced);
#      with deep supervision it is measured again. nnU-Net's side: scripts/bench/nnunet_collectives.py
#      runs nnunetv2's own DC_and_CE_loss (MemoryEfficientSoftDiceLoss, ddp=True, batch_dice=True)
#      inside its DeepSupervisionWrapper on 2 Gloo ranks and counts torch.distributed calls.
#   2. Weak scaling: the same per-rank batch on 1 and 2 ranks (1 intra-op and 1 loader thread per
#      rank, so 2 ranks use the machine's 2 cores); efficiency = samples/s(2) / (2 samples/s(1)),
#      from the second (warm) epoch's seconds in metrics.csv, median of ROUNDS alternating pairs.
# Usage: scripts/bench_dist.sh [BUILD_DIR]    DIST_ITERS (default 12), ROUNDS (default 3)
# Prints one JSON object (with a one-line "summary") on stdout; progress on stderr.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
ITERS=${DIST_ITERS:-12}
ROUNDS=${ROUNDS:-3}
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}
BIN="$BUILD/app"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$BIN/segdata" synth --out data --cases 10 --test-cases 1 --size 64 64 48 --seed 1 >/dev/null
cat > c.yaml <<'YAML'
data:
  root: data
  num_folds: 2
  patch_size: [48, 48, 32]
  num_workers: 1
model:
  features: [8, 16, 32, 64]
loss:
  name: dice_ce
  batch: true
train:
  epochs: 2
  iterations_per_epoch: 4
  batch_size: 2
  val_every: 0
  threads: 1
YAML

# run NAME RANKS [--set ...]: trains into NAME; prints nothing.
run() {
  local name=$1 ranks=$2; shift 2
  local launch=()
  ((ranks > 1)) && launch=(--nproc "$ranks")
  "$BIN/segtrain" "${launch[@]}" --config c.yaml "$@" --output "$name" --log-level info >"$name.out" 2>&1 \
    || { echo "bench_dist: segtrain $name failed: $(tail -5 "$name.out")" >&2; exit 1; }
}
collectives() { sed -n 's/.*rank 0: \([0-9]*\) collectives.*/\1/p' "$1/train.log" | tail -1; }
# per_step TAG [--set ...]: collectives per step with 2 ranks, from K and 2K iterations.
per_step() {
  local tag=$1; shift
  run "n1_$tag" 2 --set train.epochs=1 --set train.iterations_per_epoch=3 "$@"
  run "n2_$tag" 2 --set train.epochs=1 --set train.iterations_per_epoch=6 "$@"
  echo $(( ($(collectives "n2_$tag") - $(collectives "n1_$tag")) / 3 ))
}
echo "bench_dist: counting collectives" >&2
c_batch=$(per_step batch --set loss.batch=true)
c_sample=$(per_step sample --set loss.batch=false)
c_ds=$(per_step ds --set loss.batch=true --set model.deep_supervision=true)
c_ds_sample=$(per_step ds_sample --set loss.batch=false --set model.deep_supervision=true)
ds_levels=$(( 4 - 2 ))  # features [8,16,32,64]: 3 decoder outputs, the lowest has weight 0
nnunet=$("$PY" "$SRC/scripts/bench/nnunet_collectives.py" 2>"$WORK/nnunet.err") \
  || nnunet="{\"error\": $("$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()[-400:]))' <"$WORK/nnunet.err")}"

echo "bench_dist: weak scaling, $ROUNDS rounds of 1 and 2 ranks x $ITERS iterations" >&2
epoch2() { awk -F, 'NR == 1 {for (i = 1; i <= NF; ++i) if ($i == "seconds") c = i} NR == 3 {print $c}' "$1/metrics.csv"; }
one=(); two=()
for r in $(seq 1 "$ROUNDS"); do
  run "w1_$r" 1 --set train.iterations_per_epoch="$ITERS"
  run "w2_$r" 2 --set train.iterations_per_epoch="$ITERS"
  one+=("$(epoch2 "w1_$r")"); two+=("$(epoch2 "w2_$r")")
done
inside=$(sed -n 's/.*collectives, \([0-9.]*\) s inside.*/\1/p' "w2_$ROUNDS/train.log" | tail -1)
total=$(awk -F, 'NR == 1 {for (i = 1; i <= NF; ++i) if ($i == "seconds") c = i} NR > 1 {s += $c} END {print s}' "w2_$ROUNDS/metrics.csv")

"$PY" - "$ITERS" "$c_batch" "$c_sample" "$c_ds" "$c_ds_sample" "$ds_levels" "$nnunet" "$inside" "$total" \
  "$(nproc)" "${one[*]}" "${two[*]}" <<'PY'
import json, statistics, sys
iters, c_batch, c_sample, c_ds, c_ds_sample, ds_levels = (int(v) for v in sys.argv[1:7])
nnunet = json.loads(sys.argv[7])
inside, total, cores = float(sys.argv[8] or 0), float(sys.argv[9]), int(sys.argv[10])
one = [float(v) for v in sys.argv[11].split()]
two = [float(v) for v in sys.argv[12].split()]
batch_per_rank = 2
sps1 = [iters * batch_per_rank / s for s in one]
sps2 = [iters * 2 * batch_per_rank / s for s in two]
eff = [b / (2 * a) for a, b in zip(sps1, sps2)]
out = {
    "bench": "P5_distributed", "backend": "gloo", "ranks": 2, "cores": cores,
    "collectives_per_step": {"loss_batch_true": c_batch, "loss_batch_false": c_sample,
                             "deep_supervision_batch_true": c_ds, "deep_supervision_batch_false": c_ds_sample},
    "dice_statistics_collectives_per_step": c_batch - c_sample,
    "dice_statistics_collectives_per_step_deep_supervision": c_ds - c_ds_sample,
    "deep_supervision_levels_evaluated": ds_levels,
    "nnunet": nnunet,
    "weak_scaling": {"model": "U-Net 8-16-32-64", "patch_xyz": [48, 48, 32], "batch_per_rank": batch_per_rank,
                     "iterations": iters, "seconds_epoch2_1rank": one, "seconds_epoch2_2ranks": two,
                     "samples_per_s_1rank": statistics.median(sps1), "samples_per_s_2ranks": statistics.median(sps2),
                     "efficiency_per_round": eff, "efficiency": statistics.median(eff),
                     "rank0_seconds_in_collectives": inside, "rank0_run_seconds": total},
}
levels = max(ds_levels, 1)
ours = "Dice statistics: %d collectives per step (goal 1 forward + 1 backward), %d with %d deep-supervision levels" % (
    out["dice_statistics_collectives_per_step"], out["dice_statistics_collectives_per_step_deep_supervision"], levels)
if "dice_collectives_per_step" in nnunet:
    ours += "; nnU-Net %d per step, %d with %d levels" % (
        nnunet["dice_collectives_per_step"], nnunet["dice_collectives_per_step_deep_supervision"],
        nnunet["deep_supervision_levels_evaluated"])
out["summary"] = "%s; 2-rank weak-scaling efficiency %.2f" % (ours, out["weak_scaling"]["efficiency"])
print(json.dumps(out))
PY
