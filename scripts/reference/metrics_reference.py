#!/usr/bin/python3
"""Golden values for src/metrics (overlap, connected components, lesion matching, size bins).

An independent reference: numpy for the overlap counts and scipy.ndimage.label with
generate_binary_structure(3, 1|2|3) for 6/18/26-connected components. It builds a few
deterministic random label volumes (seeded numpy RNG) and writes them, run-length encoded,
with the expected numbers into tests/unit/metrics/MetricsGolden.h.

Conventions matched (design.md section 7): lesions are components of ref == c; a lesion is
detected when any voxel predicted as c overlaps it; its Dice is with the union of the
predicted components (of pred == c) that overlap it; a predicted component overlapping no
reference lesion of c is a false positive; volume = voxels * voxel volume; bin = largest i
with bins[i] <= volume. Component ids are ordered by first voxel in raster (z, y, x) order.

Run: /usr/bin/python3 scripts/reference/metrics_reference.py   (from the repository root)
"""
import math
import os
import sys

import numpy as np
from scipy import ndimage

SHAPE = (28, 36, 40)            # numpy (z, y, x); the C++ size is (x, y, z) = (40, 36, 28)
SPACING = (0.8, 1.0, 2.5)       # mm, x y z (C++ order)
NUM_CLASSES = 3
SIZE_BINS = [0.0, 10.0, 100.0, 1000.0]
CONNECTIVITIES = {6: 1, 18: 2, 26: 3}   # connectivity -> generate_binary_structure rank
SEEDS = [11, 23, 37]
OUT = os.path.join("tests", "unit", "metrics", "MetricsGolden.h")


def voxel_volume():
    # Same multiplication order as ImageGeometry::voxelVolume().
    return SPACING[0] * SPACING[1] * SPACING[2]


def ellipsoid(shape, centre, radii_mm):
    z, y, x = np.indices(shape)
    cz, cy, cx = centre
    rx, ry, rz = radii_mm
    d = (((x - cx) * SPACING[0] / rx) ** 2 + ((y - cy) * SPACING[1] / ry) ** 2 +
         ((z - cz) * SPACING[2] / rz) ** 2)
    return d <= 1.0


def chain(shape, start, step, length):
    """Voxels start + k*step: with an edge step (two non-zero components) they are one
    component under 18/26 but `length` under 6; with a corner step only 26 joins them."""
    mask = np.zeros(shape, bool)
    p = np.array(start)
    for _ in range(length):
        if all(0 <= p[i] < shape[i] for i in range(3)):
            mask[tuple(p)] = True
        p = p + np.array(step)
    return mask


def make_reference(rng, classes):
    ref = np.zeros(SHAPE, np.uint8)
    n_blobs = rng.integers(9, 13)
    for _ in range(n_blobs):
        c = rng.choice(classes)
        kind = rng.random()
        if kind < 0.2:
            radii = rng.uniform(0.4, 1.4, 3)     # one to a few voxels: bin 0
        elif kind < 0.5:
            radii = rng.uniform(1.5, 3.0, 3)     # bin 1 (10-100 mm^3)
        elif kind < 0.8:
            radii = rng.uniform(3.0, 6.0, 3)     # bin 2
        else:
            radii = rng.uniform(6.0, 10.0, 3)    # bin 3
        centre = [rng.integers(0, s) for s in SHAPE]
        ref[ellipsoid(SHAPE, centre, radii)] = c
    for step in [(0, 1, 1), (1, 0, 1), (1, 1, 1), (-1, 1, 1)]:
        start = [rng.integers(2, s - 6) for s in SHAPE]
        ref[chain(SHAPE, start, step, int(rng.integers(2, 7)))] = rng.choice(classes)
    return ref


def make_prediction(rng, ref, classes):
    pred = ref.copy()
    structure = ndimage.generate_binary_structure(3, 3)
    for c in classes:
        lab, n = ndimage.label(ref == c, structure)
        for j in range(1, n + 1):
            mask = lab == j
            action = rng.random()
            if action < 0.2:                       # missed lesion
                pred[mask & (pred == c)] = 0
            elif action < 0.4:                     # shifted by one or two voxels
                pred[mask & (pred == c)] = 0
                axis = int(rng.integers(0, 3))
                shifted = np.roll(mask, int(rng.choice([-2, -1, 1, 2])), axis=axis)
                pred[shifted] = c
            elif action < 0.55:                    # over-segmented
                pred[ndimage.binary_dilation(mask)] = c
            elif action < 0.7:                     # under-segmented (may vanish)
                eroded = ndimage.binary_erosion(mask)
                pred[mask & ~eroded] = 0
            elif action < 0.78 and len(classes) > 1:  # right place, wrong class
                pred[mask] = classes[0] if c != classes[0] else classes[-1]
    for _ in range(int(rng.integers(2, 5))):       # false-positive blobs
        centre = [rng.integers(0, s) for s in SHAPE]
        pred[ellipsoid(SHAPE, centre, rng.uniform(0.5, 3.5, 3))] = rng.choice(classes)
    noise = rng.random(SHAPE) < 0.0005             # salt: single-voxel FPs and holes
    pred[noise] = rng.choice(np.array([0] + list(classes), np.uint8), size=int(noise.sum()))
    return pred


