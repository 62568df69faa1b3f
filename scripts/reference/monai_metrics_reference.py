#!/usr/bin/env python3
"""MONAI's own metric values on small label volumes, for tests/unit/metrics/
MonaiMetricsCrossCheckTest.cpp (writes tests/unit/metrics/MonaiMetricsReference.h).

Unlike metrics_reference.py (our own numpy/scipy re-derivation), every number here comes
from MONAI's released implementation: monai.metrics.DiceMetric (include_background True and
False, ignore_empty True and False), HausdorffDistanceMetric(percentile=95) and
SurfaceDistanceMetric(symmetric=True), both with voxel spacing, reduction "none", one-hot
inputs (monai.networks.utils.one_hot).

Volumes: deterministic (seeded numpy Generator, ellipsoids in mm, shifted / dilated /
eroded copies, salt noise, a thresholded smooth random field) plus a closed-form case;
anisotropic spacing in four of the five cases; up to four classes; classes missing from the
prediction, from the reference, and from both. They are written run-length encoded in the
C++ buffer order (x fastest = C order of a numpy (z, y, x) array).

Spacing and axis order: MONAI's `spacing` follows the array axes. MONAI's LoadImage gives
(x, y, z) arrays (nibabel order), so the volumes are handed to MONAI transposed to (x, y, z)
with spacing (sx, sy, sz), as a MONAI pipeline would see them. The script checks that the
(z, y, x) array with spacing (sz, sy, sx) gives the same values, i.e. only the pairing of
spacing and axis matters (passing our (z, y, x) buffer with the header's (x, y, z) spacing
is the mistake to avoid).

Run from anywhere (writes next to the tests unless --out is given):
  ~/.venvs/segtrain/bin/python scripts/reference/monai_metrics_reference.py [--out FILE]
"""
import argparse
import math
import os
import sys
import warnings

import numpy as np
import torch
from scipy import ndimage

import monai
from monai.metrics import DiceMetric, HausdorffDistanceMetric, SurfaceDistanceMetric
from monai.networks.utils import one_hot

EXPECTED_MONAI = "1.6.1"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "tests", "unit", "metrics", "MonaiMetricsReference.h")
COMMAND = "~/.venvs/segtrain/bin/python scripts/reference/monai_metrics_reference.py"


# ----------------------------------------------------------------------------------------
# Volumes (numpy (z, y, x); spacing in (x, y, z) as ImageGeometry)

def ellipsoid(shape, spacing, centre_zyx, radii_mm_xyz):
    z, y, x = np.indices(shape)
    cz, cy, cx = centre_zyx
    rx, ry, rz = radii_mm_xyz
    return (((x - cx) * spacing[0] / rx) ** 2 + ((y - cy) * spacing[1] / ry) ** 2 +
            ((z - cz) * spacing[2] / rz) ** 2) <= 1.0


def perturb(rng, ref, classes):
    """Per connected component of each class: kept, shifted by one voxel, dilated, eroded or
    dropped; then one false-positive blob and salt noise."""
    pred = np.zeros_like(ref)
    for c in classes:
        lab, n = ndimage.label(ref == c)
        for j in range(1, n + 1):
            mask = lab == j
            action = rng.random()
            if action < 0.3:
                out = np.roll(mask, int(rng.choice([-1, 1])), axis=int(rng.integers(0, 3)))
            elif action < 0.5:
                out = ndimage.binary_dilation(mask)
            elif action < 0.7:
                out = ndimage.binary_erosion(mask)
                if not out.any():
                    out = mask
            elif action < 0.8:
                out = np.zeros_like(mask)
            else:
                out = mask
            pred[out] = c
    return pred


def salt(rng, volume, classes, rate):
    out = volume.copy()
    noise = rng.random(volume.shape) < rate
    out[noise] = rng.choice(np.array([0] + list(classes), np.uint8), size=int(noise.sum()))
    return out


def case_aniso_blobs():
    """Three classes of ellipsoids (some cut by the grid border), spacing 0.8 x 1.0 x 2.5."""
    shape, spacing, classes = (14, 18, 22), (0.8, 1.0, 2.5), [1, 2, 3]
    rng = np.random.default_rng(101)
    ref = np.zeros(shape, np.uint8)
    for c in classes:
        for _ in range(3):
            centre = [int(rng.integers(0, s)) for s in shape]
            ref[ellipsoid(shape, spacing, centre, rng.uniform(1.5, 6.0, 3))] = c
    pred = perturb(rng, ref, classes)
    centre = [int(rng.integers(0, s)) for s in shape]
    pred[ellipsoid(shape, spacing, centre, (2.0, 2.5, 3.0))] = 2
    pred = salt(rng, pred, classes, 0.004)
    return dict(name="aniso_blobs_4class", ref=ref, pred=pred, spacing=spacing, num_classes=4)


