#!/usr/bin/env python3
"""P2 / P3 peer measurement: nnU-Net v2's own training transforms and data loader on the
volumes that `seg_loader_bench --dump DIR` wrote (the two normalised phantoms exactly as
our PatchSampler holds them).

  ~/.venvs/segtrain/bin/python bench/peer_augment.py DIR [--samples 200] [--batches N]
      [--warmup 3] [--seed 0] [--work DIR/nnunet] [--numpy] [--ours OURS.json]

Nothing of nnU-Net is re-implemented here: every step below calls the installed
nnunetv2 2.8.1 / batchgeneratorsv2 0.3.6 code; this script only sets the plan values
and times the calls.

Plan (3d_fullres of an isotropic 128^3 plan): patch 128^3, 6 stages with pooling
[1,2,2,2,2,2] per axis, one foreground label, no mask for normalisation, no cascade,
no regions, no ignore label. A stand-in for the trainer carries a real
ConfigurationManager, and the trainer's own methods derive from it
- rotation_for_DA, do_dummy_2d_data_aug, initial_patch_size, mirror_axes:
  nnUNetTrainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size (3D,
  max(patch)/patch[0] = 1 <= ANISO_THRESHOLD -> no dummy 2D, +-30 deg, mirror (0,1,2),
  initial patch = get_patch_size(patch, rot, rot, rot, (0.85, 1.25)));
- deep_supervision_scales: nnUNetTrainer._get_deep_supervision_scales
  (1 / cumprod(pool_op_kernel_sizes), without the last);
- the transforms: nnUNetTrainer.get_training_transforms(...) exactly as get_dataloaders
  passes its arguments.

P2: one thread (torch.set_num_threads(1), threadpool_limits(1) and torch.no_grad() as
nnUNetDataLoader.generate_train_batch runs them). Each sample is a crop of the initial
patch size from a dumped volume, its box from nnUNetDataLoader.get_bbox (forced
foreground with probability 0.33, as our batch-1 sampler; class_locations from
DefaultPreprocessor._sample_foreground_locations), cropped with crop_and_pad_nd (image
pad 0, seg pad -1 cast to int16) as generate_train_batch does. Only the transform call
is timed: time.thread_time (this thread's CPU) and time.process_time (all threads).
SpatialTransform.get_parameters is wrapped to count the samples that drew rotation
and/or scaling (its 'affine' is None otherwise; rotation shows as off-diagonal terms,
scaling as singular values != 1 of Rz Ry Rx S).

P3: the two phantoms written in the preprocessed format 2.8.1 writes by default
(DefaultPreprocessor.run_case_save: float32 data, int16 seg, nnUNetDatasetBlosc2.save_case
with comp_blosc2_params blocks/chunks for the plan's patch size; properties with
class_locations), the dataset class picked by infer_dataset_class, nnUNetDataLoader
(batch 2, initial and final patch as above, the LabelManager of dataset.json's labels,
oversample_foreground_percent 0.33, not probabilistic, the P2 transforms) and
generate_train_batch() called in this process on one thread: samples/s per core (wall)
and CPU-s per sample. --numpy adds the same with the older unpacked numpy format
(nnUNetDatasetNumpy: .npz unpacked to memory-mapped .npy, no decompression per crop).

Prints one JSON object. With --ours (the JSON seg_loader_bench printed) it adds the
ratios nnU-Net / ours.
"""
import argparse
import json
import os
import statistics
import sys
import time
from types import SimpleNamespace

# One thread everywhere, before numpy / torch load their thread pools.
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dump", help="directory written by seg_loader_bench --dump")
    p.add_argument("--samples", type=int, default=200, help="P2 timed samples (ours: 200)")
    p.add_argument("--batches", type=int, default=None, help="P3 timed batches of 2 (default samples / 2)")
    p.add_argument("--warmup", type=int, default=3, help="untimed samples / batches first")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default=None, help="where the preprocessed dataset goes (default DUMP/nnunet)")
    p.add_argument("--numpy", action="store_true", help="also P3 with the unpacked numpy dataset format")
    p.add_argument("--skip-p2", action="store_true")
    p.add_argument("--skip-p3", action="store_true")
    p.add_argument("--ours", default=None, help="seg_loader_bench JSON output, for the ratios")
    return p.parse_args()


