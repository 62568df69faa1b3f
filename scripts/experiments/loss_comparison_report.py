#!/usr/bin/env python3
"""Table and chart of the loss comparison (scripts/experiments/loss_comparison.sh).

Reads segeval's metrics.json of every run (EVAL/<loss>/seed<k>/metrics.json) and writes
  runs.csv     one row per loss, seed, class and size bin (plus an "all" row): the raw numbers
  results.csv  per loss, class and size bin: mean and sample standard deviation over seeds
  results.md   the same as a markdown table, with the setup it came from
  results.svg  grouped bars with +-1 SD error bars; plain SVG, standard library only
Sensitivity = detected / reference lesions of the bin (any-overlap matching); lesion Dice =
mean over the bin's reference lesions of the Dice with the matching predicted components
(missed lesions count 0); Dice = mean over cases of the voxel Dice; FP per case = predicted
components overlapping no reference lesion, per case.
"""
import argparse
import csv
import json
import math
import os
import statistics
import sys
from xml.sax.saxutils import escape

COLOURS = ["#7f7f7f", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def finite(v):
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def mean_sd(values):
    vals = [v for v in values if finite(v)]
    if not vals:
        return float("nan"), float("nan"), 0
    sd = statistics.stdev(vals) if len(vals) > 1 else float("nan")
    return statistics.fmean(vals), sd, len(vals)


def fmt(v, digits=3):
    return "" if not finite(v) else f"{v:.{digits}f}"


def pm(m, sd, digits=2):
    if not finite(m):
        return "n/a"
    return f"{m:.{digits}f} ± {sd:.{digits}f}" if finite(sd) else f"{m:.{digits}f}"


def load_runs(eval_dir, losses):
    runs = {}  # loss -> seed -> metrics
    for loss in losses:
        d = os.path.join(eval_dir, loss)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name, "metrics.json")
            if name.startswith("seed") and os.path.isfile(path):
                with open(path) as f:
                    runs.setdefault(loss, {})[int(name[4:])] = json.load(f)
    return runs


def rows_of(metrics):
    """(class, bin, lesions, detected, sensitivity, lesion_dice, dice, fp_per_case) per bin and 'all'."""
    out = []
    for cls in metrics["classes"]:
        c = cls["class"]
        total = detected = 0
        dice_sum = 0.0
        for b in metrics["size_bins"]:
            if b["class"] != c:
                continue
            n = b["lesions"]
            total += n
            detected += b["detected"]
            if n and finite(b["mean_lesion_dice"]):
                dice_sum += b["mean_lesion_dice"] * n
            out.append((c, b["bin"], n, b["detected"], b["sensitivity"], b["mean_lesion_dice"], None, None))
        out.append((c, "all", total, detected, detected / total if total else None,
                    dice_sum / total if total else None, cls["mean_dice"], cls["fp_per_case"]))
    return out


