#!/usr/bin/env python3
"""P5: collectives that nnU-Net v2's own Dice statistics issue per training step under DDP.

Runs nnunetv2's loss exactly as nnUNetTrainer._build_loss builds it for a DDP run without
regions or torch.compile (DC_and_CE_loss with MemoryEfficientSoftDiceLoss, batch_dice=True,
do_bg=False, smooth 1e-5, ddp=True; with deep supervision the DeepSupervisionWrapper with
weights 1/2^i and the lowest level at 1e-6 instead of 0, as nnU-Net does under DDP) on 2 Gloo
ranks on the CPU, and counts the torch.distributed calls made during forward and during
backward by wrapping torch.distributed.all_gather and all_reduce (nnU-Net's AllGatherGrad calls
them through the module attribute). Deep supervision: the 5 outputs of a 6-stage 3d_fullres
network (nnU-Net's scales are 1/cumprod(pooling) without the last stage), at 1/2^i of 32^3.
Gradient-bucket all-reduces of DDP itself are not part of the loss and are not counted here.

Prints one JSON object.
"""
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count_step(loss, outputs, target):
    counts = {"all_gather": 0, "all_reduce": 0}
    real = {"all_gather": dist.all_gather, "all_reduce": dist.all_reduce}

    def wrap(name):
        def counted(*args, **kwargs):
            counts[name] += 1
            return real[name](*args, **kwargs)
        return counted

    dist.all_gather, dist.all_reduce = wrap("all_gather"), wrap("all_reduce")
    try:
        value = loss(outputs, target)
        forward = dict(counts)
        value.backward()
        backward = {k: counts[k] - forward[k] for k in counts}
    finally:
        dist.all_gather, dist.all_reduce = real["all_gather"], real["all_reduce"]
    return {"forward": forward, "backward": backward,
            "total": sum(forward.values()) + sum(backward.values())}


def worker(rank, port, result_path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    import numpy as np
    from nnunetv2.training.loss.compound_losses import DC_and_CE_loss
    from nnunetv2.training.loss.deep_supervision import DeepSupervisionWrapper
    from nnunetv2.training.loss.dice import MemoryEfficientSoftDiceLoss

    torch.manual_seed(rank)
    classes, batch, edge, levels = 3, 2, 32, 5
    loss = DC_and_CE_loss({"batch_dice": True, "smooth": 1e-5, "do_bg": False, "ddp": True}, {},
                          weight_ce=1, weight_dice=1, ignore_label=None, dice_class=MemoryEfficientSoftDiceLoss)
    logits = [torch.randn(batch, classes, *(3 * [edge >> i]), requires_grad=True) for i in range(levels)]
    targets = [torch.randint(0, classes, (batch, 1, *(3 * [edge >> i]))).float() for i in range(levels)]
    plain = count_step(loss, logits[0], targets[0])

    weights = np.array([1 / (2 ** i) for i in range(levels)])
    weights[-1] = 1e-6  # nnUNetTrainer._build_loss under DDP without torch.compile
    weights = weights / weights.sum()
    deep = count_step(DeepSupervisionWrapper(loss, weights), logits, targets)
    if rank == 0:
        import nnunetv2
        from importlib.metadata import version
        out = {
            "nnunetv2": version("nnunetv2"), "torch": torch.__version__, "ranks": 2,
            "loss": "DC_and_CE_loss(MemoryEfficientSoftDiceLoss, batch_dice=True, ddp=True)",
            "without_deep_supervision": plain,
            "with_deep_supervision": deep,
            "deep_supervision_levels_evaluated": int((weights > 0).sum()),
            "dice_collectives_per_step": plain["total"],
            "dice_collectives_per_step_deep_supervision": deep["total"],
            "dice_collectives_per_level": deep["total"] / int((weights > 0).sum()),
        }
        with open(result_path, "w") as f:
            json.dump(out, f)
    dist.barrier()
    dist.destroy_process_group()


def main():
    torch.set_num_threads(1)
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "result.json")
        mp.spawn(worker, args=(free_port(), path), nprocs=2, join=True)
        print(open(path).read())


if __name__ == "__main__":
    sys.exit(main())
