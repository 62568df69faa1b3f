#!/usr/bin/env bash
# Benchmarks (not tests). Prints a table of ratios measured in the same run and writes
# bench_results.json. Where two implementations are compared, runs alternate between them
# (A B A B ...) so machine noise hits both; the median of the repeats is reported.
#   ONLY="P1 P3 P6"  run a subset (default: all)      REPEATS (default 3)
#   THREADS (default: nproc)   STEPS (default 5)      OUT (default bench_results.json)
#   PEERS=0 leaves out nnU-Net v2 and MONAI (P2, P3, P6; docs/performance.md)   P2_SAMPLES (200)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-5}
OUT=${OUT:-bench_results.json}
ONLY=${ONLY:-P1 P2 P3 P5 P6}
want() { [[ " $ONLY " == *" $1 "* ]]; }
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}  # the venv of scripts/setup.sh: the same LibTorch as ours
cmake --build "$BUILD_DIR" --target seg_train_step seg_loss_step seg_pipeline_bench seg_infer_bench seg_loader_bench >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
results=()
row() { printf '%-4s %-44s %s\n' "$1" "$2" "$3"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $THREADS threads; torch $("$PY" -c 'import torch; print(torch.__version__)') (the venv's; segtrain links its LibTorch)"
row "id" "benchmark" "result"

if want P1; then
  # segtrain's U-Net + Dice-CE + SGD step vs the identical model in Python on the same LibTorch
  # (target <= 0.95), and vs the same with torch.compile (inductor) when it works on this
  # machine (COMPILE=0 leaves it out; its compilation is warm-up, not counted).
  shape=(16,32,64,128 64 64 64 2)
  for mode in fp32 bf16; do
    ours=(); theirs=(); compiled=()
    for _ in $(seq 1 "$REPEATS"); do
      ours+=("$("$BUILD_DIR/bench/seg_train_step" "${shape[@]}" "$THREADS" "$STEPS" "$mode" | field ms_per_step)")
      theirs+=("$("$PY" scripts/bench/train_step.py "${shape[@]}" "$THREADS" "$STEPS" "$mode" | field ms_per_step)")
      if [[ "${COMPILE:-1}" == 1 ]]; then
        c=$("$PY" scripts/bench/train_step.py "${shape[@]}" "$THREADS" "$STEPS" "$mode" cpu compile 2>/dev/null | field ms_per_step) \
          && compiled+=("$c") || { echo "note: torch.compile failed for $mode; left out" >&2; COMPILE=0; }
      fi
    done
    a=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${theirs[@]}" | median)
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a / b}')
    row P1 "train step $mode (U-Net 16-128, 64^3, batch 2)" "segtrain $(printf %.0f "$a") ms / python $(printf %.0f "$b") ms = $ratio (target <= 0.95)"
    json="{\"bench\": \"P1_train_step\", \"mode\": \"$mode\", \"segtrain_ms\": $a, \"python_ms\": $b, \"ratio\": $ratio"
    if ((${#compiled[@]} == REPEATS)); then
      c=$(printf '%s\n' "${compiled[@]}" | median)
      cratio=$(awk -v a="$a" -v c="$c" 'BEGIN{printf "%.3f", a / c}')
      row P1 "train step $mode vs torch.compile" "segtrain $(printf %.0f "$a") ms / compiled $(printf %.0f "$c") ms = $cratio"
      json+=", \"python_compile_ms\": $c, \"ratio_compile\": $cratio"
    fi
    results+=("$json}")
  done
fi

if want P2 && [[ -x "$BUILD_DIR/bench/seg_loader_bench" ]]; then
  # Loader: CPU-ms per augmented 128^3 sample (target <= 30), samples/s with N threads and the
  # per-core supply through the whole loader (batch 2). Then nnU-Net v2's own code on the same
  # phantoms (bench/peer_augment.py): get_training_transforms of a 3d_fullres 128^3 plan on
  # crops of its initial patch size (P2), and its nnUNetDataLoader + transforms from the
  # preprocessed blosc2 dataset (P3 supply), one thread each, measured right after ours.
  dump=$(mktemp -d)
  p2=$("$BUILD_DIR/bench/seg_loader_bench" --json --threads "$THREADS" --samples "${P2_SAMPLES:-200}" --dump "$dump")
  echo "$p2" > "$dump/ours.json"
  row P2 "loader, augmented 128^3 sample" "$(echo "$p2" | field summary)"
  results+=("$p2")
  if [[ "${PEERS:-1}" == 1 ]]; then
    peer=$("$PY" bench/peer_augment.py "$dump" --samples "${P2_SAMPLES:-200}" --ours "$dump/ours.json" 2>"$dump/peer.err") \
      || { echo "P2/P3 peer failed: $(tail -3 "$dump/peer.err")" >&2; peer=""; }
    if [[ -n "$peer" ]]; then
      "$PY" - "$p2" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
r, p2, p3 = peer["ratios"], peer["p2"], peer["p3"]
row = lambda i, b, t: print("%-4s %-44s %s" % (i, b, t))
row("P2", "augmentation vs nnU-Net get_training_transforms",
    "nnU-Net %.0f CPU-ms / segtrain %.1f = %.1fx fewer (goal >= 8x), median %.1fx; spatial transform: nnU-Net %d/%d, segtrain %d/%d"
    % (p2["thread_cpu_ms"]["mean"], ours["cpu_ms_mean"], r["p2_cpu_per_sample_nnunet_over_ours_mean"],
       r["p2_cpu_per_sample_nnunet_over_ours_median"], p2["spatial_samples"]["any"], p2["samples"],
       ours["spatial_samples"]["any"], ours["samples"]))
row("P3", "loader supply per core vs nnUNetDataLoader",
    "segtrain %.1f samples/s / nnU-Net %.2f = %.1fx (batch 2, one thread each)"
    % (ours["supply"]["samples_per_s_per_core_wall"], p3["samples_per_s_per_core_wall"], r["p3_supply_ours_over_nnunet_wall"]))
PY
      results+=("$peer")
    fi
  fi
  rm -rf "$dump"
fi

if want P3; then
  # Iterations/s with the real threaded loader vs pre-generated batches (target >= 0.95).
  p3=$("$BUILD_DIR/bench/seg_pipeline_bench" --steps "$((STEPS * 2))" --rounds "$REPEATS" --threads "$THREADS" --workers 2)
  ratio=$(echo "$p3" | field ratio); wait_share=$(echo "$p3" | field loader_wait_share)
  row P3 "pipeline, real loader / pre-generated" "$(printf '%.3f' "$ratio") (target >= 0.95), loader wait $(awk -v w="$wait_share" 'BEGIN{printf "%.1f", 100 * w}') % of the loop"
  results+=("$p3")
fi

if want P5 && [[ -x scripts/bench_dist.sh ]]; then
  p5=$(ROUNDS="$REPEATS" scripts/bench_dist.sh "$BUILD_DIR")
  row P5 "distributed (Gloo, 2 ranks)" "$(echo "$p5" | field summary)"
  results+=("$p5")
fi

if want P6; then
  # Losses: forward + backward ms, ours vs the same formulas in Python.
  ours=(); theirs=()
  for _ in $(seq 1 "$REPEATS"); do
    ours+=("$("$BUILD_DIR/bench/seg_loss_step" 2 3 64 "$THREADS" 3)")
    theirs+=("$("$PY" scripts/bench/loss_step.py 2 3 64 "$THREADS" 3)")
  done
  for loss in dice dice_ce gdl; do
    a=$(for j in "${ours[@]}"; do echo "$j" | field "$loss"; done | median)
    b=$(for j in "${theirs[@]}"; do echo "$j" | field "$loss"; done | median)
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a / b}')
    row P6 "loss fwd+bwd $loss (2x3x64^3)" "segtrain $(printf %.0f "$a") ms / python $(printf %.0f "$b") ms = $ratio"
    results+=("{\"bench\": \"P6_loss\", \"loss\": \"$loss\", \"segtrain_ms\": $a, \"python_ms\": $b, \"ratio\": $ratio}")
  done
  # Sliding-window inference (the U-Net of issue 7 on a 160x160x96 volume).
  ROUNDS="$REPEATS" JSON_OUT=bench_infer.json scripts/bench_infer.sh "$BUILD_DIR" --threads "$THREADS" > bench_infer.txt
  inf=$(cat bench_infer.json)
  row P6 "inference 160x160x96, 64^3 tiles (U-Net 1.4M)" "python/segtrain $(printf '%.2f' "$(echo "$inf" | field python_over_cpp)") (target >= 1.2), bf16 speed-up $(printf '%.2f' "$(echo "$inf" | field bf16_speedup)")"
  if [[ "${PEERS:-1}" == 1 ]]; then
    # The peers, same weights and tiles (bench/peer_inference.py proves the logits equal).
    row P6 "inference vs MONAI sliding_window+DynUNet" "MONAI $(printf '%.2f' "$(echo "$inf" | field monai_fp32_seconds)") s / segtrain $(printf '%.2f' "$(echo "$inf" | field cpp_fp32_seconds)") s = $(printf '%.2f' "$(echo "$inf" | field monai_over_cpp)")x (goal >= 1.5x); same weights: max |diff| $(printf '%.1e' "$(echo "$inf" | field monai_max_abs_diff_same_weights)")"
    row P6 "inference vs nnUNetPredictor" "nnU-Net $(printf '%.2f' "$(echo "$inf" | field nnunet_fp32_seconds)") s / segtrain = $(printf '%.2f' "$(echo "$inf" | field nnunet_over_cpp)")x (its tiles re-blended in fp32: max |diff| $(printf '%.1e' "$(echo "$inf" | field nnunet_tiles_fp32_blend_max_abs_diff)"))"
  fi
  results+=("$inf")
fi

{ echo "["; (IFS=,; echo "${results[*]}"); echo "]"; } > "$OUT"
echo "wrote $OUT"
