#!/usr/bin/env python3
"""Independent Gaussian sliding-window inference (the venv's torch, numpy, scipy) for
the benchmark written by seg_infer_bench: same input, same network (the U-Net of
scripts/bench/train_step.py, loaded with the C++ weights by module-tree name), same tiles,
overlap and Gaussian weights, fp32 accumulation, timed at every tile batch size the C++
side tried; the fastest is compared. Written after nnU-Net v2
(nnunetv2/inference/sliding_window_prediction.py: compute_steps_for_sliding_window with
np.round, compute_gaussian as scipy.ndimage.gaussian_filter of an impulse at patch // 2 with
sigma = patch / 8, zeros replaced by the smallest non-zero value; logits * gaussian summed,
divided by the summed gaussian), not from our C++ code.

Usage: sliding_window_reference.py DIR    (DIR holds cpp.json, input.f32, param_*.f32,
logits_cpp.f32). Prints and writes DIR/result.json; exits 1 when the outputs differ by more
than 1e-4.
"""
import json
import os
import sys
import time

import importlib.util

import numpy as np
import torch
from scipy.ndimage import gaussian_filter


def load_unet_module():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "scripts", "bench", "train_step.py")
    spec = importlib.util.spec_from_file_location("train_step", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steps(image_size, tile_size, overlap):
    step = 1 - overlap
    out = []
    for size, tile in zip(image_size, tile_size):
        n = int(np.ceil((size - tile) / (tile * step))) + 1
        actual = (size - tile) / (n - 1) if n > 1 else 99999999999
        out.append([int(np.round(actual * i)) for i in range(n)])
    return out


def gaussian(tile_size, sigma_scale):
    tmp = np.zeros(tile_size)
    tmp[tuple(i // 2 for i in tile_size)] = 1
    g = gaussian_filter(tmp, [i * sigma_scale for i in tile_size], 0, mode="constant", cval=0)
    g = torch.from_numpy(g)
    g = g / g.max()
    g[g == 0] = g[g != 0].min()
    return g.float()


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "cpp.json")))
    torch.set_num_threads(int(meta["threads"]))
    x, y, z = meta["size_xyz"]
    px, py, pz = meta["patch_xyz"]
    tile = (pz, py, px)
    image = torch.from_numpy(np.fromfile(os.path.join(d, "input.f32"), np.float32).reshape(1, z, y, x))
    net = load_unet_module().UNet(meta["features"], cin=1, classes=meta["classes"])
    state = {}
    for p in meta["params"]:
        # C++ module tree: upsample.N = Python up.N; everything else has the same name.
        name = p["name"].replace("upsample.", "up.", 1)
        state[name] = torch.from_numpy(np.fromfile(os.path.join(d, "param_%s.f32" % p["name"]),
                                                   np.float32).reshape(p["shape"]))
    net.load_state_dict(state, strict=True)
    net.eval()

    g = gaussian(tile, meta["sigma_scale"])
    sz, sy, sx = steps((z, y, x), tile, meta["overlap"])
    slicers = [(a, b, c) for a in sz for b in sy for c in sx]

    def infer(batch):
        logits = torch.zeros((meta["classes"], z, y, x), dtype=torch.float32)
        norm = torch.zeros((z, y, x), dtype=torch.float32)
        for first in range(0, len(slicers), batch):
            chunk = slicers[first:first + batch]
            crops = torch.stack([image[:, a:a + pz, b:b + py, c:c + px] for a, b, c in chunk])
            out = net(crops).float()
            for k, (a, b, c) in enumerate(chunk):
                logits[:, a:a + pz, b:b + py, c:c + px] += out[k] * g
                norm[a:a + pz, b:b + py, c:c + px] += g
        return logits / norm

    per_batch, cpu_per_batch = {}, {}  # wall and process CPU seconds of the fastest repeat
    best = None
    with torch.no_grad():
        for batch in meta["tile_batches"]:
            net(torch.zeros((batch, 1, pz, py, px)))  # warm-up for this batch shape
            times = []
            for _ in range(int(meta["repeat"])):
                t0, c0 = time.perf_counter(), time.process_time()
                out = infer(batch)
                times.append((time.perf_counter() - t0, time.process_time() - c0))
            per_batch[batch], cpu_per_batch[batch] = min(times)
            print("python fp32 tile batch %d: %.3f s" % (batch, per_batch[batch]), file=sys.stderr)
            if best is None or per_batch[batch] < per_batch[best]:
                best, result = batch, out
    py_seconds = per_batch[best]
    cpp = torch.from_numpy(np.fromfile(os.path.join(d, "logits_cpp.f32"), np.float32)
                           .reshape(result.shape))
    max_diff = float((cpp - result).abs().max())
    out = {
        "tiles": len(slicers),
        "tiles_match": len(slicers) == meta["tiles"],
        "model": meta["model"],
        "features": meta["features"],
        "parameters": meta["parameters"],
        "size_xyz": meta["size_xyz"],
        "patch_xyz": meta["patch_xyz"],
        "overlap": meta["overlap"],
        "python_fp32_seconds": py_seconds,
        "python_best_tile_batch": best,
        "python_seconds_per_tile_batch": per_batch,
        "python_fp32_cpu_seconds": cpu_per_batch[best],
        "cpp_settings": meta["settings"],
        "cpp_best_tile_batch": meta["cpp_best_tile_batch"],
        "cpp_best_workers": meta["cpp_best_workers"],
        "cpp_fp32_seconds": meta["cpp_fp32_seconds"],
        "cpp_fp32_cpu_seconds": meta["cpp_fp32_cpu_seconds"],
        "cpp_plain_fp32_seconds": meta["cpp_plain_fp32_seconds"],
        "cpp_plain_fp32_cpu_seconds": meta["cpp_plain_fp32_cpu_seconds"],
        "fused_over_plain_max_abs_diff": meta["fused_over_plain_max_abs_diff"],
        "python_over_cpp": py_seconds / meta["cpp_fp32_seconds"],
        "max_abs_logit_diff": max_diff,
        "outputs_equal_1e-4": max_diff <= 1e-4,
        "argmax_agreement": float((cpp.argmax(0) == result.argmax(0)).float().mean()),
        "bf16_seconds": meta.get("cpp_bf16_seconds"),
        "bf16_speedup": meta.get("bf16_speedup"),
        "bf16_dice_vs_fp32_per_class": meta.get("bf16_dice_vs_fp32_per_class"),
        "bf16_argmax_agreement": meta.get("bf16_argmax_agreement"),
        "cpu_native_bf16": meta["cpu_native_bf16"],
        "threads": meta["threads"],
        "torch_python": torch.__version__,
        "torch_cpp": meta["torch"],
    }
    json.dump(out, open(os.path.join(d, "result.json"), "w"), indent=2)
    print(json.dumps(out, indent=2))
    return 0 if out["outputs_equal_1e-4"] and out["tiles_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
