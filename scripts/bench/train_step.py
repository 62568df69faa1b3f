#!/usr/bin/python3
"""P1 reference: the same U-Net, Dice+CE loss and SGD step in Python PyTorch (Debian
python3-torch, the same LibTorch 1.13 underneath). Mirrors src/models/UNet.cpp layer by
layer: strided-conv down, transposed-conv up, InstanceNorm3d(affine), LeakyReLU(0.01).
Usage: train_step.py FEATURES PATCH_Z PATCH_Y PATCH_X BATCH THREADS STEPS [bf16]
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def stage(cin, cout, stride, convs=2):
    layers = []
    for i in range(convs):
        layers += [nn.Conv3d(cin if i == 0 else cout, cout, 3, stride=stride if i == 0 else 1, padding=1),
                   nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.01, inplace=True)]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    def __init__(self, features, cin=1, classes=2):
        super().__init__()
        self.encoder = nn.ModuleList()
        c = cin
        for s, f in enumerate(features):
            self.encoder.append(stage(c, f, 1 if s == 0 else 2))
            c = f
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for s in range(len(features) - 2, -1, -1):
            self.up.append(nn.ConvTranspose3d(features[s + 1], features[s], 2, stride=2, bias=False))
            self.decoder.append(stage(2 * features[s], features[s], 1))
        self.head = nn.Conv3d(features[0], classes, 1)

    def forward(self, x):
        skips = []
        for enc in self.encoder:
            x = enc(x)
            skips.append(x)
        for d, (up, dec) in enumerate(zip(self.up, self.decoder)):
            x = dec(torch.cat([up(x), skips[len(skips) - 2 - d]], 1))
        return self.head(x)


def dice_ce(logits, labels):
    x = logits.float()
    p = torch.softmax(x, 1)[:, 1:]
    g = F.one_hot(labels[:, 0], x.shape[1]).movedim(-1, 1).float()[:, 1:]
    axes = [0, 2, 3, 4]
    tp, sp, sg = (p * g).sum(axes), p.sum(axes), g.sum(axes)
    dice = (1 - (2 * tp + 1e-5) / (sp + sg + 1e-5)).mean()
    return dice + F.cross_entropy(x, labels[:, 0])


def main():
    features = [int(v) for v in sys.argv[1].split(",")]
    z, y, x, batch, threads, steps = (int(v) for v in sys.argv[2:8])
    bf16 = len(sys.argv) > 8 and sys.argv[8] == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = UNet(features)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    images = torch.randn(batch, 1, z, y, x)
    labels = (torch.rand(batch, 1, z, y, x) < 0.1).long()

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = dice_ce(net(images), labels)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - start) * 1000 / steps
    print(json.dumps({"impl": "python", "ms_per_step": ms, "bf16": bf16}))


if __name__ == "__main__":
    main()
