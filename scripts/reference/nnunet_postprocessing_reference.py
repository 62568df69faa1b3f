#!/usr/bin/env python3
"""Reference postprocessing decisions from nnU-Net v2 itself
(tests/unit/eval/NnunetPostprocessingReference.h, consumed by
tests/unit/eval/NnunetPostprocessingCrossCheckTest.cpp).

For each scenario (a small dataset of synthetic cases built from boxes below) the script writes
the references and predictions as NIfTI (SimpleITK, spacing 1 mm), then runs nnU-Net's released
  nnunetv2.postprocessing.remove_connected_components.determine_postprocessing
with a minimal plans dict (SimpleITKIO, the default LabelManager) and the scenario's dataset.json
labels (classes, BraTS-style regions, or an ignore label), and records:
  - the steps nnU-Net chose (pp_fn_kwargs: all foreground labels -> target 0, a label -> that
    class, a region tuple -> its 1-based region index),
  - its mean Dice per class/region and foreground mean before and after (postprocessing.json),
  - every case's prediction after remove_all_but_largest_component_from_segmentation of all
    foreground labels (nnU-Net's first candidate), and nnU-Net's final postprocessed prediction.
Volumes are strings of label digits in C order of the (z, y, x) array, i.e. our x-fastest buffer.

Run: ~/.venvs/segtrain/bin/python scripts/reference/nnunet_postprocessing_reference.py > tests/unit/eval/NnunetPostprocessingReference.h
"""
import importlib.metadata
import json
import math
import os
import sys
import tempfile

import numpy as np
import SimpleITK as sitk

SHAPE = (6, 8, 10)  # z, y, x


def box(a, z0, z1, y0, y1, x0, x1, value):
    a[z0:z1, y0:y1, x0:x1] = value


def scenario_classes_fp_blobs():
    """Two touching classes; predictions carry small separate false-positive blobs."""
    cases = []
    for k in range(4):
        ref = np.zeros(SHAPE, np.uint8)
        box(ref, 1, 5, 1, 5, 1, 4, 1)
        box(ref, 1, 5, 1, 5, 4, 6 + (k % 2), 2)
        pred = ref.copy()
        box(pred, 1, 2, 1, 5, 1, 3, 0)  # a missed slab
        if k != 1:
            box(pred, 0, 1, 7, 8, 8, 10, 1)  # FP blob of class 1
        if k >= 2:
            box(pred, 5, 6, 0, 1, 9, 10, 2)  # FP voxel of class 2
        cases.append((f"fp_{k}", ref, pred))
    return {"labels": {"background": 0, "a": 1, "b": 2}}, cases


def scenario_classes_separate():
    """Separate objects per class; class 2 truly has two components in some cases; one case
    has class 2 in neither reference nor prediction (Dice NaN, nnU-Net's nanmean)."""
    cases = []
    for k in range(4):
        ref = np.zeros(SHAPE, np.uint8)
        box(ref, 1, 4, 1, 4, 1, 4, 1)
        if k != 3:
            box(ref, 2, 5, 5, 8, 6, 9, 2)
        if k in (0, 2):
            box(ref, 0, 2, 0, 2, 8, 10, 2)  # a second true class-2 component
        pred = ref.copy()
        box(pred, 1, 2, 1, 4, 1, 4, 0)
        if k != 2:
            box(pred, 5, 6, 0, 2, 0, 2, 1)  # FP blob of class 1
        if k == 1:
            box(pred, 0, 1, 6, 8, 0, 1, 2)  # FP blob of class 2
        cases.append((f"sep_{k}", ref, pred))
    return {"labels": {"background": 0, "liver": 1, "lesion": 2}}, cases


def scenario_regions():
    """BraTS-like nested regions (values 1 edema, 2 core, 3 enhancing). True separate edema
    components make "largest foreground" hurt the whole tumour; the enhancing false positives are
    also tumour core, so keeping the largest tumour core removes them before enhancing is tried."""
    cases = []
    for k in range(4):
        ref = np.zeros(SHAPE, np.uint8)
        box(ref, 1, 5, 1, 7, 1, 7, 1)
        box(ref, 2, 4, 2, 6, 2, 6, 2)
        box(ref, 2, 4, 3, 5, 3, 5, 3)
        if k in (1, 2):
            box(ref, 0, 2, 0, 2, 8, 10, 1)  # a separate true edema component
        pred = ref.copy()
        box(pred, 1, 2, 1, 7, 1, 3, 0)
        if k != 0:
            box(pred, 5, 6, 6, 8, 8, 10, 3)  # FP enhancing blob
        if k == 3:
            box(pred, 0, 1, 0, 1, 9, 10, 2)  # FP core voxel
        cases.append((f"reg_{k}", ref, pred))
    labels = {"background": 0, "whole tumor": [1, 2, 3], "tumor core": [2, 3], "enhancing tumor": [3]}
    return {"labels": labels, "regions_class_order": [1, 2, 3]}, cases


