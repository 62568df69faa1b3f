#!/usr/bin/env python3
"""Compares the model weights of two segtrain checkpoints bitwise.

Reads the checkpoints with the venv's torch (scripts/requirements.txt) (torch.jit.load reads the archive
LibTorch's OutputArchive writes), independently of our C++ loader.
Usage: compare_checkpoints.py A.pt B.pt [--atol X]  -> exit 0 when every model
tensor is bitwise equal (or within X absolutely), 1 otherwise (the differing tensors
are listed).
"""
import sys

import torch


def tensors(path):
    module = torch.jit.load(path, map_location="cpu")
    found = {k: v for k, v in module.named_parameters()}
    found.update({k: v for k, v in module.named_buffers()})
    return {k: v for k, v in found.items() if k.startswith("model.")}


def main():
    args = sys.argv[1:]
    atol = 0.0
    if "--atol" in args:
        i = args.index("--atol")
        atol = float(args[i + 1])
        del args[i:i + 2]
    a, b = tensors(args[0]), tensors(args[1])
    if a.keys() != b.keys():
        print("different tensors:", sorted(set(a) ^ set(b)))
        return 1

    def maxdiff(k):
        return (a[k].double() - b[k].double()).abs().max().item() if a[k].numel() else 0.0

    if atol > 0:
        differing = [k for k in a if a[k].shape != b[k].shape or maxdiff(k) > atol]
    else:
        differing = [k for k in a if not torch.equal(a[k], b[k])]
    for k in differing:
        if a[k].shape != b[k].shape:
            print(f"{k}: shape {tuple(a[k].shape)} vs {tuple(b[k].shape)}")
        else:
            print(f"{k}: max |diff| {maxdiff(k):.3g}")
    worst = max((maxdiff(k) for k in a if a[k].shape == b[k].shape), default=0.0)
    rule = f"within {atol:g}" if atol > 0 else "bitwise"
    print(f"{len(a)} model tensors compared ({rule}), {len(differing)} differ; largest |diff| {worst:.3g}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
