#!/usr/bin/env bash
# The one prepared device check, for a 15-minute H200 lease (see /work/.library/device):
# builds segtrain against the device's pip LibTorch (CUDA; torch 2.11 there, so C++17) with our
# other dependencies from .gpu-deps/prefix.tar.xz (made here by scripts/gpu_deps.sh and
# carried; unpacked into a private prefix, never into /), then runs, each step logged and
# timed in $OUT, continuing past failures:
#   1. the unit tests, then the *_CUDA tests alone (tests/unit/train/CudaTrainingTest.cpp:
#      fused GradScaler vs its CPU twin, fp32 step vs CPU, fp16 + scaler, bf16, 1-rank NCCL);
#   2. short CUDA training runs: fp32, fp16 autocast + GradScaler, bf16 autocast;
#   3. a 1-rank NCCL run through the torchrun-style environment;
#   4. P4: the nnU-Net 3d_fullres topology (features 32..320, 6 stages, 128^3 patch, batch 2)
#      train step with bf16 autocast, ours vs the same model in Python PyTorch eager, ms/step
#      and TFLOP/s (FLOP convention in scripts/bench/train_step.py: 2 per multiply-add,
#      convolutions only, step = 3 x forward), and the same Python model under torch.compile;
#   5. P7: Dice, Dice+CE and GDL forward + backward on (2, 3, 128^3) logits against the
#      memory-bandwidth bound (seg_loss_step's min_bytes: logits and int64 labels read once,
#      the gradient written once, at the H200's 4.8 TB/s HBM3e peak; PEAK_TBS to override);
#   6. presets (docs/planning.md): plain 8 GB and ResEnc M/L/XL (8/24/40 GB) planned by
#      `segdata plan` on a 1 mm brain-MR fingerprint, 6 bf16 steps each at the planned patch
#      and batch; peak GPU memory (nvidia-smi, sampled every 100 ms, minus the idle reading)
#      next to our memory model's estimate (segdata estimate) in $OUT/presets.txt;
#   7. issue 20 on the device: `segtrain --folds 0,1` (2 folds, CUDA), `segeval` with the
#      2-fold ensemble and --member-scores on CUDA, and the TorchScript export loaded by the
#      device's Python, moved to CUDA, against segtrain's --check-io logits (max |diff|).
# On the device:  run(command="scripts/gpu_check.sh", carry=[".gpu-deps"], timeout_s=540) from
#                 the session's own checkout (the device copies that one; .gpu-deps must be there)
# Dry run here:   scripts/gpu_check.sh --cpu-dry-run   (the venv's CUDA LibTorch without a
#                 GPU; configures against the carried prefix, compiles one ITK unit from it,
#                 runs the CPU parts at a small size with build/'s binaries)
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
[[ "${1:-}" == "--cpu-dry-run" ]] && DRY=1
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
rm -f "$OUT/p4.jsonl"
step() {  # step NAME COMMAND...: runs, logs to $OUT/NAME.log, records status and seconds
  local name=$1 start=$SECONDS status=ok
  shift
  "$@" > "$OUT/$name.log" 2>&1 || status="FAILED($?)"
  printf '%-14s %-12s %4ds\n' "$name" "$status" $((SECONDS - start)) | tee -a "$SUMMARY"
  [[ $status == ok ]]
}

PREFIX=$(mktemp -d /tmp/segdeps.XXXX)
step unpack_deps tar -xJf .gpu-deps/prefix.tar.xz -C "$PREFIX" || { echo "run scripts/gpu_deps.sh first and carry .gpu-deps"; exit 2; }
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Debian's CMake package files name some libraries and include folders by absolute /usr
# paths (ITK's zlib, expat, png, jpeg modules): point them into the prefix.
relocate() {
  find "$PREFIX/usr" -name '*.cmake' -print0 | xargs -0 sed -i \
    -e "s#\([\" ;(]\)/usr/lib/x86_64-linux-gnu/#\1$PREFIX/usr/lib/x86_64-linux-gnu/#g" \
    -e "s#\([\" ;(]\)/usr/include#\1$PREFIX/usr/include#g"
  ! grep -rlE "[\" ;(]/usr/lib/x86_64-linux-gnu/lib[a-z0-9_]+\.so" "$PREFIX/usr" --include='*.cmake'
}
step relocate relocate
if ((DRY)); then
  PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}
  TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)'); DEVICE=cpu; JOBS=$(nproc); BUILD=build-gpu-dry
  P4=(8,16,32 32 32 32 2 "$(nproc)" 2); P7=(2 3 32 "$(nproc)" 3)
