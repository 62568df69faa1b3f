#!/usr/bin/env bash
# The small-lesion experiment (docs/experiments.md): one model per loss (ce, dice,
# dice_ce, gdl) with the same data, split, seed, budget and schedule, evaluated with
# segeval on the held-out cases, repeated over several seeds; writes one table
# (results.md, results.csv) and one chart (results.svg).
#
#   scripts/experiments/loss_comparison.sh [DATASET] [options]
#
# DATASET: an nnU-Net style folder (dataset.json, imagesTr/labelsTr for training,
# imagesTs/labelsTs held out for evaluation). Without it, synthetic lesion phantoms with a
# high share of tiny lesions are generated (segdata synth, options below).
#
# Options:
#   --quick          a tiny end-to-end check of the script (CI): small volumes, 2 seeds,
#                    a few iterations; the numbers mean nothing
#   --seeds N        repetitions with train.seed = 1..N (default 3)
#   --losses "A B"   losses to compare (default "ce dice dice_ce gdl")
#   --epochs E       epochs per run (default 25)
#   --iterations I   iterations per epoch (default 40)
#   --out DIR        results and runs (default experiments/loss_comparison)
#   --bin DIR        folder holding segtrain, segeval, segdata (default build/app)
#   --jobs J         runs at the same time (default 2)
#   --threads T      intra-op threads per run (default 1; two 1-thread runs use 2 cores
#                    better than one 2-thread run, and degrade gracefully on a busy machine)
#   --set KEY=VAL    extra segtrain config override for every run (repeatable)
# A run whose checkpoint_final.pt and evaluation already exist is not repeated, so an
# interrupted experiment continues where it stopped when started again with the same
# options. Runs start seed by seed (every loss for seed 1, then seed 2, ...), so a partial
# experiment compares all losses on the seeds it finished.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command_line="$0 $*"

dataset=""; quick=0; seeds=3; losses="ce dice dice_ce gdl"; epochs=25; iterations=40
out=experiments/loss_comparison; bin="$SRC/build/app"; threads=1; jobs=2; extra=()
epochs_set=0; iterations_set=0; seeds_set=0
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --seeds) seeds=$2; seeds_set=1; shift ;;
    --losses) losses=$2; shift ;;
    --epochs) epochs=$2; epochs_set=1; shift ;;
    --iterations) iterations=$2; iterations_set=1; shift ;;
    --out) out=$2; shift ;;
    --bin) bin=$2; shift ;;
    --threads) threads=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --set) extra+=(--set "$2"); shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "loss_comparison: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [[ -z "$dataset" ]] || { echo "loss_comparison: one DATASET only" >&2; exit 2; }; dataset=$1 ;;
  esac
  shift
done
for v in seeds epochs iterations jobs threads; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "loss_comparison: --$v needs a positive integer, got '${!v}'" >&2; exit 2; }
done
for tool in segtrain segeval segdata; do
  [[ -x "$bin/$tool" ]] || { echo "loss_comparison: $bin/$tool not found (build first: scripts/setup.sh, or pass --bin)" >&2; exit 2; }
done

# Budget and model. Default: about an hour for 4 losses x 3 seeds on 2 idle CPU cores.
patch="[32, 32, 32]"; features="[8, 16, 32, 64]"; batch=2; val_iterations=4; folds=5
synth=(--cases 28 --test-cases 10 --size 64 64 48 --min-lesions 6 --max-lesions 14 --min-radius 1 --max-radius 7 --seed 2024)
if ((quick)); then
  ((epochs_set)) || epochs=2
  ((iterations_set)) || iterations=3
  ((seeds_set)) || seeds=2
  patch="[16, 16, 16]"; features="[4, 8]"; batch=1; val_iterations=1; folds=2
  synth=(--cases 6 --test-cases 2 --size 32 32 24 --min-lesions 3 --max-lesions 6 --min-radius 1 --max-radius 4 --seed 7)
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
log() { echo "[$(date -u +%H:%M:%S)] $*"; }
if [[ -z "$dataset" ]]; then
  dataset="$out/data"
  if [[ ! -f "$dataset/dataset.json" ]]; then
    log "generating synthetic phantoms: segdata synth ${synth[*]}"
    rm -rf "$dataset"
    "$bin/segdata" synth --out "$dataset" "${synth[@]}" > "$out/synth.log" 2>&1 || { cat "$out/synth.log" >&2; exit 1; }
  fi
