#!/usr/bin/env bash
# P6 sliding-window inference benchmark: our C++ (seg_infer_bench, segtrain's U-Net,
# every tile batch size and tile-worker count) against an independent Python reference on
# the venv's torch (bench/sliding_window_reference.py, the same U-Net and weights, every tile
# batch size), alternating C++ and Python ROUNDS times in the same run; prints seconds per
# volume of each at its best setting, the ratio (median over rounds), the largest logit
# difference (must be <= 1e-4) and the bf16 autocast speed-up and Dice agreement.
# Each round then runs the real peers on the same data (bench/peer_inference.py): MONAI's
# DynUNet + sliding_window_inference at every tile batch and nnU-Net v2's nnUNetPredictor
# (PlainConvUNet, one tile at a time), both with our weights, so every round times ours,
# the Python reference and the peers back to back; their seconds over ours and their logit
# differences go into the summary (checks: see that script).
# Defaults follow the figure quoted in issue 7: 160x160x96 volume, 64^3 tiles, overlap 0.5,
# U-Net 16-32-64-128 (1.4 M parameters), 2 threads.
# Usage: scripts/bench_infer.sh [BUILD_DIR] [extra seg_infer_bench options, e.g. --size 96 96 64]
#   ROUNDS (default 1), JSON_OUT (default: bench_infer.json), PEERS (default 1; 0 skips the peers)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
shift || true
ROUNDS=${ROUNDS:-1}
JSON_OUT=${JSON_OUT:-bench_infer.json}
PEERS=${PEERS:-1}
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}
cmake --build "$BUILD" --target seg_infer_bench >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  cut -d' ' -f1-3 /proc/loadavg > "$WORK/load_$r.txt"
  "$BUILD/bench/seg_infer_bench" --out "$WORK/$r" "$@" > /dev/null
  "$PY" "$SRC/bench/sliding_window_reference.py" "$WORK/$r" > /dev/null
  if [ "$PEERS" != 0 ]; then
    # a failed peer check is reported in the summary (peer_checks_failed) and its exit status
    "$PY" "$SRC/bench/peer_inference.py" "$WORK/$r" > /dev/null || echo "round $r: a peer check failed" >&2
  fi