def ordered_label(mask, rank):
    """scipy labels, renumbered 1..n by each component's first voxel in raster order."""
    lab, n = ndimage.label(mask, ndimage.generate_binary_structure(3, rank))
    flat = lab.ravel()
    values, first = np.unique(flat, return_index=True)
    order = [v for _, v in sorted((f, v) for v, f in zip(values, first) if v != 0)]
    remap = np.zeros(n + 1, np.int64)
    for new_id, old in enumerate(order, start=1):
        remap[old] = new_id
    return remap[lab], n


def overlap(ref, pred):
    rows = []
    for c in range(1, NUM_CLASSES):
        r, p = ref == c, pred == c
        tp = int(np.sum(r & p))
        fp = int(np.sum(~r & p))
        fn = int(np.sum(r & ~p))
        if r.sum() == 0 and p.sum() == 0:
            dice = iou = math.nan              # EmptyRule::Nan
        else:
            dice = 2 * tp / (2 * tp + fp + fn)
            iou = tp / (tp + fp + fn)
        rows.append(dict(c=c, tp=tp, fp=fp, fn=fn, ref=int(r.sum()), pred=int(p.sum()),
                         dice=dice, iou=iou))
    return rows


def match(ref, pred, connectivity):
    rank = CONNECTIVITIES[connectivity]
    lesions, fps, ref_counts, pred_counts = [], [0] * NUM_CLASSES, [0], [0]
    for c in range(1, NUM_CLASSES):
        rlab, nr = ordered_label(ref == c, rank)
        plab, npred = ordered_label(pred == c, rank)
        ref_counts.append(nr)
        pred_counts.append(npred)
        flat_r = rlab.ravel()
        for j in range(1, nr + 1):
            mask = rlab == j
            hit = np.unique(plab[mask])
            hit = hit[hit != 0]
            union = np.isin(plab, hit)
            inter = int(np.sum(mask & union))
            voxels = int(mask.sum())
            volume = voxels * voxel_volume()
            lesions.append(dict(
                c=c, id=j, first=int(np.argmax(flat_r == j)), voxels=voxels, volume=volume,
                bin=int(np.searchsorted(SIZE_BINS, volume, side="right")) - 1,
                detected=bool(np.any(pred[mask] == c)),
                dice=2 * inter / (voxels + int(union.sum()))))
        touched = set(np.unique(plab[rlab > 0]).tolist()) - {0}
        fps[c] = npred - len(touched)
    return dict(conn=connectivity, ref_counts=ref_counts, pred_counts=pred_counts,
                lesions=lesions, fps=fps)


def aggregate(all_lesions, connectivity):
    rows = []
    for c in range(1, NUM_CLASSES):
        for b, low in enumerate(SIZE_BINS):
            high = SIZE_BINS[b + 1] if b + 1 < len(SIZE_BINS) else math.inf
            sel = [l for l in all_lesions if l["c"] == c and l["bin"] == b]
            det = sum(l["detected"] for l in sel)
            sens = det / len(sel) if sel else math.nan
            mean = float(np.mean([l["dice"] for l in sel])) if sel else math.nan
            rows.append(dict(conn=connectivity, c=c, low=low, high=high, n=len(sel), det=det,
                             sens=sens, mean=mean))
    return rows


def rle(volume):
    flat = volume.ravel()     # C order of (z, y, x) = x fastest, the C++ buffer order
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    out = []
    for s, n in zip(starts, lengths):
        out += [int(flat[s]), int(n)]
    return out