def scenario_ignore_single_class():
    """One class and the ignore label 2 (unannotated slab); one FP blob lies on ignored voxels."""
    cases = []
    for k in range(3):
        ref = np.zeros(SHAPE, np.uint8)
        box(ref, 1, 4, 2, 6, 2, 6, 1)
        box(ref, 0, 6, 0, 8, 8, 10, 2)  # not annotated
        pred = np.where(ref == 1, 1, 0).astype(np.uint8)
        box(pred, 1, 2, 2, 6, 2, 4, 0)
        box(pred, 2, 4, 1, 3, 8, 10, 1)  # on ignored voxels only
        if k == 1:
            box(pred, 5, 6, 0, 1, 0, 2, 1)  # FP blob in annotated voxels
        cases.append((f"ign_{k}", ref, pred))
    return {"labels": {"background": 0, "tumor": 1, "ignore": 2}}, cases


def scenario_ties():
    """One class; a prediction with two components of equal size (both are kept), another where
    the reference has two components, so keeping the largest hurts."""
    cases = []
    ref = np.zeros(SHAPE, np.uint8)
    box(ref, 1, 3, 1, 3, 1, 3, 1)
    pred = ref.copy()
    box(pred, 3, 5, 5, 7, 6, 8, 1)  # same size as the true one: a tie
    cases.append(("tie_0", ref, pred))
    ref = np.zeros(SHAPE, np.uint8)
    box(ref, 1, 4, 1, 4, 1, 4, 1)
    box(ref, 4, 6, 6, 8, 7, 9, 1)
    pred = ref.copy()
    cases.append(("tie_1", ref, pred))
    return {"labels": {"background": 0, "tumor": 1}}, cases


SCENARIOS = [
    ("ClassesFpBlobs", scenario_classes_fp_blobs),
    ("ClassesSeparate", scenario_classes_separate),
    ("Regions", scenario_regions),
    ("IgnoreSingleClass", scenario_ignore_single_class),
    ("Ties", scenario_ties),
]


def write(a, path):
    img = sitk.GetImageFromArray(a)
    img.SetSpacing((1.0, 1.0, 1.0))
    sitk.WriteImage(img, path)


def read(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(path))


def text(a):
    return "".join(str(int(v)) for v in a.ravel())


def target_of(labels_or_regions, foreground_labels, regions):
    if isinstance(labels_or_regions, list):
        assert sorted(labels_or_regions) == sorted(foreground_labels), labels_or_regions
        return 0
    if isinstance(labels_or_regions, tuple) or regions:
        key = tuple(labels_or_regions) if isinstance(labels_or_regions, tuple) else labels_or_regions
        return 1 + regions.index(key)
    return int(labels_or_regions)


def run(name, make, tmp):
    from nnunetv2.postprocessing.remove_connected_components import (
        determine_postprocessing, remove_all_but_largest_component_from_segmentation)
    from nnunetv2.utilities.label_handling.label_handling import LabelManager

    dataset_json, cases = make()
    dataset_json = dict(dataset_json, file_ending=".nii.gz")
    plans = {"image_reader_writer": "SimpleITKIO", "label_manager": "LabelManager"}
    lm = LabelManager(dataset_json["labels"], dataset_json.get("regions_class_order"))
    regions = lm.foreground_regions if lm.has_regions else None
    keys = regions if lm.has_regions else lm.foreground_labels
    folder = os.path.join(tmp, name)
    pred_dir, ref_dir = os.path.join(folder, "pred"), os.path.join(folder, "ref")
    os.makedirs(pred_dir)
    os.makedirs(ref_dir)
    for cid, ref, pred in cases:
        write(ref, os.path.join(ref_dir, cid + ".nii.gz"))
        write(pred, os.path.join(pred_dir, cid + ".nii.gz"))
    with open(os.devnull, "w") as devnull:  # nnU-Net prints its decisions; keep stdout for the header
        saved = os.dup(1)
        os.dup2(devnull.fileno(), 1)
        try:
            fns, kwargs = determine_postprocessing(pred_dir, ref_dir, plans, dataset_json, num_processes=1,
                                                   keep_postprocessed_files=True)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    summary = json.load(open(os.path.join(pred_dir, "postprocessing.json")))
    steps = [target_of(k["labels_or_regions"], lm.foreground_labels, regions) for k in kwargs]
    assert all(f.__name__ == "remove_all_but_largest_component_from_segmentation" for f in fns)

    def scores(part):
        means = summary[part]["mean"]
        per = []
        for k in keys:
            key = str(k) if not isinstance(k, tuple) else "(" + ", ".join(str(v) for v in k) + ")"
            if key not in means:  # nnU-Net's label_or_region_to_key spelling
                from nnunetv2.evaluation.evaluate_predictions import label_or_region_to_key
                key = label_or_region_to_key(k)
            per.append(means[key]["Dice"])
        return summary[part]["foreground_mean"]["Dice"], per

    out = []
    for cid, ref, pred in cases:
        keep_all = remove_all_but_largest_component_from_segmentation(pred, lm.foreground_labels)
        final = read(os.path.join(pred_dir, "postprocessed", cid + ".nii.gz"))
        out.append((cid, ref, pred, keep_all, final))
    return dataset_json, lm, regions, steps, scores("input_folder"), scores("postprocessed"), out