done
"$PY" - "$WORK" "$ROUNDS" "$JSON_OUT" "$PEERS" <<'PY'
import json, os, statistics, sys
work, rounds, out, peers_on = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] != "0"
results = [json.load(open(os.path.join(work, str(r), "result.json"))) for r in range(1, rounds + 1)]
peers = [json.load(open(os.path.join(work, str(r), "peers.json"))) for r in range(1, rounds + 1)] if peers_on else []
loads = [open(os.path.join(work, "load_%d.txt" % r)).read().split() for r in range(1, rounds + 1)]
med = lambda k: statistics.median(r[k] for r in results) if all(r.get(k) is not None for r in results) else None
first = results[0]
summary = {
    "bench": "P6_inference", "rounds": rounds, "model": first["model"], "features": first["features"],
    "parameters": first["parameters"], "size_xyz": first["size_xyz"], "patch_xyz": first["patch_xyz"],
    "overlap": first["overlap"], "tiles": first["tiles"], "threads": first["threads"],
    "cpp_fp32_seconds": med("cpp_fp32_seconds"), "python_fp32_seconds": med("python_fp32_seconds"),
    "python_over_cpp": med("python_over_cpp"),
    "python_over_cpp_per_round": [r["python_over_cpp"] for r in results],
    "load_average_1_5_15_per_round": loads,
    "cpp_fp32_cpu_seconds": med("cpp_fp32_cpu_seconds"), "python_fp32_cpu_seconds": med("python_fp32_cpu_seconds"),
    "cpp_plain_fp32_seconds": med("cpp_plain_fp32_seconds"), "cpp_plain_fp32_cpu_seconds": med("cpp_plain_fp32_cpu_seconds"),
    "plain_over_fused_per_round": [r["cpp_plain_fp32_seconds"] / r["cpp_fp32_seconds"] for r in results],
    "plain_over_fused": statistics.median(r["cpp_plain_fp32_seconds"] / r["cpp_fp32_seconds"] for r in results),
    "fused_over_plain_max_abs_diff": max(r["fused_over_plain_max_abs_diff"] for r in results),
    "cpp_best": [(r["cpp_best_tile_batch"], r["cpp_best_workers"]) for r in results],
    "python_best_tile_batch": [r["python_best_tile_batch"] for r in results],
    "max_abs_logit_diff": max(r["max_abs_logit_diff"] for r in results),
    "bf16_speedup": med("bf16_speedup"), "bf16_dice_vs_fp32_per_class": first["bf16_dice_vs_fp32_per_class"],
    "bf16_argmax_agreement": first["bf16_argmax_agreement"], "cpu_native_bf16": first["cpu_native_bf16"],
    "cpp_settings_round1": first["cpp_settings"], "python_seconds_per_tile_batch_round1": first["python_seconds_per_tile_batch"],
}
if peers:
    pmed = lambda k: statistics.median(p[k] for p in peers) if all(p.get(k) is not None for p in peers) else None
    pmax = lambda k: max(p[k] for p in peers) if all(p.get(k) is not None for p in peers) else None
    summary.update({
        "peer_versions": peers[0]["versions"],
        "monai_fp32_seconds": pmed("monai_fp32_seconds"), "monai_fp32_cpu_seconds": pmed("monai_fp32_cpu_seconds"),
        "monai_over_cpp": pmed("monai_over_cpp"), "monai_over_cpp_per_round": [p["monai_over_cpp"] for p in peers],
        "monai_best_tile_batch": [p["monai_best_tile_batch"] for p in peers],
        "monai_seconds_per_tile_batch_round1": peers[0]["monai_seconds_per_tile_batch"],
        "monai_max_abs_diff_same_weights": pmax("monai_max_abs_diff_same_weights"),
        "monai_tile_starts_match": all(p["monai_tile_starts_match"] for p in peers),
        "monai_default_map_max_abs_diff": pmax("monai_default_map_max_abs_diff"),
        "monai_default_map_argmax_agreement": min(p["monai_default_map_argmax_agreement"] for p in peers),
        "monai_network_random_affine_max_abs_diff": pmax("monai_network_random_affine_max_abs_diff"),
        "nnunet_fp32_seconds": pmed("nnunet_fp32_seconds"), "nnunet_fp32_cpu_seconds": pmed("nnunet_fp32_cpu_seconds"),
        "nnunet_tile_batch": 1, "nnunet_over_cpp": pmed("nnunet_over_cpp"),
        "nnunet_over_cpp_per_round": [p.get("nnunet_over_cpp") for p in peers],
        "nnunet_max_abs_diff": pmax("nnunet_max_abs_diff"),
        "nnunet_argmax_agreement": min(p["nnunet_argmax_agreement"] for p in peers) if all("nnunet_argmax_agreement" in p for p in peers) else None,
        "nnunet_max_abs_diff_normal_weight": pmax("nnunet_max_abs_diff_normal_weight"),
        "nnunet_voxels_subnormal_weight_fraction": peers[0].get("nnunet_voxels_subnormal_weight_fraction"),
        "nnunet_tiles_fp32_blend_max_abs_diff": pmax("nnunet_tiles_fp32_blend_max_abs_diff"),
        "nnunet_fp16_blend_reproduces_output": all(p.get("nnunet_fp16_blend_reproduces_output") for p in peers),
        "nnunet_network_random_affine_max_abs_diff": pmax("nnunet_network_random_affine_max_abs_diff"),
        "nnunet_error": next((p["nnunet_error"] for p in peers if "nnunet_error" in p), None),
        "peer_checks_failed": sorted(set(c for p in peers for c in p["checks_failed"])),
    })
json.dump(summary, open(out, "w"), indent=2)
print("P6 inference: %s %s, %s params, volume %s, tiles %s (%d), overlap %s, %d threads" % (
    summary["model"], "-".join(map(str, summary["features"])), summary["parameters"], "x".join(map(str, summary["size_xyz"])),
    "x".join(map(str, summary["patch_xyz"])), summary["tiles"], summary["overlap"], summary["threads"]))