def num(x):
    if isinstance(x, float) and math.isnan(x):
        return "kNan"
    if isinstance(x, float) and math.isinf(x):
        return "kInf"
    return repr(float(x))


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
    cases = []
    for k, seed in enumerate(SEEDS):
        rng = np.random.default_rng(seed)
        classes = [1, 2] if k < 2 else [1]       # the last case has class 2 empty in both
        ref = make_reference(rng, classes)
        pred = make_prediction(rng, ref, classes)
        cases.append(dict(name=f"golden_{seed}", ref=ref, pred=pred, overlap=overlap(ref, pred),
                          matches=[match(ref, pred, conn) for conn in CONNECTIVITIES]))

    bins = []
    for conn in CONNECTIVITIES:
        all_lesions = [l for cs in cases for m in cs["matches"] if m["conn"] == conn
                       for l in m["lesions"]]
        bins += aggregate(all_lesions, conn)

    out = []
    w = out.append
    w("// generated by scripts/reference/metrics_reference.py; do not edit")
    w("// (numpy + scipy.ndimage.label with generate_binary_structure; seeds "
      + ", ".join(map(str, SEEDS)) + ")")
    w("#pragma once")
    w("#include <cstdint>\n#include <limits>\n#include <vector>\n")
    w("namespace seg::test::golden {\n")
    w("constexpr double kNan = std::numeric_limits<double>::quiet_NaN();")
    w("constexpr double kInf = std::numeric_limits<double>::infinity();\n")
    w("struct Overlap {\n  int classIndex;\n  int64_t tp, fp, fn, refVoxels, predVoxels;\n"
      "  double dice, iou;  // EmptyRule::Nan\n};")
    w("struct LesionRow {\n  int classIndex, id;\n  int64_t firstVoxel, voxels;\n"
      "  double volumeMm3;\n  int bin;\n  bool detected;\n  double dice;\n};")
    w("struct Matching {\n  int connectivity;\n"
      "  std::vector<int> refComponents, predComponents;  // per class index, [0] unused\n"
      "  std::vector<LesionRow> lesions;\n  std::vector<int64_t> falsePositives;\n};")
    w("struct Case {\n  const char* name;\n"
      "  std::vector<uint32_t> refRle, predRle;  // (value, run length) pairs, x fastest\n"
      "  std::vector<Overlap> overlap;\n  std::vector<Matching> matching;  // 6, 18, 26\n};")
    w("struct BinRow {\n  int connectivity, classIndex;\n  double lowMm3, highMm3;\n"
      "  int64_t lesions, detected;\n  double sensitivity, meanDice;\n};\n")
    w("inline constexpr int64_t kSize[3] = {%d, %d, %d};  // x, y, z"
      % (SHAPE[2], SHAPE[1], SHAPE[0]))
    w("inline constexpr double kSpacing[3] = {%s, %s, %s};" % tuple(map(num, SPACING)))
    w("inline constexpr int kNumClasses = %d;" % NUM_CLASSES)
    w("inline const std::vector<double> kSizeBinsMm3 = {%s};\n"
      % ", ".join(map(num, SIZE_BINS)))
    w("inline const std::vector<Case> kCases = {")
    for cs in cases:
        w("  {\"%s\"," % cs["name"])
        w("    {\n" + wrap(rle(cs["ref"])) + "\n    },")
        w("    {\n" + wrap(rle(cs["pred"])) + "\n    },")
        w("    {")
        for o in cs["overlap"]:
            w("      {%d, %d, %d, %d, %d, %d, %s, %s}," % (
                o["c"], o["tp"], o["fp"], o["fn"], o["ref"], o["pred"], num(o["dice"]),
                num(o["iou"])))
        w("    },")
        w("    {")
        for m in cs["matches"]:
            w("      {%d, {%s}, {%s}, {" % (m["conn"], ", ".join(map(str, m["ref_counts"])),
                                          ", ".join(map(str, m["pred_counts"]))))
            for l in m["lesions"]:
                w("        {%d, %d, %d, %d, %s, %d, %s, %s}," % (
                    l["c"], l["id"], l["first"], l["voxels"], num(l["volume"]), l["bin"],
                    "true" if l["detected"] else "false", num(l["dice"])))
            w("      }, {%s}}," % ", ".join(map(str, m["fps"])))
        w("    }},")
    w("};\n")
    w("// Aggregated over all cases, per connectivity, class-major.")
    w("inline const std::vector<BinRow> kBins = {")
    for b in bins:
        w("  {%d, %d, %s, %s, %d, %d, %s, %s}," % (b["conn"], b["c"], num(b["low"]),
                                                    num(b["high"]), b["n"], b["det"],
                                                    num(b["sens"]), num(b["mean"])))
    w("};\n")
    w("}  // namespace seg::test::golden")

    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")

    for cs in cases:
        counts = {m["conn"]: (m["ref_counts"][1:], m["pred_counts"][1:], m["fps"][1:])
                  for m in cs["matches"]}
        print(cs["name"], "components ref/pred/fp per connectivity:", counts, file=sys.stderr)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
