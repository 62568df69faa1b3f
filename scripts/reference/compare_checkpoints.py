#!/usr/bin/python3
"""Compares the model weights of two segtrain checkpoints bitwise.

Reads the checkpoints with Debian's python3-torch (torch.jit.load reads the archive
LibTorch's OutputArchive writes), independently of our C++ loader.
Usage: compare_checkpoints.py A.pt B.pt   -> exit 0 when every model tensor is
bitwise equal, 1 otherwise (the differing tensors are listed).
"""
import sys

import torch


def tensors(path):
    module = torch.jit.load(path, map_location="cpu")
    found = {k: v for k, v in module.named_parameters()}
    found.update({k: v for k, v in module.named_buffers()})
    return {k: v for k, v in found.items() if k.startswith("model.")}


def main():
    a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
    if a.keys() != b.keys():
        print("different tensors:", sorted(set(a) ^ set(b)))
        return 1
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    for k in differing:
        print(f"{k}: max |diff| {(a[k].double() - b[k].double()).abs().max().item():.3g}")
    print(f"{len(a)} model tensors compared, {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
