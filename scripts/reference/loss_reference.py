#!/usr/bin/env python3
"""Reference values for the Dice-family losses (tests/unit/losses/LossGolden.h).

An independent implementation of MONAI's documented semantics (monai/losses/dice.py:
DiceLoss, DiceCELoss, GeneralizedDiceLoss) and of torch.nn.functional.cross_entropy /
binary_cross_entropy_with_logits (the ce baseline) in plain PyTorch (the venv's torch, scripts/requirements.txt),
written from the formulas, not from our C++ code. Inputs are generated from closed
formulas that the C++ test reproduces exactly:
  logits[i] = 2.5 * sin(0.37 * i + 0.11 * C)   (float64 -> float32, i = flat index)
  label[j]  = ((j * 2654435761 mod 2^32) >> 7) mod C, then class `absent` removed
              from sample 0 (set to 0) when absent >= 0.
Run: ~/.venvs/segtrain/bin/python scripts/reference/loss_reference.py > tests/unit/losses/LossGolden.h
"""
import math
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def make_inputs(b, c, spatial, absent):
    n = b * c * math.prod(spatial)
    i = torch.arange(n, dtype=torch.float64)
    logits = (2.5 * torch.sin(0.37 * i + 0.11 * c)).to(torch.float32).reshape(b, c, *spatial)
    m = b * math.prod(spatial)
    labels = torch.tensor([(((j * 2654435761) & 0xFFFFFFFF) >> 7) % max(c, 2) for j in range(m)])
    labels = labels.reshape(b, 1, *spatial)
    if absent >= 0:
        labels[0][labels[0] == absent] = 0
    return logits, labels


def probs_and_target(logits, labels, act):
    x = logits.double()
    c = x.shape[1]
    p = torch.sigmoid(x) if act == "sigmoid" else torch.softmax(x, 1)
    if c == 1:
        g = labels.double()
    else:
        g = F.one_hot(labels[:, 0].long(), c).movedim(-1, 1).double()
    return p, g


def dice(logits, labels, o):
    p, g = probs_and_target(logits, labels, o["act"])
    if not o["bg"] and p.shape[1] > 1:
        p, g = p[:, 1:], g[:, 1:]
    axes = list(range(2, p.dim()))
    if o["batch"]:
        axes = [0] + axes
    k = 2 if o["squared"] else 1
    tp = (p * g).sum(axes)
    sp = (p ** k).sum(axes)
    sg = (g ** k).sum(axes)
    den = sp + sg
    if o["jaccard"]:
        den = 2.0 * (den - tp)
    f = 1.0 - (2.0 * tp + 1e-5) / (den + 1e-5)
    if o["weights"] and f.shape[-1] != 1:  # MONAI ignores the weight of a single class
        w = torch.tensor(o["weights"])
        if not o["bg"] and logits.shape[1] > 1 and o["name"] == "dice_ce":
            w = w[1:]
        f = f * w
    return f.sum() if o["reduction"] == "sum" else f.mean()


def ce(logits, labels, o):
    x = logits.double()
    if x.shape[1] == 1:
        # MONAI DiceCELoss: the weight becomes BCEWithLogitsLoss's pos_weight.
        pw = torch.tensor(o["weights"]) if o["weights"] else None
        return F.binary_cross_entropy_with_logits(x, labels.double(), pos_weight=pw)
    w = torch.tensor(o["weights"]) if o["weights"] else None
    return F.cross_entropy(x, labels[:, 0].long(), weight=w)


def gdl(logits, labels, o):
    p, g = probs_and_target(logits, labels, o["act"])
    if not o["bg"] and p.shape[1] > 1:
        p, g = p[:, 1:], g[:, 1:]
    axes = list(range(2, p.dim()))
    if o["batch"]:
        axes = [0] + axes
    tp = (p * g).sum(axes)
    sg = g.sum(axes)
    sp = p.sum(axes)
    if o["w_type"] == "square":
        w = 1.0 / (sg * sg)
    elif o["w_type"] == "simple":
        w = 1.0 / sg
    else:
        w = torch.ones_like(sg)
    rows = [w] if w.dim() == 1 else list(w)
    fixed = []
    for row in rows:
        inf = torch.isinf(row)
        row = torch.where(inf, torch.zeros_like(row), row)
        row = row + inf.double() * row.max()
        fixed.append(row)
    w = fixed[0] if w.dim() == 1 else torch.stack(fixed)
    num = 2.0 * (tp * w).sum(-1) + 1e-5
    den = ((sp + sg) * w).sum(-1) + 1e-5
    return (1.0 - num / den).mean()


def loss(logits, labels, o):
    if o["name"] == "dice":
        return dice(logits, labels, o)
    if o["name"] == "dice_ce":
        return o["ld"] * dice(logits, labels, o) + o["lc"] * ce(logits, labels, o)
    if o["name"] == "ce":
        return ce(logits, labels, o)
    return gdl(logits, labels, o)


BASE = dict(name="dice", act="softmax", bg=True, squared=False, jaccard=False, batch=False,
            weights=[], reduction="mean", ld=1.0, lc=1.0, w_type="square")