def case_pred_misses_class():
    """Isotropic; class 2 is in the reference only (HD95/ASSD one-sided, Dice 0)."""
    shape, spacing = (10, 14, 16), (1.0, 1.0, 1.0)
    rng = np.random.default_rng(202)
    ref = np.zeros(shape, np.uint8)
    ref[ellipsoid(shape, spacing, (5, 6, 7), (4.0, 3.5, 3.0))] = 1
    ref[ellipsoid(shape, spacing, (2, 11, 13), (1.5, 1.5, 1.5))] = 2
    pred = perturb(rng, np.where(ref == 1, 1, 0).astype(np.uint8), [1])
    pred = salt(rng, pred, [1], 0.003)
    pred[pred == 2] = 0
    return dict(name="iso_pred_misses_class2", ref=ref, pred=pred, spacing=spacing, num_classes=3)


def case_ref_lacks_class():
    """Class 2 only in the prediction (a false-positive blob), class 3 in neither."""
    shape, spacing = (12, 12, 10), (1.5, 0.7, 1.2)
    rng = np.random.default_rng(303)
    ref = np.zeros(shape, np.uint8)
    ref[ellipsoid(shape, spacing, (6, 5, 4), (5.0, 3.0, 4.0))] = 1
    pred = perturb(rng, ref, [1])
    pred[ellipsoid(shape, spacing, (10, 10, 8), (2.0, 1.5, 2.0))] = 2
    return dict(name="ref_lacks_class2_both_lack_class3", ref=ref, pred=pred, spacing=spacing,
                num_classes=4)


def case_boxes():
    """Closed form. Class 1: reference box x 0..7, y 2..9, z 0..7 (touching the x = 0 and both
    z borders), prediction the same box moved by +2 in x. Class 2: one voxel each, (x, y, z) =
    (4, 3, 2) and (4, 3, 5): every distance is 3 slices x 3.0 mm = 9 mm, so HD95 = ASSD = 9."""
    shape, spacing = (8, 16, 20), (0.5, 1.5, 3.0)
    ref = np.zeros(shape, np.uint8)
    pred = np.zeros(shape, np.uint8)
    ref[0:8, 2:10, 0:8] = 1
    pred[0:8, 2:10, 2:10] = 1
    ref[2, 3, 4] = 2
    pred[5, 3, 4] = 2
    return dict(name="boxes_closed_form", ref=ref, pred=pred, spacing=spacing, num_classes=3)


def case_noisy_field():
    """Labels from a smoothed random field (ragged surfaces, many distances), the prediction
    a differently thresholded field plus 3 % label noise."""
    shape, spacing = (10, 12, 14), (1.2, 0.9, 2.0)
    rng = np.random.default_rng(404)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
    field = field / field.std()
    ref = np.digitize(field, [-0.4, 0.5, 1.2]).astype(np.uint8)
    pred = np.digitize(field + 0.35 * ndimage.gaussian_filter(rng.standard_normal(shape), 1.0),
                       [-0.35, 0.55, 1.1]).astype(np.uint8)
    pred = salt(rng, pred, [1, 2, 3], 0.03)
    return dict(name="noisy_field_4class", ref=ref, pred=pred, spacing=spacing, num_classes=4)


# ----------------------------------------------------------------------------------------
# MONAI

def as_monai(volume_zyx, num_classes):
    """(z, y, x) labels -> one-hot (1, C, x, y, z) float tensor, LoadImage's axis order."""
    xyz = np.ascontiguousarray(volume_zyx.transpose(2, 1, 0)).astype(np.int64)
    return one_hot(torch.from_numpy(xyz)[None, None], num_classes)


def monai_values(case, xyz_order=True):
    c = case["num_classes"]
    if xyz_order:
        yp, y = as_monai(case["pred"], c), as_monai(case["ref"], c)
        spacing = list(case["spacing"])
    else:  # the (z, y, x) buffer with the spacing paired per axis: must give the same
        yp = one_hot(torch.from_numpy(case["pred"].astype(np.int64))[None, None], c)
        y = one_hot(torch.from_numpy(case["ref"].astype(np.int64))[None, None], c)
        spacing = list(case["spacing"])[::-1]

    def run(metric, **kw):
        metric(y_pred=yp, y=y, **kw)
        return metric.aggregate()

    out = {}
    for ie in (True, False):
        out[("dice", ie)] = run(DiceMetric(include_background=True, reduction="none",
                                           ignore_empty=ie))[0]
        fg = run(DiceMetric(include_background=False, reduction="none", ignore_empty=ie))[0]
        assert torch.equal(torch.nan_to_num(fg, 7.0), torch.nan_to_num(out[("dice", ie)][1:], 7.0))
    for ib in (True, False):
        out[("mean_dice", ib)] = float(run(DiceMetric(include_background=ib, reduction="mean")))
    out["hd95"] = run(HausdorffDistanceMetric(include_background=True, percentile=95,
                                              reduction="none"), spacing=spacing)[0]
    fg = run(HausdorffDistanceMetric(include_background=False, percentile=95, reduction="none"),
             spacing=spacing)[0]
    assert torch.equal(torch.nan_to_num(fg, 7.0), torch.nan_to_num(out["hd95"][1:], 7.0))
    out["hd"] = run(HausdorffDistanceMetric(include_background=True, reduction="none"),
                    spacing=spacing)[0]
    out["assd"] = run(SurfaceDistanceMetric(include_background=True, symmetric=True,
                                            reduction="none"), spacing=spacing)[0]
    return out