fi
dataset=$(cd "$dataset" && pwd)
for d in imagesTs labelsTs; do
  [[ -d "$dataset/$d" ]] || { echo "loss_comparison: $dataset/$d missing: the held-out cases are evaluated from imagesTs/labelsTs" >&2; exit 2; }
done

# What was run, for the record (docs/experiments.md quotes it).
{
  echo "command: $command_line"
  echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  echo "machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1); $(nproc) cores visible"
  echo "dataset: $dataset"
  echo "losses: $losses; seeds: 1..$seeds; epochs: $epochs x $iterations iterations; batch $batch; patch $patch; features $features; threads $threads x $jobs jobs"
  "$bin/segtrain" --version | head -2 | tr '\n' ' '; echo
} > "$out/setup.txt"

cfg_for() {  # cfg_for LOSS SEED -> writes the run's config to stdout
  local loss=$1 seed=$2 bg=false
  # GDL's class weights are meant to balance background and lesions (Sudre et al. 2017);
  # the Dice terms of dice and dice_ce leave the background out (nnU-Net's do_bg=False).
  [[ $loss == gdl ]] && bg=true
  cat <<YAML
data:
  root: $dataset
  num_folds: $folds
  fold: 0
  patch_size: $patch
  num_workers: 1
model:
  features: $features
loss:
  name: $loss
  include_background: $bg
train:
  epochs: $epochs
  iterations_per_epoch: $iterations
  batch_size: $batch
  seed: $seed
  val_iterations: $val_iterations
  threads: $threads
output:
  checkpoint_every_minutes: 1000
YAML
}

one_run() {  # one_run LOSS SEED: train (or resume) and evaluate
  local loss=$1 seed=$2
  local run="$out/runs/$loss/seed$seed" eval_dir="$out/eval/$loss/seed$seed"
  local cfg="$out/configs/${loss}_seed$seed.yaml"
  mkdir -p "$run" "$out/configs"
  cfg_for "$loss" "$seed" > "$cfg"
  local start mid
  start=$(date +%s)
  if [[ ! -s "$run/checkpoint_final.pt" ]]; then
    local resume=()
    [[ -s "$run/checkpoint_latest.pt" ]] && resume=(--resume)
    log "$loss seed $seed: training"
    "$bin/segtrain" --config "$cfg" --output "$run" "${resume[@]}" "${extra[@]}" --log-level warn 2> "$run/stderr.txt" \
      || { echo "loss_comparison: segtrain failed for $loss seed $seed: $(tail -3 "$run/stderr.txt")" >&2; return 1; }
  fi
  mid=$(date +%s)
  log "$loss seed $seed: evaluating on $(ls "$dataset/imagesTs" | wc -l) held-out images"
  rm -rf "$eval_dir"
  "$bin/segeval" --checkpoint "$run/checkpoint_final.pt" --images "$dataset/imagesTs" --labels "$dataset/labelsTs" \
    --output "$eval_dir" --no-distances --log-level warn > "$out/eval_${loss}_seed$seed.txt" 2>&1 \
    || { echo "loss_comparison: segeval failed for $loss seed $seed: $(tail -3 "$out/eval_${loss}_seed$seed.txt")" >&2; return 1; }
  echo "$loss,$seed,$((mid - start)),$(($(date +%s) - mid))" >> "$out/timings.csv"
  log "$loss seed $seed: done (train $((mid - start)) s, eval $(($(date +%s) - mid)) s)"
}

# A stop (Ctrl-C, kill) reaches the runs: segtrain writes its checkpoint and a restart resumes.
# The runs' subshells pass nothing on, so signal their children (segtrain/segeval) directly.
trap 'trap - INT TERM; for p in $(jobs -p); do pkill -TERM -P "$p" 2>/dev/null; done; wait; exit 130' INT TERM
rm -f "$out"/failed_*
for seed in $(seq 1 "$seeds"); do
  for loss in $losses; do
    if [[ -s "$out/eval/$loss/seed$seed/metrics.json" && -s "$out/runs/$loss/seed$seed/checkpoint_final.pt" ]]; then
      log "$loss seed $seed: done before, kept"
      continue
    fi
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    { one_run "$loss" "$seed" || touch "$out/failed_${loss}_seed$seed"; } &
  done
done
wait
! compgen -G "$out/failed_*" > /dev/null || { echo "loss_comparison: some runs failed (see above); rerun the same command to retry them" >&2; exit 1; }

/usr/bin/env python3 "$SRC/scripts/experiments/loss_comparison_report.py" --eval "$out/eval" --losses "$losses" \
  --setup "$out/setup.txt" --out "$out"
log "wrote $out/results.md, results.csv, runs.csv and results.svg"
