#!/usr/bin/python3
"""Independent Gaussian sliding-window inference (Debian python3-torch, numpy, scipy) for
the benchmark written by seg_infer_bench: same input, same network weights, same tiles,
overlap and Gaussian weights, fp32 accumulation. Written after nnU-Net v2
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

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter


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
    w = {p["name"]: torch.from_numpy(np.fromfile(os.path.join(d, "param_%s.f32" % p["name"]),
                                                 np.float32).reshape(p["shape"]))
         for p in meta["params"]}

    def net(t):
        h = F.leaky_relu(F.conv3d(t, w["c1.weight"], w["c1.bias"], padding=1), 0.01)
        h = F.leaky_relu(F.conv3d(h, w["c2.weight"], w["c2.bias"], padding=1), 0.01)
        return F.conv3d(h, w["c3.weight"], w["c3.bias"])

    g = gaussian(tile, meta["sigma_scale"])
    sz, sy, sx = steps((z, y, x), tile, meta["overlap"])
    slicers = [(a, b, c) for a in sz for b in sy for c in sx]

    def infer():
        logits = torch.zeros((meta["classes"], z, y, x), dtype=torch.float32)
        norm = torch.zeros((z, y, x), dtype=torch.float32)
        batch = meta["tile_batch"]
        for first in range(0, len(slicers), batch):
            chunk = slicers[first:first + batch]
            crops = torch.stack([image[:, a:a + pz, b:b + py, c:c + px] for a, b, c in chunk])
            out = net(crops).float()
            for k, (a, b, c) in enumerate(chunk):
                logits[:, a:a + pz, b:b + py, c:c + px] += out[k] * g
                norm[a:a + pz, b:b + py, c:c + px] += g
        return logits / norm

    with torch.no_grad():
        result = infer()  # warm-up
        times = []
        for _ in range(int(meta["repeat"])):
            t0 = time.perf_counter()
            result = infer()
            times.append(time.perf_counter() - t0)
    py_seconds = min(times)
    cpp = torch.from_numpy(np.fromfile(os.path.join(d, "logits_cpp.f32"), np.float32)
                           .reshape(result.shape))
    max_diff = float((cpp - result).abs().max())
    out = {
        "tiles": len(slicers),
        "tiles_match": len(slicers) == meta["tiles"],
        "python_fp32_seconds": py_seconds,
        "cpp_fp32_seconds": meta["cpp_fp32_seconds"],
        "python_over_cpp": py_seconds / meta["cpp_fp32_seconds"],
        "max_abs_logit_diff": max_diff,
        "outputs_equal_1e-4": max_diff <= 1e-4,
        "argmax_agreement": float((cpp.argmax(0) == result.argmax(0)).float().mean()),
        "bf16_seconds": meta["cpp_bf16_seconds"],
        "bf16_speedup": meta["bf16_speedup"],
        "bf16_dice_vs_fp32_per_class": meta["bf16_dice_vs_fp32_per_class"],
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