def write_svg(path, losses, bins, summary, title):
    """Four panels: sensitivity and lesion Dice per size bin, overall Dice and FP per case per loss."""
    w, ph, top, left = 980, 250, 60, 60
    pw = (w - 3 * left) // 2
    h = top + 2 * (ph + 80) + 30
    s = [f'<?xml version="1.0" encoding="UTF-8"?>',
         f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{left}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>']
    # Legend
    for i, loss in enumerate(losses):
        x = left + i * 110
        s.append(f'<rect x="{x}" y="34" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>'
                 f'<text x="{x + 16}" y="44">{escape(loss)}</text>')
    s.append(f'<text x="{left + len(losses) * 110}" y="44" fill="#555">bars: mean over seeds; whiskers: ±1 SD</text>')

    def panel(x0, y0, title, groups, value_key, ymax=None, fixed_unit=False):
        # groups: list of (label, {loss: (mean, sd)})
        vals = [m + (sd if finite(sd) else 0) for _, g in groups for (m, sd) in g.values() if finite(m)]
        top_v = 1.0 if fixed_unit else max(vals + [1e-9]) * 1.1
        if ymax:
            top_v = ymax
        s.append(f'<g id="panel-{value_key}">')
        s.append(f'<text x="{x0}" y="{y0 - 10}" font-size="13" font-weight="bold">{escape(title)}</text>')
        s.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
        for k in range(6):
            v = top_v * k / 5
            y = y0 + ph - ph * k / 5
            s.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                     f'<text x="{x0 - 5}" y="{y + 4:.1f}" text-anchor="end">{v:.2f}</text>')
        gw = pw / max(1, len(groups))
        bw = gw * 0.8 / max(1, len(losses))
        for gi, (label, g) in enumerate(groups):
            gx = x0 + gi * gw + gw * 0.1
            s.append(f'<text x="{x0 + gi * gw + gw / 2:.1f}" y="{y0 + ph + 16}" text-anchor="middle">{escape(label)}</text>')
            for li, loss in enumerate(losses):
                m, sd = g.get(loss, (float("nan"), float("nan")))
                bx = gx + li * bw
                if not finite(m):
                    s.append(f'<text x="{bx + bw / 2:.1f}" y="{y0 + ph - 4}" text-anchor="middle" fill="#999">–</text>')
                    continue
                bh = ph * min(m, top_v) / top_v
                s.append(f'<rect class="bar" data-loss="{escape(loss)}" data-group="{escape(label)}" '
                         f'data-value="{m:.4f}" x="{bx:.1f}" y="{y0 + ph - bh:.1f}" width="{bw * 0.9:.1f}" '
                         f'height="{bh:.1f}" fill="{COLOURS[li % len(COLOURS)]}"/>')
                if finite(sd):
                    cx = bx + bw * 0.45
                    lo = y0 + ph - ph * max(0.0, m - sd) / top_v
                    hi = y0 + ph - ph * min(top_v, m + sd) / top_v
                    s.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}" stroke="black"/>')
        s.append('</g>')

    def groups_for(key, cls):
        groups = []
        for b, n in bins[cls]:
            g = {loss: (summary[(loss, cls, b)][key + "_mean"], summary[(loss, cls, b)][key + "_sd"])
                 for loss in losses if (loss, cls, b) in summary}
            groups.append((f"{b} mm³ (n={n})", g))
        return groups

    classes = sorted(bins)
    cls = classes[0]
    suffix = f" (class {cls})" if len(classes) > 1 else ""
    y1 = top + 40
    y2 = y1 + ph + 80
    panel(left, y1, "Lesion sensitivity by lesion size" + suffix, groups_for("sensitivity", cls), "sensitivity",
          fixed_unit=True)
    panel(2 * left + pw, y1, "Mean lesion Dice by lesion size" + suffix, groups_for("lesion_dice", cls), "lesion_dice",
          fixed_unit=True)
    overall = {loss: (summary[(loss, cls, "all")]["dice_mean"], summary[(loss, cls, "all")]["dice_sd"])
               for loss in losses if (loss, cls, "all") in summary}
    fp = {loss: (summary[(loss, cls, "all")]["fp_per_case_mean"], summary[(loss, cls, "all")]["fp_per_case_sd"])
          for loss in losses if (loss, cls, "all") in summary}
    panel(left, y2, "Voxel Dice per case (mean over cases)" + suffix, [("all cases", overall)], "dice", fixed_unit=True)
    panel(2 * left + pw, y2, "False-positive components per case" + suffix, [("all cases", fp)], "fp_per_case")
    s.append("</svg>")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(s) + "\n")
    os.replace(path + ".tmp", path)


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", required=True, help="folder holding <loss>/seed<k>/metrics.json")
    ap.add_argument("--losses", default="ce dice dice_ce gdl")
    ap.add_argument("--setup", help="setup.txt written by the script (quoted in results.md)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    losses = a.losses.split()
    runs = load_runs(a.eval, losses)
    if not runs:
        sys.exit(f"loss_comparison_report: no {a.eval}/<loss>/seed<k>/metrics.json found")
    losses = [l for l in losses if l in runs]

    raw = []
    bins = {}  # class -> [(bin, lesions)]
    for loss in losses:
        for seed, m in sorted(runs[loss].items()):
            for (c, b, n, det, sens, ldice, dice, fp) in rows_of(m):
                raw.append(dict(loss=loss, seed=seed, cls=c, bin=b, lesions=n, detected=det, sensitivity=sens,
                                lesion_dice=ldice, dice=dice, fp_per_case=fp))
                if b != "all":
                    known = bins.setdefault(c, [])
                    if b not in [x for x, _ in known]:
                        known.append((b, n))
    with open(os.path.join(a.out, "runs.csv.tmp"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["loss", "seed", "class", "size_bin", "lesions", "detected", "sensitivity", "lesion_dice", "dice",
                     "fp_per_case"])
        for r in raw:
            wr.writerow([r["loss"], r["seed"], r["cls"], r["bin"], r["lesions"], r["detected"], fmt(r["sensitivity"], 4),
                         fmt(r["lesion_dice"], 4), fmt(r["dice"], 4), fmt(r["fp_per_case"], 3)])
    os.replace(os.path.join(a.out, "runs.csv.tmp"), os.path.join(a.out, "runs.csv"))

    summary = {}
    keys = ["sensitivity", "lesion_dice", "dice", "fp_per_case"]
    for loss in losses:
        for c in sorted(bins):
            for b in [x for x, _ in bins[c]] + ["all"]:
                rs = [r for r in raw if r["loss"] == loss and r["cls"] == c and r["bin"] == b]
                if not rs:
                    continue
                e = dict(seeds=len(rs), lesions=rs[0]["lesions"])
                for k in keys:
                    e[k + "_mean"], e[k + "_sd"], _ = mean_sd([r[k] for r in rs])
                summary[(loss, c, b)] = e

    with open(os.path.join(a.out, "results.csv.tmp"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["loss", "seeds", "class", "size_bin", "lesions"] +
                    [k + s for k in keys for s in ("_mean", "_sd")])
        for (loss, c, b), e in summary.items():
            wr.writerow([loss, e["seeds"], c, b, e["lesions"]] + [fmt(e[k + s], 4) for k in keys for s in ("_mean", "_sd")])
    os.replace(os.path.join(a.out, "results.csv.tmp"), os.path.join(a.out, "results.csv"))

    md = ["# Loss comparison", ""]
    if a.setup and os.path.isfile(a.setup):
        md += ["```", open(a.setup).read().rstrip(), "```", ""]
    seeds = sorted({r["seed"] for r in raw})
    md += [f"Mean ± sample SD over seeds {', '.join(map(str, seeds))} (per loss: "
           + ", ".join(f"{l} {len(runs[l])}" for l in losses) + " seeds finished). "
           "Sensitivity: share of reference lesions touched by the prediction; lesion Dice: mean over the bin's "
           "lesions, missed ones count 0; Dice: voxel Dice per case, mean over cases; FP/case: predicted "
           "components touching no reference lesion.", ""]
    for c in sorted(bins):
        if len(bins) > 1:
            md += [f"## Class {c}", ""]
        head = ["loss"]
        for b, n in bins[c]:
            head += [f"sens. {b} mm³ (n={n})", f"lesion Dice {b}"]
        total = sum(n for _, n in bins[c])
        head += [f"sens. all (n={total})", "lesion Dice all", "Dice", "FP/case"]
        md += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for loss in losses:
            cells = [loss]
            for b, _ in bins[c] + [("all", 0)]:
                e = summary.get((loss, c, b))
                cells += [pm(e["sensitivity_mean"], e["sensitivity_sd"]), pm(e["lesion_dice_mean"], e["lesion_dice_sd"])] \
                    if e else ["n/a", "n/a"]
            e = summary.get((loss, c, "all"))
            cells += [pm(e["dice_mean"], e["dice_sd"]), pm(e["fp_per_case_mean"], e["fp_per_case_sd"], 1)] if e else ["n/a"] * 2
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    write_atomic(os.path.join(a.out, "results.md"), "\n".join(md))
    write_svg(os.path.join(a.out, "results.svg"), losses, bins, summary,
              f"Loss comparison on held-out cases ({len(seeds)} seeds)")


if __name__ == "__main__":
    main()