else
  TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  DEVICE=cuda; JOBS=16; BUILD=build-gpu; PY=python3
  P4=(32,64,128,256,320,320 128 128 128 2 16 20); P7=(2 3 128 16 20)
  nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
  python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version(), torch.cuda.get_device_name())' > "$OUT/torch.txt" 2>&1
fi

step configure cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr" -DTORCH_CUDA_ARCH_LIST=9.0 -DSEG_PYTHON="$(command -v "$PY")" || exit 1
# The unpacked prefix must be what the build uses, not a system copy.
step prefix_used grep -q "ITK_DIR:PATH=$PREFIX/usr" "$BUILD/CMakeCache.txt"
if ((DRY)); then
  step compile_itk cmake --build "$BUILD" --target src/CMakeFiles/segcore.dir/data/NiftiIO.cpp.o
  BIN=build
else
  step build cmake --build "$BUILD" -j "$JOBS" || exit 1
  BIN=$BUILD
  step unit_tests "$BIN/tests/segtests" --gtest_brief=1
  step cuda_tests "$BIN/tests/segtests" --gtest_filter='*_CUDA*'
fi

W=$(mktemp -d /tmp/segcheck.XXXX)
step synth "$BIN/app/segdata" synth --out "$W/data" --cases 8 --test-cases 2
train() {  # train NAME EXTRA --set ARGS...
  local name=$1
  shift
  "$BIN/app/segtrain" --config configs/quickstart.yaml --output "$W/$name" --set data.root="$W/data" \
    --set train.device="$DEVICE" --set train.epochs=1 --set train.iterations_per_epoch=10 \
    --set train.val_iterations=2 "$@"
}
step train_fp32 train fp32
if ((!DRY)); then
  step train_fp16 train fp16 --set amp.enabled=true --set amp.dtype=float16
  step train_bf16 train bf16 --set amp.enabled=true --set amp.dtype=bfloat16
  step nccl_1rank env RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29517 \
    bash -c "$(declare -f train); BIN=$BIN W=$W DEVICE=$DEVICE train nccl --set dist.backend=nccl"
  grep -h "skipped\|scale" "$W"/fp16/*.log > "$OUT/fp16_scaler.txt" 2>/dev/null
else
  step train_bf16 train bf16 --set amp.enabled=true --set amp.dtype=bfloat16
fi

# P4 (bf16): ours and Python eager alternate twice; each line is one JSON result.
for r in 1 2; do
  step "p4_segtrain_$r" bash -c "'$BIN/bench/seg_train_step' ${P4[*]} bf16 $DEVICE >> '$OUT/p4.jsonl'"
  step "p4_python_$r" bash -c "$PY scripts/bench/train_step.py ${P4[*]} bf16 $DEVICE >> '$OUT/p4.jsonl'"
done
# P4 under torch.compile (its compilation is warm-up, not counted), after the eager pairs.
step p4_compile bash -c "$PY scripts/bench/train_step.py ${P4[*]} bf16 $DEVICE compile >> '$OUT/p4_compile.jsonl'"
# P7: the losses' forward + backward on the device, with the bytes they must move at least.
step p7_losses bash -c "'$BIN/bench/seg_loss_step' ${P7[*]} $DEVICE > '$OUT/p7.json'"
# 6. Presets at their planned patches: measured peak memory vs our estimate.
presets() {
  local pw="$W/presets" preset target
  mkdir -p "$pw"
  # nnU-Net's fingerprint layout (z, y, x): 40 cases of 1 mm, 140 x 170 x 140 (brain MR).
  "$PY" -c "import json; json.dump({'spacings': [[1.0, 1.0, 1.0]] * 40, 'shapes_after_crop': [[140, 170, 140]] * 40,
    'foreground_intensity_properties_per_channel': {'0': {}}}, open('$pw/fp.json', 'w'))"
  "$BIN/app/segdata" synth --out "$pw/data" --cases 4 --test-cases 0 --size 160 192 160 --seed 2 > /dev/null || return 1
  printf '%-10s %6s %-13s %5s %12s %12s %8s\n' preset target patch batch measured_MiB estimate_MiB ratio
  for preset in plain:8 resenc_m:8 resenc_l:24 resenc_xl:40; do
    target=${preset#*:}; preset=${preset%%:*}
    "$BIN/app/segdata" plan --nnunet-fingerprint "$pw/fp.json" --classes 2 --preset "$preset" \
      --gpu-memory-gb "$target" --write-config "$pw/$preset.yaml" > "$pw/$preset.plan.txt" || return 1
    local idle; idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 | head -1)
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 100 > "$pw/$preset.smi" &
    local smi=$!
    "$BIN/app/segtrain" --config "$pw/$preset.yaml" --output "$pw/run_$preset" --set data.root="$pw/data" \
      --set train.device=cuda --set train.epochs=1 --set train.iterations_per_epoch=6 --set train.val_every=0 \
      --set data.num_workers=4 --log-level warn > "$pw/$preset.log" 2>&1
    local rc=$?
    kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
    local peak; peak=$(sort -n "$pw/$preset.smi" | tail -1)
    local est; est=$("$BIN/app/segdata" estimate --config "$pw/$preset.yaml" --set data.root="$pw/data" |
      "$PY" -c "import json, sys; print('%.0f' % json.load(sys.stdin)['total_mib'])")
    local patch; patch=$(sed -n 's/^  data.patch_size: \[\(.*\)\]/\1/p' "$pw/$preset.plan.txt" | tr -d ' ' | tr , x)
    local batch; batch=$(sed -n 's/^  train.batch_size: //p' "$pw/$preset.plan.txt")
    printf '%-10s %4sGB %-13s %5s %12s %12s %8s%s\n' "$preset" "$target" "$patch" "$batch" "$((peak - idle))" "$est" \
      "$("$PY" -c "print('%.2f' % (($peak - $idle) / $est))")" "$([[ $rc -ne 0 ]] && echo "  segtrain exited $rc")"
  done
}
# 7. Folds, ensemble and TorchScript on the device.
step folds "$BIN/app/segtrain" --config configs/quickstart.yaml --output "$W/cv" --folds 0,1 --set data.root="$W/data" \
  --set data.num_folds=2 --set train.device="$DEVICE" --set train.epochs=1 --set train.iterations_per_epoch=5 \
  --set train.val_iterations=1
step ensemble "$BIN/app/segeval" --checkpoint "$W/cv/fold_0/checkpoint_final.pt" "$W/cv/fold_1/checkpoint_final.pt" \
  --images "$W/data/imagesTs" --labels "$W/data/labelsTs" --output "$W/ens" --member-scores --device "$DEVICE"
cat > "$W/torchscript_check.py" <<'PY'
import sys, torch
torch.backends.cudnn.allow_tf32 = False  # fp32 convolutions, as segtrain's --check-io logits
m = torch.jit.load(sys.argv[1]); io = torch.load(sys.argv[2]); dev = sys.argv[3]
with torch.no_grad():
    y = m.to(dev)(io["input"].to(dev)).cpu()
d = (y - io["logits"]).abs().max().item()
print("torchscript on", dev, "max |diff| vs segtrain", d)
sys.exit(0 if d <= 1e-3 else 1)
PY
step export "$BIN/app/segtrain" export --torchscript --checkpoint "$W/cv/fold_0/checkpoint_final.pt" \
  --out "$W/model.pt" --check-io "$W/io.pt"
step torchscript bash -c "set -o pipefail; $PY '$W/torchscript_check.py' '$W/model.pt' '$W/io.pt' $DEVICE | tee '$OUT/torchscript.txt'"
if ((!DRY)); then
  step presets bash -c "$(declare -f presets); BIN=$BIN W=$W PY=$PY presets > '$OUT/presets.txt'"
  cat "$OUT/presets.txt" 2>/dev/null
fi
cp "$W"/*/metrics.csv "$OUT/" 2>/dev/null
echo "== summary"; cat "$SUMMARY"; cat "$OUT/p4.jsonl" "$OUT/p4_compile.jsonl" 2>/dev/null
"$PY" - "$OUT/p7.json" "${PEAK_TBS:-4.8}" <<'PY' 2>/dev/null | tee "$OUT/p7.txt"
import json, sys
r = json.load(open(sys.argv[1])); peak = float(sys.argv[2]) * 1e12
bound_ms = r["min_bytes"] / peak * 1e3
for k in ("dice", "dice_ce", "gdl"):
    print("P7 %-8s %.3f ms fwd+bwd on %s; bandwidth bound %.4f ms (%.3f GB at %.1f TB/s): %.1fx the bound"
          % (k, r[k], r["device"], bound_ms, r["min_bytes"] / 1e9, peak / 1e12, r[k] / bound_ms))
PY
grep -q FAILED "$SUMMARY" && exit 1
exit 0