CASES = [
    ("DiceDefault", 2, 3, (4, 5, 6), -1, {}),
    ("DiceNoBackground", 2, 3, (4, 5, 6), -1, dict(bg=False)),
    ("DiceSquaredPred", 2, 3, (4, 5, 6), -1, dict(squared=True)),
    ("DiceJaccard", 2, 3, (4, 5, 6), -1, dict(jaccard=True)),
    ("DiceBatch", 2, 3, (4, 5, 6), 2, dict(batch=True)),
    ("DiceSigmoidOneChannel", 2, 1, (4, 5, 6), -1, dict(act="sigmoid")),
    ("DiceSigmoidMultiLabel", 2, 3, (4, 5, 6), -1, dict(act="sigmoid")),
    ("DiceClassWeights", 2, 3, (4, 5, 6), -1, dict(weights=[0.2, 0.3, 0.5])),
    ("DiceSumReduction", 2, 3, (4, 5, 6), -1, dict(reduction="sum")),
    ("DiceAbsentClass", 2, 3, (4, 5, 6), 1, dict(bg=False)),
    ("DiceCEDefault", 2, 3, (4, 5, 6), -1, dict(name="dice_ce")),
    ("DiceCEWeightsNoBackground", 2, 3, (4, 5, 6), -1,
     dict(name="dice_ce", bg=False, weights=[0.5, 1.0, 2.0], ld=0.7, lc=1.3)),
    ("DiceCEOneChannel", 2, 1, (4, 5, 6), -1, dict(name="dice_ce", act="sigmoid")),
    ("DiceCEOneChannelPosWeight", 2, 1, (4, 5, 6), -1,
     dict(name="dice_ce", act="sigmoid", weights=[0.5])),
    ("DiceCESigmoidMultiLabelBatch", 2, 3, (4, 5, 6), 1,
     dict(name="dice_ce", act="sigmoid", batch=True, squared=True)),
    ("DiceJaccardNoBackgroundBatch", 2, 4, (3, 4, 5), 2, dict(bg=False, jaccard=True, batch=True)),
    ("CeDefault", 2, 3, (4, 5, 6), -1, dict(name="ce")),
    ("CeClassWeights", 2, 3, (4, 5, 6), 2, dict(name="ce", weights=[0.2, 0.3, 0.5])),
    ("CeFourClasses", 1, 4, (3, 4, 5), -1, dict(name="ce", weights=[1.0, 2.0, 0.0, 4.0])),
    ("CeOneChannel", 2, 1, (4, 5, 6), -1, dict(name="ce", act="sigmoid")),
    ("CeOneChannelPosWeight", 2, 1, (4, 5, 6), -1, dict(name="ce", act="sigmoid", weights=[3.0])),
    ("GdlSquareAbsentClass", 2, 3, (4, 5, 6), 2, dict(name="gdl")),
    ("GdlSimpleBatch", 2, 3, (4, 5, 6), 1, dict(name="gdl", w_type="simple", batch=True)),
    ("GdlUniform", 2, 3, (4, 5, 6), -1, dict(name="gdl", w_type="uniform")),
    ("GdlNoBackground", 2, 4, (3, 4, 5), 3, dict(name="gdl", bg=False)),
]


def cxx_bool(v):
    return "true" if v else "false"


def main():
    print("// Generated by scripts/reference/loss_reference.py; do not edit.")
    print("// Independent PyTorch (float64) implementation of MONAI's Dice-family semantics.")
    print("#pragma once")
    print("#include <vector>\n")
    print("namespace seg::golden {\n")
    print("struct LossCase {\n  const char* name;\n  int b, c, z, y, x;\n  int absent;\n"
          "  const char* loss; const char* activation;\n  bool includeBackground, squared, jaccard, batch;\n"
          "  std::vector<double> weights;\n  bool sumReduction;\n  double lambdaDice, lambdaCe;\n"
          "  const char* wType;\n  double expectedLoss;\n  double expectedGradChecksum;\n};\n")
    print("inline const std::vector<LossCase>& lossCases() {\n  static const std::vector<LossCase> cases = {")
    for name, b, c, spatial, absent, over in CASES:
        o = dict(BASE, **over)
        logits, labels = make_inputs(b, c, spatial, absent)
        x = logits.double().requires_grad_(True)
        value = loss(x, labels, o)
        value.backward()
        n = x.numel()
        probe = torch.cos(0.7 * torch.arange(n, dtype=torch.float64)).reshape(x.shape)
        checksum = float((x.grad * probe).sum())
        w = ", ".join(repr(v) for v in o["weights"])
        print(f'    {{"{name}", {b}, {c}, {spatial[0]}, {spatial[1]}, {spatial[2]}, {absent}, "{o["name"]}", '
              f'"{o["act"]}", {cxx_bool(o["bg"])}, {cxx_bool(o["squared"])}, {cxx_bool(o["jaccard"])}, '
              f'{cxx_bool(o["batch"])}, {{{w}}}, {cxx_bool(o["reduction"] == "sum")}, {o["ld"]!r}, {o["lc"]!r}, '
              f'"{o["w_type"]}", {float(value)!r}, {checksum!r}}},')
    print("  };\n  return cases;\n}\n\n}  // namespace seg::golden")


if __name__ == "__main__":
    main()
