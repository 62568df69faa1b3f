#!/usr/bin/env python3
"""Golden values for src/metrics (overlap, surface distances, connected components, lesion
matching with any-overlap / IoU / the BraTS 2023 preset, size bins).

An independent reference: numpy for the overlap counts, scipy.ndimage.label with
generate_binary_structure(3, 1|2|3) for 6/18/26-connected components, and
scipy.ndimage.distance_transform_edt for surface distances (the C++ side uses ITK's
SignedMaurerDistanceMapImageFilter). It builds a few
deterministic random label volumes (seeded numpy RNG) and writes them, run-length encoded,
with the expected numbers into tests/unit/metrics/MetricsGolden.h.

Conventions matched (design.md section 7): lesions are components of ref == c; a lesion is
detected when any voxel predicted as c overlaps it; its Dice is with the union of the
predicted components (of pred == c) that overlap it; a predicted component overlapping no
reference lesion of c is a false positive; volume = voxels * voxel volume; bin = largest i
with bins[i] <= volume. Component ids are ordered by first voxel in raster (z, y, x) order.

Surface distances (docs/evaluation.md): surface = mask XOR binary_erosion(mask) with the
default cross and border_value 0 (MONAI get_mask_edges); directed distances from one
surface to the other with distance_transform_edt(~surface, sampling=spacing); HD95 = max
of the two directed numpy.percentile(., 95) (linear); ASSD = mean of both sets together.
Both empty -> NaN (EmptyRule::Nan), one empty -> inf.

IoU matching: a predicted component matches a lesion when their IoU >= t; lesion Dice is
with the union of its matched components; unmatched components are false positives.

BraTS 2023 preset, written after rachitsaluja/BraTS-2023-Metrics (get_lesion_wise_score,
BraTS-GLI parameters): the class mask is dilated 3 times with generate_binary_structure(3,
2); 26-components of the dilation group the 26-components of the reference into lesions;
each lesion is dilated again (3 iterations) and every 26-component of the prediction
meeting it is matched; lesion Dice is with the union of those; components matched by no
lesion are false positives; lesions with volume <= 50 mm^3 are not scored; lesion-wise
Dice = sum of scored lesion Dice / (scored lesions + false positives).

Run: ~/.venvs/segtrain/bin/python scripts/reference/metrics_reference.py   (from the repository root)
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
IOU_THRESHOLDS = [0.5, 0.1]
BRATS_DILATION = 3
BRATS_MIN_VOLUME = 50.0
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
        hd95, assd = surface_distances(p, r)
        rows.append(dict(c=c, tp=tp, fp=fp, fn=fn, ref=int(r.sum()), pred=int(p.sum()),
                         dice=dice, iou=iou, hd95=hd95, assd=assd))
    return rows


def surface(mask):
    return mask & ~ndimage.binary_erosion(mask, border_value=0)


def surface_distances(pred, ref):
    sp, sr = surface(pred), surface(ref)
    if not sp.any() and not sr.any():
        return math.nan, math.nan
    if not sp.any() or not sr.any():
        return math.inf, math.inf
    sampling = (SPACING[2], SPACING[1], SPACING[0])     # numpy axis order z, y, x
    d_pred_ref = ndimage.distance_transform_edt(~sr, sampling=sampling)[sp]
    d_ref_pred = ndimage.distance_transform_edt(~sp, sampling=sampling)[sr]
    hd95 = max(np.percentile(d_pred_ref, 95), np.percentile(d_ref_pred, 95))
    assd = float(np.mean(np.concatenate([d_pred_ref, d_ref_pred])))
    return float(hd95), assd


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


def match_iou(ref, pred, threshold):
    """26-connected lesions, pairwise IoU >= threshold."""
    lesions, fps = [], [0] * NUM_CLASSES
    for c in range(1, NUM_CLASSES):
        rlab, nr = ordered_label(ref == c, 3)
        plab, npred = ordered_label(pred == c, 3)
        matched_any = set()
        for j in range(1, nr + 1):
            mask = rlab == j
            matched = []
            for p in np.unique(plab[mask]):
                if p == 0:
                    continue
                comp = plab == p
                iou = np.sum(mask & comp) / np.sum(mask | comp)
                if iou >= threshold:
                    matched.append(int(p))
            matched_any.update(matched)
            union = np.isin(plab, matched)
            inter = int(np.sum(mask & union))
            lesions.append(dict(c=c, id=j, voxels=int(mask.sum()), matched=len(matched),
                                detected=bool(matched),
                                dice=2 * inter / (int(mask.sum()) + int(union.sum())),
                                iou=inter / int(np.sum(mask | union))))
        fps[c] = npred - len(matched_any)
    return dict(threshold=threshold, lesions=lesions, fps=fps)


def match_brats(ref, pred):
    struct18 = ndimage.generate_binary_structure(3, 2)
    struct26 = ndimage.generate_binary_structure(3, 3)
    lesions, fps, lwd = [], [0] * NUM_CLASSES, [0.0] * NUM_CLASSES
    for c in range(1, NUM_CLASSES):
        gt = ref == c
        dil_lab, nd = ndimage.label(
            ndimage.binary_dilation(gt, structure=struct18, iterations=BRATS_DILATION), struct26)
        # Group ids renumbered by each group's first reference voxel in raster order.
        grouped = np.where(gt, dil_lab, 0)
        flat = grouped.ravel()
        values, first = np.unique(flat, return_index=True)
        order = [v for _, v in sorted((f, v) for v, f in zip(values, first) if v != 0)]
        plab, npred = ndimage.label(pred == c, struct26)
        matched_any = set()
        scored_dice, scored = 0.0, 0
        for new_id, g in enumerate(order, start=1):
            lesion = grouped == g
            region = ndimage.binary_dilation(lesion, structure=struct18, iterations=BRATS_DILATION)
            hit = np.unique(plab[region])
            hit = [int(h) for h in hit if h != 0]
            matched_any.update(hit)
            union = np.isin(plab, hit)
            inter = int(np.sum(lesion & union))
            voxels = int(lesion.sum())
            volume = voxels * voxel_volume()
            dice = 2 * inter / (voxels + int(union.sum()))
            counted = volume > BRATS_MIN_VOLUME
            if counted:
                scored_dice += dice
                scored += 1
            lesions.append(dict(c=c, id=new_id, voxels=voxels, matched=len(hit),
                                detected=bool(hit), counted=counted, dice=dice))
        fps[c] = npred - len(matched_any)
        denom = scored + fps[c]
        lwd[c] = scored_dice / denom if denom else math.nan
    return dict(lesions=lesions, fps=fps, lesion_wise_dice=lwd)


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
                          matches=[match(ref, pred, conn) for conn in CONNECTIVITIES],
                          iou=[match_iou(ref, pred, t) for t in IOU_THRESHOLDS],
                          brats=match_brats(ref, pred)))

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
      "  double dice, iou;  // EmptyRule::Nan\n  double hd95, assdMm;  // mm; NaN both empty, inf one empty\n};")
    w("struct LesionRow {\n  int classIndex, id;\n  int64_t firstVoxel, voxels;\n"
      "  double volumeMm3;\n  int bin;\n  bool detected;\n  double dice;\n};")
    w("struct Matching {\n  int connectivity;\n"
      "  std::vector<int> refComponents, predComponents;  // per class index, [0] unused\n"
      "  std::vector<LesionRow> lesions;\n  std::vector<int64_t> falsePositives;\n};")
    w("struct MatchedLesion {\n  int classIndex, id;\n  int64_t voxels;\n  int matched;\n"
      "  bool detected, counted;\n  double dice, iou;  // iou only for IoU matching\n};")
    w("struct IouMatching {\n  double threshold;  // 26-connected lesions\n"
      "  std::vector<MatchedLesion> lesions;\n  std::vector<int64_t> falsePositives;\n};")
    w("struct BratsMatching {\n  std::vector<MatchedLesion> lesions;\n"
      "  std::vector<int64_t> falsePositives;\n"
      "  std::vector<double> lesionWiseDice;  // per class index, [0] unused\n};")
    w("struct Case {\n  const char* name;\n"
      "  std::vector<uint32_t> refRle, predRle;  // (value, run length) pairs, x fastest\n"
      "  std::vector<Overlap> overlap;\n  std::vector<Matching> matching;  // 6, 18, 26\n"
      "  std::vector<IouMatching> iou;\n  BratsMatching brats;\n};")
    w("struct BinRow {\n  int connectivity, classIndex;\n  double lowMm3, highMm3;\n"
      "  int64_t lesions, detected;\n  double sensitivity, meanDice;\n};\n")
    w("inline constexpr int64_t kSize[3] = {%d, %d, %d};  // x, y, z"
      % (SHAPE[2], SHAPE[1], SHAPE[0]))
    w("inline constexpr double kSpacing[3] = {%s, %s, %s};" % tuple(map(num, SPACING)))
    w("inline constexpr int kNumClasses = %d;" % NUM_CLASSES)
    w("inline const std::vector<double> kSizeBinsMm3 = {%s};" % ", ".join(map(num, SIZE_BINS)))
    w("inline constexpr int kBratsDilation = %d;" % BRATS_DILATION)
    w("inline constexpr double kBratsMinVolumeMm3 = %s;\n" % num(BRATS_MIN_VOLUME))
    w("inline const std::vector<Case> kCases = {")
    for cs in cases:
        w("  {\"%s\"," % cs["name"])
        w("    {\n" + wrap(rle(cs["ref"])) + "\n    },")
        w("    {\n" + wrap(rle(cs["pred"])) + "\n    },")
        w("    {")
        for o in cs["overlap"]:
            w("      {%d, %d, %d, %d, %d, %d, %s, %s, %s, %s}," % (
                o["c"], o["tp"], o["fp"], o["fn"], o["ref"], o["pred"], num(o["dice"]),
                num(o["iou"]), num(o["hd95"]), num(o["assd"])))
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
        w("    },")

        def matched_rows(lesions, indent):
            for l in lesions:
                w(indent + "{%d, %d, %d, %d, %s, %s, %s, %s}," % (
                    l["c"], l["id"], l["voxels"], l["matched"],
                    "true" if l["detected"] else "false",
                    "true" if l.get("counted", True) else "false", num(l["dice"]),
                    num(l.get("iou", math.nan))))
        w("    {")
        for m in cs["iou"]:
            w("      {%s, {" % num(m["threshold"]))
            matched_rows(m["lesions"], "        ")
            w("      }, {%s}}," % ", ".join(map(str, m["fps"])))
        w("    },")
        b = cs["brats"]
        w("    {{")
        matched_rows(b["lesions"], "      ")
        w("    }, {%s}, {%s}}}," % (", ".join(map(str, b["fps"])),
                                  ", ".join(map(num, b["lesion_wise_dice"]))))
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