def summary_ms(values_s):
    v = sorted(values_s)
    n = len(v)
    return {
        "mean": 1e3 * statistics.fmean(v),
        "median": 1e3 * v[n // 2],
        "p90": 1e3 * v[n * 9 // 10],
        "max": 1e3 * v[-1],
    }


class SpatialCounter:
    """Wraps batchgeneratorsv2's SpatialTransform.get_parameters to count draws."""

    def __init__(self):
        from batchgeneratorsv2.transforms.spatial.spatial import SpatialTransform

        self.calls = self.any = self.rotation = self.scaling = 0
        original = SpatialTransform.get_parameters
        counter = self

        def counted(transform_self, **data_dict):
            params = original(transform_self, **data_dict)
            counter.calls += 1
            affine = params.get("affine")
            if affine is not None:
                counter.any += 1
                off_diagonal = affine - np.diag(np.diag(affine))
                if np.abs(off_diagonal).max() > 1e-12:
                    counter.rotation += 1
                if not np.allclose(np.linalg.svd(affine, compute_uv=False), 1.0, atol=1e-9):
                    counter.scaling += 1
            return params

        SpatialTransform.get_parameters = counted

    def snapshot(self):
        return {"calls": self.calls, "any": self.any, "rotation": self.rotation, "scaling": self.scaling}

    @staticmethod
    def delta(a, b):
        return {k: b[k] - a[k] for k in a}


class TimedStep:
    """Stands in for one entry of ComposeTransforms.transforms: same call, CPU time kept."""

    def __init__(self, transform, name):
        self.transform = transform
        self.name = name
        self.cpu_s = 0.0

    def __call__(self, **data_dict):
        t0 = time.thread_time()
        out = self.transform(**data_dict)
        self.cpu_s += time.thread_time() - t0
        return out


def step_name(t):
    inner = getattr(t, "transform", None)
    return f"{type(t).__name__}({type(inner).__name__}, p={t.apply_probability})" if inner is not None else type(t).__name__


def load_dump(directory):
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    cases = []
    for c in meta["cases"]:
        image = np.fromfile(os.path.join(directory, c["image"]), dtype=np.float32).reshape(c["image_shape_czyx"])
        label = np.fromfile(os.path.join(directory, c["label"]), dtype=np.uint8).reshape(c["label_shape_zyx"])
        cases.append({"id": c["id"], "image": image, "label": label, "spacing": c["spacing_zyx"]})
    return meta, cases


def nnunet_setup(meta):
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.label_handling.label_handling import LabelManager
    from nnunetv2.utilities.plans_handling.plans_handler import ConfigurationManager

    patch = [int(v) for v in meta["patch_zyx"]]
    configuration = {
        "data_identifier": "nnUNetPlans_3d_fullres",
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 2,
        "patch_size": patch,
        "spacing": meta["cases"][0]["spacing_zyx"],
        "normalization_schemes": ["ZScoreNormalization"],
        "use_mask_for_norm": [False],
        "architecture": {
            "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
            "arch_kwargs": {
                "n_stages": 6,
                "strides": [[1, 1, 1]] + [[2, 2, 2]] * 5,
                "kernel_sizes": [[3, 3, 3]] * 6,
            },
            "_kw_requires_import": [],
        },
    }
    cm = ConfigurationManager(configuration)
    # What nnUNetTrainer's methods read of self, nothing more.
    trainer = SimpleNamespace(configuration_manager=cm, enable_deep_supervision=True,
                              print_to_log_file=lambda *a, **k: None)
    rotation_for_DA, do_dummy_2d, initial_patch_size, mirror_axes = \
        nnUNetTrainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size(trainer)
    ds_scales = nnUNetTrainer._get_deep_supervision_scales(trainer)
    # PlansManager.get_label_manager: LabelManager(label_dict=dataset_json['labels'], regions_class_order=...)
    label_manager = LabelManager(label_dict=meta["labels"], regions_class_order=None)
    transforms = nnUNetTrainer.get_training_transforms(
        cm.patch_size, rotation_for_DA, ds_scales, mirror_axes, do_dummy_2d,
        use_mask_for_norm=cm.use_mask_for_norm, is_cascaded=False,
        foreground_labels=label_manager.foreground_labels,
        regions=label_manager.foreground_regions if label_manager.has_regions else None,
        ignore_label=label_manager.ignore_label)
    settings = {
        "patch_size": patch,
        "initial_patch_size": [int(v) for v in initial_patch_size],
        "rotation_for_DA_rad": [float(v) for v in rotation_for_DA],
        "do_dummy_2d_data_aug": bool(do_dummy_2d),
        "mirror_axes": list(mirror_axes),
        "deep_supervision_scales": [[float(x) for x in s] for s in ds_scales],
        "use_mask_for_norm": cm.use_mask_for_norm,
        "foreground_labels": list(label_manager.foreground_labels),
        "has_regions": bool(label_manager.has_regions),
        "ignore_label": label_manager.ignore_label,
        "transforms": [step_name(t) for t in transforms.transforms],
    }
    return cm, label_manager, initial_patch_size, transforms, settings


def class_locations_of(label, label_manager):
    from nnunetv2.preprocessing.preprocessors.default_preprocessor import DefaultPreprocessor

    # run_case_npy: collect for label_manager.foreground_labels, seg with its channel axis.
    return DefaultPreprocessor._sample_foreground_locations(label[None].astype(np.int16),
                                                             label_manager.foreground_labels, verbose=False)


def remove_previous(folder, cases):
    """blosc2 will not write over an existing array; the preprocessor writes to a fresh folder."""
    os.makedirs(folder, exist_ok=True)
    for c in cases:
        for suffix in (".b2nd", "_seg.b2nd", ".pkl", ".npz", ".npy", "_seg.npy"):
            path = os.path.join(folder, c["id"] + suffix)
            if os.path.isfile(path):
                os.remove(path)


def write_blosc2(folder, cases, class_locations, cm):
    from nnunetv2.training.dataloading.nnunet_dataset import nnUNetDatasetBlosc2, comp_blosc2_params

    remove_previous(folder, cases)
    for c in cases:
        # DefaultPreprocessor.run_case_save: float32 data, int16 seg, blocks/chunks for the patch size.
        data = c["image"].astype(np.float32, copy=False)
        seg = c["label"][None].astype(np.int16)
        block_data, chunk_data = comp_blosc2_params(data.shape, tuple(cm.patch_size), data.itemsize)
        block_seg, chunk_seg = comp_blosc2_params(seg.shape, tuple(cm.patch_size), seg.itemsize)
        nnUNetDatasetBlosc2.save_case(data, seg, properties_of(c, class_locations[c["id"]]),
                                      os.path.join(folder, c["id"]), chunks=chunk_data, blocks=block_data,
                                      chunks_seg=chunk_seg, blocks_seg=block_seg)


def write_numpy(folder, cases, class_locations):
    from nnunetv2.training.dataloading.nnunet_dataset import nnUNetDatasetNumpy
    from nnunetv2.training.dataloading.utils import unpack_dataset

    remove_previous(folder, cases)
    for c in cases:
        nnUNetDatasetNumpy.save_case(c["image"].astype(np.float32, copy=False), c["label"][None].astype(np.int16),
                                     properties_of(c, class_locations[c["id"]]), os.path.join(folder, c["id"]))
    # What nnUNetDatasetNumpy.unpack_dataset does before training: .npz -> .npy (mmap).
    unpack_dataset(folder, True, False, 1, True)


def properties_of(case, locations):
    shape = list(case["label"].shape)
    return {
        "spacing": case["spacing"],
        "shape_before_cropping": shape,
        "shape_after_cropping_and_before_resampling": shape,
        "bbox_used_for_cropping": [[0, s] for s in shape],
        "class_locations": locations,
    }


def warm_blur_benchmark(transforms, patch):
    """GaussianBlurTransform(benchmark=True) times conv against FFT, 9 runs each, the first
    time it meets an (axis length, kernel size) pair, then reuses the choice. Sigma in
    [0.5, 1] gives kernel sizes 3 and 5 only, so a training run pays this once; settle it
    here instead of inside the timed samples."""
    from batchgeneratorsv2.transforms.noise.gaussian_blur import GaussianBlurTransform

    dummy = torch.zeros((1, *patch))
    for t in transforms.transforms:
        blur = getattr(t, "transform", None)
        if isinstance(blur, GaussianBlurTransform) and blur.benchmark:
            for sigma in np.linspace(0.5, 1.0, 11):
                for d in range(len(patch)):
                    blur._benchmark_wrapper(dummy, float(sigma), d)
            return {str(k): {str(kk): bool(vv) for kk, vv in v.items()} for k, v in blur.benchmark_use_fft.items()}
    return None


def run_p2(cases, class_locations, dl_for_bbox, transforms, samples, warmup, counter):
    from acvl_utils.cropping_and_padding.bounding_boxes import crop_and_pad_nd

    steps = [TimedStep(t, step_name(t)) for t in transforms.transforms]
    original_steps = transforms.transforms
    transforms.transforms = steps
    thread_s, process_s, resampled = [], [], []
    held = [(c["image"], c["label"][None].astype(np.int16), class_locations[c["id"]]) for c in cases]
    start = None
    with torch.no_grad(), threadpool_limits(limits=1, user_api=None):
        for i in range(warmup + samples):
            if i == warmup:
                for s in steps:
                    s.cpu_s = 0.0
                start = counter.snapshot()
            data, seg, locations = held[np.random.randint(len(held))]
            force_fg = np.random.uniform() < 0.33
            lbs, ubs = dl_for_bbox.get_bbox(data.shape[1:], force_fg, locations)
            bbox = [[a, b] for a, b in zip(lbs, ubs)]
            image = torch.from_numpy(crop_and_pad_nd(data, bbox, 0)).float()
            label = torch.from_numpy(crop_and_pad_nd(seg, bbox, -1, cast_cropped_to=np.int16)).to(torch.int16)
            drawn = counter.any
            t0, p0 = time.thread_time(), time.process_time()
            out = transforms(image=image, segmentation=label)
            t1, p1 = time.thread_time(), time.process_time()
            assert tuple(out["image"].shape[1:]) == tuple(dl_for_bbox.final_patch_size)
            if i >= warmup:
                thread_s.append(t1 - t0)
                process_s.append(p1 - p0)
                resampled.append(counter.any != drawn)
    transforms.transforms = original_steps
    # Means with and without a spatial transform, and at the nominal share
    # 1 - (1 - p_rotation)(1 - p_scaling) of get_training_transforms' SpatialTransform.
    spatial_step = next(t for t in original_steps if type(t).__name__ == "SpatialTransform")
    p_spatial = 1 - (1 - spatial_step.p_rotation) * (1 - spatial_step.p_scaling)
    with_spatial = [t for t, r in zip(thread_s, resampled) if r]
    plain = [t for t, r in zip(thread_s, resampled) if not r]
    mean_spatial = 1e3 * statistics.fmean(with_spatial) if with_spatial else 0.0
    mean_plain = 1e3 * statistics.fmean(plain) if plain else 0.0
    return {
        "samples": samples,
        "thread_cpu_ms": summary_ms(thread_s),
        "process_cpu_ms": summary_ms(process_s),
        "cpu_s_per_sample": statistics.fmean(thread_s),
        "thread_cpu_ms_mean_spatial": mean_spatial,
        "thread_cpu_ms_mean_plain": mean_plain,
        "p_spatial_nominal": p_spatial,
        "thread_cpu_ms_mean_at_nominal_share": p_spatial * mean_spatial + (1 - p_spatial) * mean_plain,
        "spatial_samples": SpatialCounter.delta(start, counter.snapshot()),
        "breakdown_mean_ms_per_sample": {f"{k:02d} {s.name}": 1e3 * s.cpu_s / samples for k, s in enumerate(steps)},
    }


def run_p3(folder, cm, label_manager, initial_patch_size, transforms, batches, warmup, counter):
    from nnunetv2.training.dataloading.data_loader import nnUNetDataLoader
    from nnunetv2.training.dataloading.nnunet_dataset import infer_dataset_class

    dataset_class = infer_dataset_class(folder)
    dataset = dataset_class(folder)
    dl = nnUNetDataLoader(dataset, 2, initial_patch_size, cm.patch_size, label_manager,
                          oversample_foreground_percent=0.33, sampling_probabilities=None, pad_sides=None,
                          transforms=transforms, probabilistic_oversampling=False)
    for _ in range(warmup):
        dl.generate_train_batch()
    start = counter.snapshot()
    w0, t0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    for _ in range(batches):
        batch = dl.generate_train_batch()
        assert batch["data"].shape[0] == 2
    wall, thread_s, process_s = time.perf_counter() - w0, time.thread_time() - t0, time.process_time() - p0
    n = 2 * batches
    return {
        "dataset_class": dataset_class.__name__,
        "batch": 2,
        "batches": batches,
        "samples": n,
        "wall_s": wall,
        "thread_cpu_s": thread_s,
        "process_cpu_s": process_s,
        "samples_per_s_per_core_wall": n / wall,
        "samples_per_s_per_core_cpu": n / thread_s,
        "cpu_s_per_sample": thread_s / n,
        "spatial_samples": SpatialCounter.delta(start, counter.snapshot()),
        "target_shapes": [list(t.shape) for t in batch["target"]],
    }


def main():
    args = parse_args()
    batches = args.batches if args.batches is not None else max(1, args.samples // 2)
    work = args.work or os.path.join(args.dump, "nnunet")
    # nnunetv2.paths only warns when these are unset; point them at the work folder.
    for v in ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results"):
        os.environ.setdefault(v, os.path.join(work, v))
    torch.set_num_threads(1)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    import nnunetv2
    import batchgeneratorsv2  # noqa: F401
    from importlib.metadata import version

    meta, cases = load_dump(args.dump)
    cm, label_manager, initial_patch_size, transforms, settings = nnunet_setup(meta)
    counter = SpatialCounter()
    with torch.no_grad(), threadpool_limits(limits=1, user_api=None):
        settings["blur_use_fft_after_warmup"] = warm_blur_benchmark(transforms, cm.patch_size)
    class_locations = {c["id"]: class_locations_of(c["label"], label_manager) for c in cases}

    result = {
        "bench": "P2_P3_nnunet_peer",
        "versions": {"nnunetv2": version("nnunetv2"), "batchgeneratorsv2": version("batchgeneratorsv2"),
                     "torch": torch.__version__, "numpy": np.__version__, "blosc2": version("blosc2")},
        "nnunetv2_path": os.path.dirname(nnunetv2.__file__),
        "torch_threads": torch.get_num_threads(),
        "volumes_czyx": [list(c["image"].shape) for c in cases],
        "foreground_locations": {k: {str(c): int(len(x)) for c, x in v.items()} for k, v in class_locations.items()},
        "settings": settings,
    }

    folder = os.path.join(work, "nnUNetPlans_3d_fullres")
    write_blosc2(folder, cases, class_locations, cm)

    if not args.skip_p2:
        from nnunetv2.training.dataloading.data_loader import nnUNetDataLoader
        from nnunetv2.training.dataloading.nnunet_dataset import infer_dataset_class

        # A loader only for its get_bbox (need_to_pad from initial vs final patch).
        dl = nnUNetDataLoader(infer_dataset_class(folder)(folder), 1, initial_patch_size, cm.patch_size,
                              label_manager, oversample_foreground_percent=0.33)
        result["p2"] = run_p2(cases, class_locations, dl, transforms, args.samples, args.warmup, counter)
        print(f"P2 done: {result['p2']['thread_cpu_ms']['mean']:.1f} CPU-ms/sample", file=sys.stderr, flush=True)

    if not args.skip_p3:
        result["p3"] = run_p3(folder, cm, label_manager, initial_patch_size, transforms, batches, args.warmup, counter)
        print(f"P3 done: {result['p3']['samples_per_s_per_core_wall']:.2f} samples/s", file=sys.stderr, flush=True)
        if args.numpy:
            numpy_folder = os.path.join(work, "nnUNetPlans_3d_fullres_numpy")
            write_numpy(numpy_folder, cases, class_locations)
            result["p3_numpy"] = run_p3(numpy_folder, cm, label_manager, initial_patch_size, transforms, batches,
                                        args.warmup, counter)

    if args.ours:
        with open(args.ours) as f:
            ours = json.load(f)
        ratios = {}
        if "p2" in result:
            ratios["p2_cpu_per_sample_nnunet_over_ours_mean"] = result["p2"]["thread_cpu_ms"]["mean"] / ours["cpu_ms_mean"]
            ratios["p2_cpu_per_sample_nnunet_over_ours_median"] = result["p2"]["thread_cpu_ms"]["median"] / ours["cpu_ms_median"]
            ratios["p2_cpu_per_sample_nnunet_over_ours_p90"] = result["p2"]["thread_cpu_ms"]["p90"] / ours["cpu_ms_p90"]
            if "cpu_ms_mean_at_nominal_share" in ours:
                ratios["p2_cpu_per_sample_nnunet_over_ours_at_nominal_share"] = (
                    result["p2"]["thread_cpu_ms_mean_at_nominal_share"] / ours["cpu_ms_mean_at_nominal_share"])
                ratios["p2_spatial_sample_nnunet_over_ours"] = (
                    result["p2"]["thread_cpu_ms_mean_spatial"] / ours["cpu_ms_mean_spatial"])
                ratios["p2_plain_sample_nnunet_over_ours"] = (
                    result["p2"]["thread_cpu_ms_mean_plain"] / ours["cpu_ms_mean_plain"])
        if "p3" in result and "supply" in ours:
            s = ours["supply"]
            ratios["p3_supply_ours_over_nnunet_wall"] = s["samples_per_s_per_core_wall"] / result["p3"]["samples_per_s_per_core_wall"]
            ratios["p3_supply_ours_over_nnunet_cpu"] = s["samples_per_s_per_core_cpu"] / result["p3"]["samples_per_s_per_core_cpu"]
            if "p3_numpy" in result:
                ratios["p3_supply_ours_over_nnunet_numpy_wall"] = (
                    s["samples_per_s_per_core_wall"] / result["p3_numpy"]["samples_per_s_per_core_wall"])
        result["ratios"] = ratios
    print(json.dumps(result, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


if __name__ == "__main__":
    main()
