#!/usr/bin/env python3
"""P1 reference: the same U-Net, Dice+CE loss and SGD step in Python PyTorch (the venv's
torch 2.14.1, the same LibTorch segtrain links). Mirrors src/models/UNet.cpp layer by
layer: strided-conv down, transposed-conv up, InstanceNorm3d(affine), LeakyReLU(0.01).
Usage: train_step.py FEATURES PATCH_Z PATCH_Y PATCH_X BATCH THREADS STEPS [fp32|bf16|fp16] [cpu|cuda] [eager|compile]
`compile` wraps the model in torch.compile (inductor, default mode); its compilation happens
in the warm-up steps and is reported separately (compile_seconds), not in ms_per_step.
On CUDA it also reports the FLOPs of one step (see flops_per_step) and TFLOP/s.
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


def conv_flops(net, shape):
    """FLOPs of one training step by the usual convention: a multiply-add counts 2, only
    convolutions and transposed convolutions are counted (norms, activations, the loss and
    the optimiser are left out), and backward = 2 x forward (grad input + grad weight), so a
    step is 3 x the forward convolution FLOPs."""
    total = [0]

    def hook(module, inputs, output):
        k = module.weight.shape  # conv: (out, in, kz, ky, kx); transposed: (in, out, kz, ky, kx)
        per_output = k[2] * k[3] * k[4] * (k[1] if isinstance(module, nn.Conv3d) else k[0])
        if isinstance(module, nn.ConvTranspose3d):
            # every input voxel is scattered through the whole kernel into each output channel
            total[0] += 2 * inputs[0].numel() * k[1] * k[2] * k[3] * k[4]
        else:
            total[0] += 2 * output.numel() * per_output

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))]
    with torch.no_grad():
        net(torch.zeros(shape, device=next(net.parameters()).device))
    for h in handles:
        h.remove()
    return 3 * total[0]


def main():
    features = [int(v) for v in sys.argv[1].split(",")]
    z, y, x, batch, threads, steps = (int(v) for v in sys.argv[2:8])
    mode = sys.argv[8] if len(sys.argv) > 8 else "fp32"
    device = torch.device(sys.argv[9] if len(sys.argv) > 9 else "cpu")
    compiled = len(sys.argv) > 10 and sys.argv[10] == "compile"
    autocast = mode in ("bf16", "fp16")
    dtype = torch.float16 if mode == "fp16" else torch.bfloat16
    torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    net = UNet(features).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    model = torch.compile(net) if compiled else net
    images = torch.randn(batch, 1, z, y, x).to(device)
    labels = (torch.rand(batch, 1, z, y, x) < 0.1).long().to(device)

    def step():
        opt.zero_grad()
        with torch.autocast(device.type, dtype=dtype, enabled=autocast):
            loss = dice_ce(model(images), labels)
        loss.backward()
        opt.step()
        return loss.item()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    warm = time.perf_counter()
    for _ in range(2):
        step()
    sync()
    compile_seconds = time.perf_counter() - warm
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    ms = (time.perf_counter() - start) * 1000 / steps
    flops = conv_flops(net, (batch, 1, z, y, x))
    print(json.dumps({"impl": "python+compile" if compiled else "python", "ms_per_step": ms, "mode": mode,
                      "device": str(device), "warmup_seconds": compile_seconds,
                      "flops_per_step": flops, "tflops": flops / (ms / 1000) / 1e12}))


if __name__ == "__main__":
    main()