def num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "kNan"
    return repr(float(v))


def main():
    version = importlib.metadata.version("nnunetv2")
    lines = [
        f"// Generated by scripts/reference/nnunet_postprocessing_reference.py from nnU-Net {version}; do not edit.",
        "// Regenerate with:",
        "//   ~/.venvs/segtrain/bin/python scripts/reference/nnunet_postprocessing_reference.py > "
        "tests/unit/eval/NnunetPostprocessingReference.h",
        "// tests/integration/nnunet_postprocessing_reference_fresh.sh checks that this file is what the script prints.",
        "//",
        "// nnU-Net's determine_postprocessing on small synthetic datasets: the steps it chose, mean Dice",
        "// before/after, and per case the prediction after keeping the largest foreground component and",
        "// nnU-Net's final postprocessed prediction. Volumes: label digits, x fastest.",
        "#pragma once",
        "",
        "#include <array>",
        "#include <cstdint>",
        "#include <limits>",
        "#include <string>",
        "#include <vector>",
        "",
        "namespace seg::nnunet_pp {",
        "",
        "inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();",
        f"inline constexpr std::array<int64_t, 3> kSize{{{SHAPE[2]}, {SHAPE[1]}, {SHAPE[0]}}};  // x, y, z",
        "",
        "struct Case {",
        "  const char* id;",
        "  const char* reference;",
        "  const char* prediction;",
        "  const char* keepLargestForeground;  // remove_all_but_largest_component_from_segmentation(pred, fg labels)",
        "  const char* postprocessed;          // nnU-Net's final postprocessed prediction",
        "};",
        "",
        "struct Scenario {",
        "  const char* name;",
        "  int numClasses;                       // classes incl. background, or regions + 1",
        "  std::vector<std::vector<int>> regions;  // empty = classes",
        "  std::vector<int> regionsClassOrder;",
        "  int ignoreLabel;                      // -1 = none",
        "  std::vector<int> steps;               // targets of nnU-Net's keep-largest steps, in order",
        "  double foregroundBefore, foregroundAfter;",
        "  std::vector<double> diceBefore, diceAfter;  // mean Dice per class / region",
        "  std::vector<Case> cases;",
        "};",
        "",
        "inline const std::vector<Scenario>& scenarios() {",
        "  static const std::vector<Scenario> all = {",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in SCENARIOS:
            dj, lm, regions, steps, before, after, cases = run(name, make, tmp)
            ncls = (len(regions) + 1) if regions else (len(lm.foreground_labels) + 1)
            reg = ", ".join("{" + ", ".join(str(v) for v in ((r,) if np.isscalar(r) else r)) + "}"
                            for r in (regions or []))
            order = ", ".join(str(v) for v in (dj.get("regions_class_order") or []))
            ignore = lm.ignore_label if lm.ignore_label is not None else -1
            lines.append(f'    {{"{name}", {ncls}, {{{reg}}}, {{{order}}}, {ignore},')
            lines.append(f"     {{{', '.join(str(s) for s in steps)}}},")
            lines.append(f"     {num(before[0])}, {num(after[0])},")
            lines.append(f"     {{{', '.join(num(v) for v in before[1])}}},")
            lines.append(f"     {{{', '.join(num(v) for v in after[1])}}},")
            lines.append("     {")
            for cid, ref, pred, keep_all, final in cases:
                lines.append(f'      {{"{cid}",')
                for a in (ref, pred, keep_all):
                    lines.append(f'       "{text(a)}",')
                lines.append(f'       "{text(final)}"}},')
            lines.append("     }},")
    lines += ["  };", "  return all;", "}", "", "}  // namespace seg::nnunet_pp", ""]
    sys.stdout.write("\n".join(lines))


if __name__ == "__main__":
    main()
