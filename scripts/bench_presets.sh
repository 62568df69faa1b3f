#!/usr/bin/env bash
# CPU figures of the shipped presets (docs/planning.md, "Figures"): for the plain 3d_fullres
# topology (configs/nnunet_3d_fullres.yaml) and the ResEnc topology (configs/resenc_l.yaml;
# ResEnc M, L and XL build the same network at a given patch, they differ only in the patch and
# batch their memory targets buy), a few real segtrain steps at one common small patch, fp32,
# batch 2: seconds per step, peak RSS (/usr/bin/time -v) minus the RSS of the same run with a
# 2-channel network (the process, LibTorch, the loader), next to our memory model's estimate
# (segdata estimate --fp32). The GPU patches (128^3 and up) are out of reach on a CPU: one
# step of ResEnc at 160x192x160 x 2 takes minutes and ~60 GB in fp32.
# Usage: scripts/bench_presets.sh [BUILD_DIR] [PATCHES...]   (default build, patches 64 96)
# Env: THREADS (default nproc), STEPS (timed steps, default 3), OUT (work dir, default /tmp/bench_presets)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
PATCHES=("$@"); ((${#PATCHES[@]})) || PATCHES=(64 96)
THREADS=${THREADS:-$(nproc)}; STEPS=${STEPS:-3}; W=${OUT:-/tmp/bench_presets}
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}
rm -rf "$W"; mkdir -p "$W"
maxp=$(printf '%s\n' "${PATCHES[@]}" | sort -n | tail -1)
"$BUILD/app/segdata" synth --out "$W/data" --cases 6 --test-cases 0 --size "$maxp" "$maxp" "$maxp" --seed 1 >/dev/null || exit 1

run() {  # run NAME CONFIG PATCH [--set ...]: 2 epochs of STEPS steps, no validation; prints "seconds/step rss_mib"
  local name=$1 cfg=$2 p=$3; shift 3
  /usr/bin/time -v "$BUILD/app/segtrain" --config "$cfg" --output "$W/$name" --set data.root="$W/data" \
    --set "data.patch_size=[$p, $p, $p]" --set train.batch_size=2 --set amp.enabled=false --set train.device=cpu \
    --set train.threads="$THREADS" --set train.epochs=2 --set train.iterations_per_epoch="$STEPS" \
    --set train.val_every=0 --set data.num_workers=1 --set data.augment=false --log-level warn "$@" \
    > "$W/$name.out" 2> "$W/$name.time" || { tail -5 "$W/$name.time" >&2; echo "nan nan"; return; }
  local rss; rss=$(awk '/Maximum resident set size/ {print $6 / 1024}' "$W/$name.time")
  # Epoch 2's seconds (epoch 1 holds the allocator's and oneDNN's warm-up).
  local sec; sec=$(awk -F, 'NR == 3 {print $7}' "$W/$name/metrics.csv")
  echo "$("$PY" -c "print('%.2f' % ($sec / $STEPS))") $rss"
}
estimate() {  # estimate CONFIG PATCH [--set ...]: total MiB and its parts
  local cfg=$1 p=$2; shift 2
  "$BUILD/app/segdata" estimate --config "$cfg" --fp32 --set data.root="$W/data" --set "data.patch_size=[$p, $p, $p]" \
    --set train.batch_size=2 "$@" | "$PY" -c "
import json, sys; e = json.load(sys.stdin)
print('%.0f %.0f %.0f %.0f %.0f %.1f' % (e['total_mib'], e['activations_mib'], e['loss_mib'], e['parameters_mib'],
      e['workspace_mib'], e['parameters'] / 1e6))"
}

echo "CPU $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), threads $THREADS, fp32, batch 2, $STEPS timed steps"
printf '%-8s %-6s %7s %9s %9s %9s %10s %7s %s\n' preset patch params s/step rss_MiB base_MiB rss-base est_MiB "(act loss params workspace)"
for p in "${PATCHES[@]}"; do
  read -r _ base_rss < <(run "base_$p" configs/nnunet_3d_fullres.yaml "$p" --set 'model.features=[2, 2, 2, 2, 2, 2]')
  for preset in plain resenc; do
    cfg=configs/nnunet_3d_fullres.yaml; [[ $preset == resenc ]] && cfg=configs/resenc_l.yaml
    read -r sec rss < <(run "${preset}_$p" "$cfg" "$p")
    read -r est act loss par ws mparams < <(estimate "$cfg" "$p")
    printf '%-8s %-6s %6sM %9s %9.0f %9.0f %10.0f %7s (%s %s %s %s)\n' "$preset" "${p}^3" "$mparams" "$sec" "$rss" \
      "$base_rss" "$(echo "$rss - $base_rss" | bc)" "$est" "$act" "$loss" "$par" "$ws"
  done
done | tee "$W/summary.txt"
