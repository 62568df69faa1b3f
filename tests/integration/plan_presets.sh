#!/usr/bin/env bash
# segdata plan to a GPU memory target (docs/planning.md): every preset plans a synthetic
# dataset and writes a config that segtrain loads and trains one iteration with; presets imply
# their targets; bad values exit 2 with a message; the shipped configs/nnunet_3d_fullres.yaml
# and configs/resenc_l.yaml load with --set data.root=... and train one iteration.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$(cd "$2" && pwd); WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"

# 32^3 cases: the planned patch is the whole case (32^3, 3 poolings, 4 stages), small enough
# for one CPU iteration of each preset's real topology.
"$BIN/segdata" synth --out data --cases 6 --test-cases 0 --size 32 32 32 --seed 5 >/dev/null || fail "synth"

# One quick iteration: batch 1, no validation beyond one batch, bf16 autocast off for speed.
quick=(--set train.epochs=1 --set train.iterations_per_epoch=1 --set train.val_iterations=1
       --set train.batch_size=1 --set train.device=cpu --set amp.enabled=false --set data.num_workers=1
       --set train.threads=2 --log-level warn)

for preset in plain resenc_m resenc_l resenc_xl; do
  "$BIN/segdata" plan data --preset "$preset" --write-config "$preset.yaml" > "$preset.txt" 2> err.txt \
    || fail "plan --preset $preset exited $?: $(cat err.txt)"
  grep -q "preset $preset" "$preset.txt" || fail "$preset: plan text does not name the preset: $(cat "$preset.txt")"
  grep -q "estimated memory:" "$preset.txt" || fail "$preset: no memory estimate printed"
  grep -q "patch_size: \[32, 32, 32\]" "$preset.yaml" || fail "$preset: planned patch is not the 32^3 case"
  grep -q "root: data" "$preset.yaml" || fail "$preset: data.root is not the dataset"
  want=resenc_unet; [[ $preset == plain ]] && want=unet
  grep -q "name: $want" "$preset.yaml" || fail "$preset: model.name is not $want"
  for key in "lr: 0.01" "momentum: 0.99" "nesterov: true" "weight_decay: 3.0e-05" "exponent: 0.9" \
             "epochs: 1000" "iterations_per_epoch: 250" "name: dice_ce" "include_background: false" \
             "deep_supervision: true" "foreground_fraction: 0.33" "grad_clip: 12.0"; do
    grep -qF "$key" "$preset.yaml" || fail "$preset.yaml lacks '$key'"
  done
  "$BIN/segtrain" --config "$preset.yaml" --output "run_$preset" "${quick[@]}" 2> err.txt \
    || fail "segtrain on the $preset config exited $?: $(tail -5 err.txt)"
  [[ -s run_$preset/checkpoint_final.pt ]] || fail "run_$preset has no final checkpoint"
done
"$BIN/segdata" plan data --preset resenc_l --json > l.json || fail "plan --json"
"$PY" -c "
import json, sys
p = json.load(open('l.json'))['plan']
assert p['preset'] == 'resenc_l' and p['gpu_memory_gb'] == 24, p
assert p['estimate_gib']['total'] <= p['budget_gib'], p
assert p['network']['encoder_blocks'] == [1, 3, 4, 6], p['network']
" || fail "plan --json: preset, target or estimate wrong: $(head -c 600 l.json)"
# A preset alone implies its target; --gpu-memory-gb overrides it.
"$BIN/segdata" plan data --preset resenc_xl | grep -q "plan for 40 GB" || fail "resenc_xl does not imply 40 GB"
"$BIN/segdata" plan data --preset resenc_m | grep -q "plan for 8 GB" || fail "resenc_m does not imply 8 GB"
"$BIN/segdata" plan data --gpu-memory-gb 12 | grep -q "plan for 12 GB, preset plain" || fail "--gpu-memory-gb alone: plain at 12 GB"

# Bad values: exit 2 and say what is wrong.
bad() {  # bad WHAT TEXT ARGS...: segdata ARGS exits 2 and its stderr contains TEXT
  local what=$1 text=$2; shift 2
  "$BIN/segdata" "$@" > out.txt 2> err.txt; local rc=$?
  [[ $rc -eq 2 ]] || fail "$what: exit $rc, expected 2 ($(cat err.txt))"
  grep -qF -- "$text" err.txt || fail "$what: stderr lacks '$text': $(cat err.txt)"
}
bad "zero target" "--gpu-memory-gb" plan data --gpu-memory-gb 0
bad "negative target" "--gpu-memory-gb" plan data --gpu-memory-gb -8
bad "non-numeric target" "--gpu-memory-gb" plan data --gpu-memory-gb lots
bad "unknown preset" "--preset" plan data --preset resenc_xxl
bad "target too small" "--gpu-memory-gb 0.6" plan data --gpu-memory-gb 0.6 --preset resenc_xl
bad "write-config without a target" "--write-config needs" plan data --write-config x.yaml
bad "voxel budget with a preset" "excludes" plan data --voxel-budget 100000 --preset plain
bad "unwritable config" "no_such_dir/x.yaml" plan data --preset plain --write-config no_such_dir/x.yaml

# The shipped presets: load with the placeholder root replaced, then one iteration with
# their topology at a small width (features overridden, strides and kernels as shipped).
for cfg in nnunet_3d_fullres resenc_l; do
  "$BIN/segtrain" --config "$SRC/configs/$cfg.yaml" --set data.root=data --print-config > "$cfg.resolved.yaml" \
    2> err.txt || fail "configs/$cfg.yaml does not load: $(cat err.txt)"
  grep -q "momentum: 0.99" "$cfg.resolved.yaml" || fail "configs/$cfg.yaml: momentum not 0.99"
  "$BIN/segtrain" --config "$SRC/configs/$cfg.yaml" --set data.root=data --output "run_cfg_$cfg" "${quick[@]}" \
    --set 'model.features=[4, 8, 8, 8, 8, 8]' --set 'data.patch_size=[64, 64, 64]' 2> err.txt \
    || fail "segtrain on configs/$cfg.yaml exited $?: $(tail -5 err.txt)"
done
echo "plan_presets: ok"