for s in first["cpp_settings"]:
    print("  segtrain fp32  tile batch %d, %d worker(s): %7.2f s" % (s["tile_batch"], s["workers"], s["fp32_seconds"]))
for b, s in first["python_seconds_per_tile_batch"].items():
    print("  python   fp32  tile batch %s:              %7.2f s" % (b, s))
print("  best: segtrain %.2f s, python %.2f s -> python/segtrain %.2f (median of %d round(s); target >= 1.2)" % (
    summary["cpp_fp32_seconds"], summary["python_fp32_seconds"], summary["python_over_cpp"], rounds))
print("  per round: python/segtrain %s, load average (1 5 15 min) at each round's start %s" % (
    ", ".join("%.2f" % v for v in summary["python_over_cpp_per_round"]), ["/".join(l) for l in loads]))
print("  process CPU seconds (all threads) of the best runs: segtrain %.2f, python %.2f" % (
    summary["cpp_fp32_cpu_seconds"], summary["python_fp32_cpu_seconds"]))
print("  segtrain plain module-by-module forward (fused_inference off) at the same setting: %.2f s (%.2f CPU s), "
      "%.2fx the fused path (per round %s), max |difference| %.2e" % (
          summary["cpp_plain_fp32_seconds"], summary["cpp_plain_fp32_cpu_seconds"], summary["plain_over_fused"],
          ", ".join("%.2f" % v for v in summary["plain_over_fused_per_round"]), summary["fused_over_plain_max_abs_diff"]))
print("  max |logit difference| %.2e (must be <= 1e-4)" % summary["max_abs_logit_diff"])
if summary["bf16_speedup"] is not None:
  print("  bf16 autocast: speed-up %.2f, Dice vs fp32 per class %s, argmax agreement %.4f, native bf16 CPU: %s" % (
    summary["bf16_speedup"], ["%.4f" % d for d in summary["bf16_dice_vs_fp32_per_class"]],
      summary["bf16_argmax_agreement"], summary["cpu_native_bf16"]))
if peers:
    v = summary["peer_versions"]
    print("  peers (monai %s, nnunetv2 %s, dynamic_network_architectures %s, torch %s), our weights:" % (
        v["monai"], v["nnunetv2"], v["dynamic_network_architectures"], v["torch"]))
    for b, s in peers[0]["monai_seconds_per_tile_batch"].items():
        print("  monai    fp32  sw_batch_size %s:           %7.2f s" % (b, s))
    print("  best: monai %.2f s -> monai/segtrain %.2f (per round %s); with our Gaussian max |diff| %.2e, "
          "MONAI's own Gaussian max |diff| %.2e (argmax agreement %.4f)" % (
              summary["monai_fp32_seconds"], summary["monai_over_cpp"],
              ", ".join("%.2f" % x for x in summary["monai_over_cpp_per_round"]),
              summary["monai_max_abs_diff_same_weights"], summary["monai_default_map_max_abs_diff"],
              summary["monai_default_map_argmax_agreement"]))
    if summary["nnunet_error"]:
        print("  nnU-Net not run: " + summary["nnunet_error"])
    else:
        print("  nnunet   fp32 network, 1 tile at a time: %7.2f s -> nnunet/segtrain %.2f (per round %s); "
              "max |diff| %.2e (float16 accumulators; %.2e where its weight sum is a normal float16), its tiles "
              "blended in fp32 %.2e, argmax agreement %.4f" % (
                  summary["nnunet_fp32_seconds"], summary["nnunet_over_cpp"],
                  ", ".join("%.2f" % x for x in summary["nnunet_over_cpp_per_round"]),
                  summary["nnunet_max_abs_diff"], summary["nnunet_max_abs_diff_normal_weight"],
                  summary["nnunet_tiles_fp32_blend_max_abs_diff"], summary["nnunet_argmax_agreement"]))
    print("  peer checks failed: %s" % (summary["peer_checks_failed"] or "none"))
print("wrote " + out)
sys.exit(0 if summary["max_abs_logit_diff"] <= 1e-4 and not summary.get("peer_checks_failed") else 1)
PY