# ----------------------------------------------------------------------------------------
# Header

def rle(volume):
    flat = volume.ravel()
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    out = []
    for s, n in zip(starts, lengths):
        out += [int(flat[s]), int(n)]
    return out


def num(x):
    x = float(x)
    if math.isnan(x):
        return "kNan"
    if math.isinf(x):
        return "kInf" if x > 0 else "-kInf"
    return repr(x)


def wrap(values, indent="      ", width=96):
    lines, line = [], indent
    for v in values:
        item = str(v) + ","
        if len(line) + len(item) + 1 > width:
            lines.append(line.rstrip())
            line = indent
        line += item + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="header to write")
    args = parser.parse_args()
    if monai.__version__ != EXPECTED_MONAI:
        print(f"warning: MONAI {monai.__version__}, the checked-in header is from "
              f"{EXPECTED_MONAI}", file=sys.stderr)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # MONAI warns about every empty class, on purpose here

    cases = [case_aniso_blobs(), case_pred_misses_class(), case_ref_lacks_class(), case_boxes(),
             case_noisy_field()]
    w_lines = []
    w = w_lines.append
    w(f"// Generated by scripts/reference/monai_metrics_reference.py from MONAI {monai.__version__}"
      "; do not edit.")
    w(f"// Command (repository root): {COMMAND}")
    w(f"// (torch {torch.__version__.split('+')[0]}, numpy {np.__version__}; MONAI's DiceMetric, "
      "HausdorffDistanceMetric(percentile=95),")
    w("// SurfaceDistanceMetric(symmetric=True), reduction \"none\", one-hot (x, y, z) inputs, "
      "spacing (sx, sy, sz).)")
    w("#pragma once")
    w("#include <cstdint>\n#include <limits>\n#include <vector>\n")
    w("namespace seg::test::monai_metrics {\n")
    w("constexpr double kNan = std::numeric_limits<double>::quiet_NaN();")
    w("constexpr double kInf = std::numeric_limits<double>::infinity();\n")
    w("// MONAI's values for one class (channel) of a case; include_background=True, so class 0"
      "\n// is the background channel. float32 in MONAI, printed exactly.")
    w("struct ClassValues {\n  int classIndex;\n"
      "  double dice;           // DiceMetric(ignore_empty=True): NaN when the reference is empty\n"
      "  double diceKeepEmpty;  // DiceMetric(ignore_empty=False): 1 both empty, 0 ref empty\n"
      "  double hd95;           // HausdorffDistanceMetric(percentile=95), spacing\n"
      "  double hd;             // HausdorffDistanceMetric() (maximum), spacing\n"
      "  double assd;           // SurfaceDistanceMetric(symmetric=True), spacing\n};")
    w("struct Case {\n  const char* name;\n  int64_t size[3];     // x, y, z\n"
      "  double spacing[3];   // mm, x, y, z\n  int numClasses;      // background included\n"
      "  std::vector<uint32_t> refRle, predRle;  // (value, run length) pairs, x fastest\n"
      "  std::vector<ClassValues> classes;       // 0 .. numClasses-1\n"
      "  double meanDiceWithBackground;  // DiceMetric(include_background=True, reduction=\"mean\")\n"
      "  double meanDiceForeground;      // DiceMetric(include_background=False, reduction=\"mean\")\n"
      "};\n")
    w("inline const std::vector<Case> kCases = {")
    for case in cases:
        v = monai_values(case)
        v_zyx = monai_values(case, xyz_order=False)
        for key in ("hd95", "hd", "assd"):
            a, b = v[key].double(), v_zyx[key].double()
            assert torch.allclose(torch.nan_to_num(a, 7.0, 1e30), torch.nan_to_num(b, 7.0, 1e30),
                                  rtol=1e-6, atol=1e-6), (case["name"], key, a, b)
        nz, ny, nx = case["ref"].shape
        sx, sy, sz = case["spacing"]
        w(f"  {{\"{case['name']}\", {{{nx}, {ny}, {nz}}}, {{{num(sx)}, {num(sy)}, {num(sz)}}}, "
          f"{case['num_classes']},")
        w("    {\n" + wrap(rle(case["ref"])) + "\n    },")
        w("    {\n" + wrap(rle(case["pred"])) + "\n    },")
        w("    {")
        for c in range(case["num_classes"]):
            w("      {%d, %s, %s, %s, %s, %s}," % (
                c, num(v[("dice", True)][c]), num(v[("dice", False)][c]), num(v["hd95"][c]),
                num(v["hd"][c]), num(v["assd"][c])))
        w("    },")
        w(f"    {num(v[('mean_dice', True)])}, {num(v[('mean_dice', False)])}}},")
        print(case["name"], "dice", v[("dice", True)].tolist(), "hd95", v["hd95"].tolist(),
              "assd", v["assd"].tolist(), file=sys.stderr)
    w("};\n")
    w("}  // namespace seg::test::monai_metrics")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(w_lines) + "\n")
    print("wrote", args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
