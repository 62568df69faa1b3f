#!/usr/bin/env python3
"""P6 against the real peers: the sliding-window inference of MONAI and of nnU-Net v2, run
on the data seg_infer_bench wrote (input.f32, the weights param_*.f32, its fp32 logits
logits_cpp.f32, its settings in cpp.json), timed on CPU and compared with our logits.

What is measured, and why it is a fair comparison
-------------------------------------------------
* The same function. Each peer's own network class is built with our topology (kernel 3,
  stride 1 then 2 per stage in tensor order (z, y, x), the default of seg_infer_bench; two
  conv -> InstanceNorm3d(affine, eps 1e-5) -> LeakyReLU(0.01) per stage; transposed-conv
  upsampling with kernel = stride; concatenation [upsampled, skip]; 1x1x1 head with bias)
  and loaded with *our* weights through an explicit name map and a strict load_state_dict.
  The peer's tiles, Gaussian blending and accumulation are the peer's own code.
* MONAI: monai.networks.nets.DynUNet + monai.inferers.sliding_window_inference (overlap 0.5,
  mode "gaussian", sigma_scale 0.125) at every tile batch (sw_batch_size) our side tried,
  best of `repeat`, under torch.no_grad, eval mode, fp32, our thread count. That is MONAI as
  shipped, with its own Gaussian, which it centres at (p - 1) / 2 while nnU-Net (and we)
  centre at p // 2, so its logits differ slightly from ours: reported, not required equal.
  Equality proper is shown by one more run with roi_weight_map = our Gaussian
  (bench/sliding_window_reference.py's gaussian()): that must match logits_cpp to 1e-4, and
  the tile starts MONAI visits (recorded through with_coord) must be nnU-Net's grid.
* nnU-Net: nnUNetPredictor(tile_step_size 0.5, use_gaussian, no mirroring, CPU) driven
  through manual_initialization (the path nnU-Net's own trainer uses for its final
  validation) with a PlansManager / ConfigurationManager made from a minimal plans dict
  (patch size + architecture) and the network built from that architecture entry by
  nnunetv2.utilities.get_network_from_plans, i.e. dynamic_network_architectures'
  PlainConvUNet. predict_sliding_window_return_logits() always runs one tile at a time (its
  producer thread feeds single tiles), so there is no tile batch to choose; best of `repeat`.
  nnU-Net 2.8.1 accumulates the blended logits and the weight sum in float16
  (predicted_logits and n_predictions are torch.half; its Gaussian is float16, scaled by 10,
  and subnormal over about a sixth of a 64^3 tile), so its output is not our fp32 result:
  at voxels that only tile borders cover, the summed weight is a float16 subnormal and the
  accumulated logit x weight keeps almost no bits (differences up to ~0.5 there). So the
  checks are: its grid and fp32 Gaussian (compute_steps_for_sliding_window, compute_gaussian)
  equal ours; the tiles its own predictor ran (recorded by a forward hook in one more,
  untimed run) blended in fp32 with our Gaussian equal logits_cpp to 1e-4; the same tiles
  blended in float16 with its float16 Gaussian reproduce its output bit for bit (so its
  difference from us is that arithmetic alone); and where its weight sum is a normal float16
  the difference stays within (2K + 5) * 2^-11 * max|logit| + K * 2^-11, K = most tiles
  covering one voxel. Its plain 1e-4 comparison is reported as well (false).
* Biases and affines. seg_infer_bench's network has zero biases and InstanceNorm affines at
  (1, 0) (He initialisation), so logits_cpp cannot tell a wrong bias or affine mapping.
  network_check() therefore also loads our weights with random biases and affines into our
  Python U-Net (scripts/bench/train_step.py, shown equal to the C++ network by
  sliding_window_reference.py), DynUNet and PlainConvUNet and compares them on one tile.

Usage: peer_inference.py DIR    writes DIR/peers.json (and prints it); exit 1 when an
equality check fails. Peer log lines go to stderr.
"""
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_reference():
    """Our Python reference (same directory): gaussian() and steps(), nnU-Net style."""
    spec = importlib.util.spec_from_file_location("sliding_window_reference",
                                                  os.path.join(HERE, "sliding_window_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_ours(d, meta):
    """Our weights by C++ module-tree name, checked to be the layout the maps below expect."""
    params = {p["name"]: torch.from_numpy(np.fromfile(os.path.join(d, "param_%s.f32" % p["name"]),
                                                      np.float32).reshape(p["shape"]))
              for p in meta["params"]}
    n = len(meta["features"])
    for name, t in params.items():
        parts = name.split(".")
        if parts[0] in ("encoder", "decoder"):
            # stage Sequential: conv 0, norm 1, act 2, conv 3, norm 4, act 5 (two convs, no dropout)
            assert parts[2] in ("0", "1", "3", "4"), "unexpected stage layout: " + name
        if parts[0] in ("encoder", "decoder") and parts[2] in ("0", "3"):
            assert list(t.shape[2:]) in ([3, 3, 3], []), "kernel 3 expected: " + name
    assert sum(k.startswith("upsample.") for k in params) == n - 1
    return params


def strict_load(net, canonical):
    """Loads {canonical parameter name: tensor} strictly. Shared modules make some
    parameters appear under several state_dict names (DynUNet's skip_layers tree,
    PlainConvUNet's all_modules and decoder.encoder); each alias gets the tensor of the
    parameter it is, found by identity."""
    names = {id(p): name for name, p in net.named_parameters()}
    assert set(canonical) == set(names.values()), (
        "name map incomplete: missing %s, unexpected %s" % (sorted(set(names.values()) - set(canonical)),
                                                             sorted(set(canonical) - set(names.values()))))
    state = {}
    for key, p in net.state_dict(keep_vars=True).items():
        assert id(p) in names, "state entry that is not a parameter: " + key
        state[key] = canonical[names[id(p)]]
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys, result


def stage_map(ours_stage, peer_convs):
    """Our stage Sequential indices -> (peer conv prefix, peer norm prefix) for conv 1 and 2."""
    return {"%s.0" % ours_stage: peer_convs[0][0], "%s.1" % ours_stage: peer_convs[0][1],
            "%s.3" % ours_stage: peer_convs[1][0], "%s.4" % ours_stage: peer_convs[1][1]}


def monai_network(meta, ours):
    from monai.networks.nets import DynUNet
    n = len(meta["features"])
    strides = [1] + [2] * (n - 1)
    net = DynUNet(3, 1, meta["classes"], kernel_size=[3] * n, strides=strides, upsample_kernel_size=strides[1:],
                  filters=meta["features"], norm_name=("INSTANCE", {"affine": True}),
                  act_name=("leakyrelu", {"inplace": True, "negative_slope": 0.01}),
                  res_block=False, deep_supervision=False, trans_bias=False)
    blocks = ["input_block"] + ["downsamples.%d" % i for i in range(n - 2)] + ["bottleneck"]
    prefix = {}
    for s, block in enumerate(blocks):
        prefix.update(stage_map("encoder.%d" % s, [(block + ".conv1.conv", block + ".norm1"),
                                                   (block + ".conv2.conv", block + ".norm2")]))
    for d in range(n - 1):
        block = "upsamples.%d.conv_block" % d  # upsamples.0 is the deepest, as our decoder.0
        prefix.update(stage_map("decoder.%d" % d, [(block + ".conv1.conv", block + ".norm1"),
                                                   (block + ".conv2.conv", block + ".norm2")]))
        prefix["upsample.%d" % d] = "upsamples.%d.transp_conv.conv" % d
    prefix["head"] = "output_block.conv.conv"
    canonical, dropped = {}, []
    for name, t in ours.items():
        module, leaf = name.rsplit(".", 1)
        if leaf == "bias" and module.split(".")[0] in ("encoder", "decoder") and module.endswith((".0", ".3")):
            # DynUNet's convs have no bias. Ours feed straight into InstanceNorm, which
            # subtracts each channel's spatial mean per sample: a per-channel constant
            # added by the conv bias is removed exactly (and leaves the variance alone),
            # so the bias-free network computes the same function.
            dropped.append(name)
            continue
        canonical[prefix[module] + "." + leaf] = t
    strict_load(net, canonical)
    return net.eval(), dropped


def nnunet_plans(meta, tile):
    """Minimal nnU-Net plans: what ConfigurationManager needs to exist (an architecture
    entry) and what the predictor reads (patch_size)."""
    n = len(meta["features"])
    arch = {
        "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
        "arch_kwargs": {
            "n_stages": n, "features_per_stage": list(meta["features"]),
            "conv_op": "torch.nn.modules.conv.Conv3d", "kernel_sizes": [[3, 3, 3]] * n,
            "strides": [[1, 1, 1]] + [[2, 2, 2]] * (n - 1), "n_conv_per_stage": [2] * n,
            "n_conv_per_stage_decoder": [2] * (n - 1), "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"eps": 1e-05, "affine": True},
            "dropout_op": None, "dropout_op_kwargs": None,
            "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"negative_slope": 0.01, "inplace": True},
        },
        "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
    }
    return {"plans_name": "segtrain_P6", "configurations": {"3d_fullres": {"patch_size": list(tile), "architecture": arch}}}


def nnunet_network(meta, ours, configuration):
    from dynamic_network_architectures.architectures.unet import PlainConvUNet
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
    net = get_network_from_plans(configuration.network_arch_class_name, configuration.network_arch_init_kwargs,
                                 configuration.network_arch_init_kwargs_req_import, 1, meta["classes"],
                                 allow_init=True, deep_supervision=False)
    assert isinstance(net, PlainConvUNet)
    n = len(meta["features"])
    prefix = {}
    for s in range(n):
        stage = "encoder.stages.%d.0.convs" % s
        prefix.update(stage_map("encoder.%d" % s, [(stage + ".0.conv", stage + ".0.norm"),
                                                   (stage + ".1.conv", stage + ".1.norm")]))
    for d in range(n - 1):
        stage = "decoder.stages.%d.convs" % d
        prefix.update(stage_map("decoder.%d" % d, [(stage + ".0.conv", stage + ".0.norm"),
                                                   (stage + ".1.conv", stage + ".1.norm")]))
        prefix["upsample.%d" % d] = "decoder.transpconvs.%d" % d
    prefix["head"] = "decoder.seg_layers.%d" % (n - 2)
    canonical = {prefix[name.rsplit(".", 1)[0]] + "." + name.rsplit(".", 1)[1]: t for name, t in ours.items()}
    zeroed = []
    for name, p in net.named_parameters():
        if name not in canonical:
            # PlainConvUNet's transposed convs carry a bias (conv_bias applies to them too);
            # ours have none, and a zero bias is no bias. seg_layers 0 .. n-3 are the deep
            # supervision heads, never evaluated with deep_supervision=False.
            assert name.startswith("decoder.transpconvs.") and name.endswith(".bias") or \
                name.startswith("decoder.seg_layers."), name
            canonical[name] = torch.zeros_like(p)
            zeroed.append(name)
    strict_load(net, canonical)
    return net.eval(), zeroed


def max_overlap(image, tile, starts):
    """Most tiles covering one voxel (the number of additions into nnU-Net's accumulators)."""
    k = 1
    for size, t, s in zip(image, tile, starts):
        cover = np.zeros(size, np.int64)
        for a in s:
            cover[a:a + t] += 1
        k *= int(cover.max())
    return k


def run_monai(meta, image, cpp, net, ref, tile, zyx):
    from monai.inferers import sliding_window_inference
    out = {}

    def infer(batch, predictor=net, **kw):
        return sliding_window_inference(image[None], tile, batch, predictor, overlap=meta["overlap"],
                                        mode="gaussian", sigma_scale=meta["sigma_scale"], **kw)[0]

    per_batch, cpu_per_batch, best, default = {}, {}, None, None
    with torch.no_grad():
        for batch in meta["tile_batches"]:
            net(torch.zeros((batch, 1) + tuple(tile)))  # warm-up for this batch shape
            times = []
            for _ in range(int(meta["repeat"])):
                t0, c0 = time.perf_counter(), time.process_time()
                logits = infer(batch)
                times.append((time.perf_counter() - t0, time.process_time() - c0))
            per_batch[batch], cpu_per_batch[batch] = min(times)
            print("monai fp32 sw_batch_size %d: %.3f s" % (batch, per_batch[batch]), file=sys.stderr)
            if best is None or per_batch[batch] < per_batch[best]:
                best, default = batch, logits

        # Same run with our (nnU-Net's) Gaussian, recording the tile starts MONAI visits.
        starts = set()

        def recording(x, coords):
            for c in coords:
                starts.add(tuple(s.start for s in c[2:]))
            return net(x)

        t0 = time.perf_counter()
        same = infer(best, roi_weight_map=ref.gaussian(tile, meta["sigma_scale"]), with_coord=True,
                     predictor=recording)
        same_seconds = time.perf_counter() - t0
    grid = set((a, b, c) for a in zyx[0] for b in zyx[1] for c in zyx[2])
    out["monai_fp32_seconds"] = per_batch[best]
    out["monai_fp32_cpu_seconds"] = cpu_per_batch[best]
    out["monai_best_tile_batch"] = best
    out["monai_seconds_per_tile_batch"] = per_batch
    out["monai_cpu_seconds_per_tile_batch"] = cpu_per_batch
    out["monai_tiles"] = len(starts)
    out["monai_tile_starts_match"] = starts == grid
    out["monai_same_weights_seconds"] = same_seconds
    out["monai_max_abs_diff_same_weights"] = float((same - cpp).abs().max())
    out["monai_argmax_agreement_same_weights"] = float((same.argmax(0) == cpp.argmax(0)).float().mean())
    out["monai_equal_1e-4"] = out["monai_max_abs_diff_same_weights"] <= 1e-4
    out["monai_default_map_max_abs_diff"] = float((default - cpp).abs().max())
    out["monai_default_map_argmax_agreement"] = float((default.argmax(0) == cpp.argmax(0)).float().mean())
    return out


def blend(tiles, shape, gaussian, dtype):
    """Gaussian blend of (slicer, tile logits) pairs with accumulators of `dtype`: fp32 is our
    arithmetic; float16 with nnU-Net's float16 Gaussian is the arithmetic of nnU-Net 2.8.1's
    _internal_predict_sliding_window_return_logits (tile * gaussian in fp32, added into half
    accumulators, one half division), written here to show that its difference from us is
    that arithmetic alone."""
    logits = torch.zeros(shape, dtype=dtype)
    weight = torch.zeros(shape[1:], dtype=dtype)
    for sl, t in tiles:
        logits[sl] += t * gaussian
        weight[sl[1:]] += gaussian
    return logits / weight, weight


def run_nnunet(meta, image, cpp, ours, ref, tile, zyx, configuration):
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.inference.sliding_window_prediction import compute_gaussian, compute_steps_for_sliding_window
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
    out = {}
    with contextlib.redirect_stdout(sys.stderr):  # nnU-Net prints its notices to stdout
        plans = PlansManager(nnunet_plans(meta, tile))
        net, zeroed = nnunet_network(meta, ours, configuration)
        predictor = nnUNetPredictor(tile_step_size=meta["overlap"], use_gaussian=True, use_mirroring=False,
                                    perform_everything_on_device=False, device=torch.device("cpu"),
                                    verbose=False, allow_tqdm=False)
        labels = {"background": 0, **{"class_%d" % c: c for c in range(1, meta["classes"])}}
        predictor.manual_initialization(net, plans, configuration, None, {"labels": labels}, "nnUNetTrainer", None)
        assert predictor.label_manager.num_segmentation_heads == meta["classes"]

        # The grid and the Gaussian (fp32, scale 1) against ours.
        steps = compute_steps_for_sliding_window(tuple(image.shape[1:]), tile, meta["overlap"])
        out["nnunet_steps_match"] = [list(s) for s in steps] == [list(s) for s in zyx]
        g = compute_gaussian(tuple(tile), 1. / 8, 1, dtype=torch.float32, device=torch.device("cpu"))
        out["nnunet_gaussian_max_abs_diff"] = float((g - ref.gaussian(tile, meta["sigma_scale"])).abs().max())

        with torch.no_grad():
            net(torch.zeros((1, 1) + tuple(tile)))  # warm-up for the single-tile shape
        times = []
        for _ in range(int(meta["repeat"])):
            t0, c0 = time.perf_counter(), time.process_time()
            logits = predictor.predict_sliding_window_return_logits(image)
            times.append((time.perf_counter() - t0, time.process_time() - c0))
        print("nnunet fp32 network, fp16 accumulation, 1 tile at a time: %.3f s" % min(times)[0], file=sys.stderr)

        # One more, untimed run recording the tiles nnU-Net's network returns, in the order of
        # its slicers (its producer queue is first in, first out).
        recorded = []
        hook = net.register_forward_hook(lambda module, inputs, output: recorded.append(output[0].clone()))
        again = predictor.predict_sliding_window_return_logits(image)
        hook.remove()
        slicers = predictor._internal_get_sliding_window_slicers(tuple(image.shape[1:]))
    assert len(recorded) == len(slicers) == meta["tiles"]
    tiles = list(zip(slicers, recorded))
    ours_blend, _ = blend(tiles, tuple(cpp.shape), ref.gaussian(tile, meta["sigma_scale"]), torch.float32)
    g16 = compute_gaussian(tuple(tile), 1. / 8, 10, dtype=torch.float16, device=torch.device("cpu"))
    half_blend, half_weight = blend(tiles, tuple(cpp.shape), g16, torch.float16)
    logits = logits.float()
    diff = (logits - cpp).abs()
    normal = half_weight.float() >= 2.0 ** -14  # summed weight a normal float16 (not subnormal)
    k = max_overlap(tuple(image.shape[1:]), tile, zyx)
    out["nnunet_fp32_seconds"], out["nnunet_fp32_cpu_seconds"] = min(times)
    out["nnunet_tile_batch"] = 1
    out["nnunet_zeroed_parameters"] = zeroed
    out["nnunet_max_abs_diff"] = float(diff.max())
    out["nnunet_argmax_agreement"] = float((logits.argmax(0) == cpp.argmax(0)).float().mean())
    out["nnunet_equal_1e-4"] = out["nnunet_max_abs_diff"] <= 1e-4
    out["nnunet_recorded_run_identical"] = bool(torch.equal(again.float(), logits))
    # Where it differs: its accumulators are float16, and its float16 Gaussian (x10) is
    # subnormal over a sixth of a 64^3 tile, so at voxels that only tile borders cover the
    # summed weight is subnormal and the accumulated logit * weight keeps almost no bits.
    out["nnunet_accumulator_dtype"] = str(again.dtype).replace("torch.", "")
    out["nnunet_voxels_subnormal_weight_fraction"] = float((~normal).float().mean())
    out["nnunet_max_abs_diff_normal_weight"] = float(diff[:, normal].max()) if bool(normal.any()) else 0.0
    out["nnunet_max_tiles_per_voxel"] = k
    out["nnunet_fp16_bound_normal_weight"] = (2 * k + 5) * 2.0 ** -11 * float(cpp.abs().max()) + k * 2.0 ** -11
    out["nnunet_within_fp16_bound_normal_weight"] = (out["nnunet_max_abs_diff_normal_weight"]
                                                     <= out["nnunet_fp16_bound_normal_weight"])
    # Its tiles blended in fp32 with our Gaussian: nnU-Net's network and grid = ours.
    out["nnunet_tiles_fp32_blend_max_abs_diff"] = float((ours_blend - cpp).abs().max())
    out["nnunet_tiles_fp32_blend_equal_1e-4"] = out["nnunet_tiles_fp32_blend_max_abs_diff"] <= 1e-4
    # Its tiles blended in its float16 arithmetic: reproduces its output bit for bit.
    out["nnunet_fp16_blend_reproduces_output"] = bool(torch.equal(half_blend, again))
    out["nnunet_gaussian_equal"] = out["nnunet_gaussian_max_abs_diff"] <= 1e-7
    return out


def network_check(meta, ours, ref, configuration, x):
    """Our weights leave every bias at zero and every norm affine at (1, 0), so logits_cpp
    alone would not notice a wrong bias or affine mapping. Here the same weights with random
    biases and affines go into our Python U-Net (the one sliding_window_reference.py shows
    equal to the C++ network), DynUNet and PlainConvUNet, compared on one tile."""
    gen = torch.Generator().manual_seed(0)
    perturbed = {n: t + 0.1 * torch.randn(t.shape, generator=gen) if t.dim() == 1 else t for n, t in ours.items()}
    python = ref.load_unet_module().UNet(meta["features"], cin=1, classes=meta["classes"])
    python.load_state_dict({n.replace("upsample.", "up.", 1): t for n, t in perturbed.items()}, strict=True)
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        expected = python.eval()(x)
        monai = monai_network(meta, perturbed)[0](x)
        nnunet = nnunet_network(meta, perturbed, configuration)[0](x)
    out = {"monai_network_random_affine_max_abs_diff": float((monai - expected).abs().max()),
           "nnunet_network_random_affine_max_abs_diff": float((nnunet - expected).abs().max())}
    out["monai_network_equal_1e-4"] = out["monai_network_random_affine_max_abs_diff"] <= 1e-4
    out["nnunet_network_equal_1e-4"] = out["nnunet_network_random_affine_max_abs_diff"] <= 1e-4
    return out


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "cpp.json")))
    torch.set_num_threads(int(meta["threads"]))
    ref = load_reference()
    x, y, z = meta["size_xyz"]
    px, py, pz = meta["patch_xyz"]
    tile = [pz, py, px]
    image = torch.from_numpy(np.fromfile(os.path.join(d, "input.f32"), np.float32).reshape(1, z, y, x))
    cpp = torch.from_numpy(np.fromfile(os.path.join(d, "logits_cpp.f32"), np.float32).reshape(meta["classes"], z, y, x))
    ours = read_ours(d, meta)
    zyx = ref.steps((z, y, x), tile, meta["overlap"])
    out = {
        "size_xyz": meta["size_xyz"], "patch_xyz": meta["patch_xyz"], "overlap": meta["overlap"],
        "sigma_scale": meta["sigma_scale"], "threads": meta["threads"], "repeat": meta["repeat"],
        "tiles": meta["tiles"], "cpp_fp32_seconds": meta["cpp_fp32_seconds"],
        "versions": {p: importlib.metadata.version(p) for p in
                     ("monai", "nnunetv2", "dynamic_network_architectures", "torch")},
    }
    monai_net, dropped = monai_network(meta, ours)
    out["monai_dropped_conv_biases"] = len(dropped)
    out.update(run_monai(meta, image, cpp, monai_net, ref, tile, zyx))
    out["monai_over_cpp"] = out["monai_fp32_seconds"] / meta["cpp_fp32_seconds"]
    checks = ["monai_equal_1e-4", "monai_tile_starts_match"]
    try:
        from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
        with contextlib.redirect_stdout(sys.stderr):
            configuration = PlansManager(nnunet_plans(meta, tile)).get_configuration("3d_fullres")
        out.update(network_check(meta, ours, ref, configuration,
                                 image[None, :, :tile[0], :tile[1], :tile[2]].contiguous()))
        checks += ["monai_network_equal_1e-4", "nnunet_network_equal_1e-4"]
        out.update(run_nnunet(meta, image, cpp, ours, ref, tile, zyx, configuration))
        out["nnunet_over_cpp"] = out["nnunet_fp32_seconds"] / meta["cpp_fp32_seconds"]
        checks += ["nnunet_steps_match", "nnunet_gaussian_equal", "nnunet_tiles_fp32_blend_equal_1e-4",
                   "nnunet_fp16_blend_reproduces_output", "nnunet_within_fp16_bound_normal_weight"]
    except Exception as e:  # report why nnU-Net could not be driven instead of numbers
        out["nnunet_error"] = "%s: %s" % (type(e).__name__, e)
        checks.append("nnunet_error")
    out["checks_failed"] = [c for c in checks if c == "nnunet_error" or not out[c]]
    json.dump(out, open(os.path.join(d, "peers.json"), "w"), indent=2)
    print(json.dumps(out, indent=2))
    return 1 if out["checks_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
