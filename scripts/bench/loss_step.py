#!/usr/bin/env python3
"""P6 reference for the losses' forward + backward time: Dice, Dice+CE and Generalized Dice
written from design.md section 5 (MONAI semantics: softmax, one-hot labels, per-class
tp / sum p / sum g summed over batch and space with batch=True, smooth 1e-5; GDL square
weights with infinite weights replaced by the largest finite one) in Python on Debian's
torch. Prints {"dice": ms, "dice_ce": ms, "gdl": ms} (best of REPEATS after a warm-up).
Usage: loss_step.py BATCH CLASSES SIZE THREADS REPEATS
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def stats(x, labels):
    p = torch.softmax(x.float(), 1)
    g = F.one_hot(labels[:, 0], x.shape[1]).movedim(-1, 1).float()
    axes = [0, 2, 3, 4]
    return (p * g).sum(axes), p.sum(axes), g.sum(axes)


def dice(x, labels):
    tp, sp, sg = stats(x, labels)
    return (1 - (2 * tp + 1e-5) / (sp + sg + 1e-5)).mean()


def dice_ce(x, labels):
    return dice(x, labels) + F.cross_entropy(x, labels[:, 0])


def gdl(x, labels):
    tp, sp, sg = stats(x, labels)
    w = 1.0 / (sg * sg)
    inf = torch.isinf(w)
    w = torch.where(inf, torch.zeros_like(w), w)
    w = torch.where(inf, torch.full_like(w, float(w.max())), w)
    return 1 - (2 * (w * tp).sum() + 1e-5) / ((w * (sp + sg)).sum() + 1e-5)


def main():
    batch, classes, size, threads, repeats = (int(v) for v in sys.argv[1:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    logits = torch.randn(batch, classes, size, size, size)
    labels = torch.randint(0, classes, (batch, 1, size, size, size))
    out = {}
    for name, fn in (("dice", dice), ("dice_ce", dice_ce), ("gdl", gdl)):
        times = []
        for r in range(-1, repeats):
            x = logits.clone().requires_grad_(True)
            t0 = time.perf_counter()
            fn(x, labels).backward()
            t = (time.perf_counter() - t0) * 1000
            if r >= 0:
                times.append(t)
        out[name] = min(times)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
