#!/usr/bin/env python3
"""Cross-check values for the Dice-family losses from MONAI itself
(tests/unit/losses/MonaiLossReference.h, consumed by tests/unit/losses/MonaiCrossCheckTest.cpp).

Unlike loss_reference.py (our own float64 reimplementation of the formulas), this runs
MONAI's released classes: monai.losses.DiceLoss, DiceCELoss and GeneralizedDiceLoss, in
float64, with the activation inside the loss (sigmoid=True / softmax=True) and
to_onehot_y=True for integer labels with C > 1. For each case it stores the loss and the
full gradient d loss / d logits (autograd through MONAI's code), so the C++ test compares
every element.

Inputs are loss_reference.py's closed formulas (the C++ test rebuilds them exactly):
  logits[i] = 2.5 * sin(0.37 * i + 0.11 * C)   (float64 -> float32, i = flat index)
  label[j]  = ((j * 2654435761 mod 2^32) >> 7) mod max(C, 2), then class `absent` removed
              from sample 0 (set to 0) when absent >= 0.
Two extensions, both in the header's case table:
  absent_all: class `absent` is removed from every sample (not only sample 0), so that
              batch statistics see an absent class (GDL's global weight replacement).
  target:     "index"  - the integer labels (B, 1, ...) above (to_onehot_y=True if C > 1);
              "onehot" - the same labels one-hot encoded as float (B, C, ...), to_onehot_y=False;
              "nested" - float (B, C, ...) multi-label regions, channel c = (label > c) with the
                         label taken mod C + 1 instead of mod max(C, 2) (BraTS-style nested
                         regions for sigmoid; to_onehot_y=False).
The float32-rounded logits are converted to float64 for MONAI; our test runs the float32
logits (float32 statistics) and the same values as float64.

With reduction "none" the gradient stored is that of sum_k (k + 1) * f_k over the flattened
output, so that every output element's gradient enters with a distinct weight.

Run: ~/.venvs/segtrain/bin/python scripts/reference/monai_reference.py > tests/unit/losses/MonaiLossReference.h
"""
import math
import sys
import warnings

import monai
import torch
from monai.losses import DiceCELoss, DiceLoss, GeneralizedDiceLoss

COMMAND = ("~/.venvs/segtrain/bin/python scripts/reference/monai_reference.py"
           " > tests/unit/losses/MonaiLossReference.h")

# An option left out of a case takes this value (MONAI's defaults, plus our input knobs).
BASE = dict(loss="dice", b=2, c=3, spatial=(3, 4, 5), absent=-1, absent_all=False, target="index",
            act="softmax", bg=True, squared=False, jaccard=False, batch=False, smooth_nr=1e-5,
            smooth_dr=1e-5, weights=(), reduction="mean", ld=1.0, lc=1.0, w_type="square")
INPUT_KEYS = ("b", "c", "spatial", "absent", "absent_all", "target")

# (name, options that differ from BASE, notes). Every non-default option is reset to
# BASE in turn by sensitivity(), which requires the result to move by more than
# SENSITIVITY, so that a C++ loss ignoring the option fails the 1e-5 comparison. Notes
# change that per option: "key" = on purpose no difference at all (MONAI's "ignored"
# rules; must move by exactly 0); "key~" = a change too small for float32, seen only by
# the float64 comparison (must move by more than F64_SENSITIVITY).
C4 = dict(c=4)
CASES = [
    # ---- DiceLoss ----
    ("DiceSoftmaxDefault", {}, ()),
    ("DiceSoftmaxNoBackground", dict(bg=False), ()),
    ("DiceSoftmaxSquaredPred", dict(squared=True), ()),
    # A float64 one-hot target avoids MONAI's float32 sum_g (float64_bound): the same loss
    # as the integer labels to 1.1e-8, and our float64 result to round-off.
    ("DiceSoftmaxSquaredPredOneHotTarget", dict(squared=True, target="onehot"), ("target~",)),
    ("DiceSoftmaxJaccard", dict(jaccard=True), ()),
    ("DiceSoftmaxJaccardSquaredPred", dict(jaccard=True, squared=True), ()),
    ("DiceSoftmaxBatch", dict(batch=True), ()),
    ("DiceSoftmaxBatchNoBackgroundAbsent", dict(batch=True, bg=False, absent=2), ()),
    ("DiceSigmoidOneChannel", dict(c=1, act="sigmoid"), ()),
    ("DiceSigmoidOneChannelBatchSquaredPred", dict(c=1, act="sigmoid", batch=True, squared=True), ()),
    # MONAI warns and keeps the only channel (include_background=False ignored).
    ("DiceSigmoidOneChannelNoBackgroundIgnored", dict(c=1, act="sigmoid", bg=False), ("bg",)),
    # MONAI applies class weights only when num_of_classes != 1.
    ("DiceSigmoidOneChannelWeightIgnored", dict(c=1, act="sigmoid", weights=(0.3,)), ("weights",)),
    ("DiceSigmoidMultiLabel", dict(act="sigmoid"), ()),
    ("DiceSigmoidNestedRegions", dict(act="sigmoid", target="nested"), ()),
    ("DiceSigmoidNestedRegionsNoBackgroundBatch", dict(act="sigmoid", target="nested", bg=False, batch=True), ()),
    # A float one-hot target gives what the integer labels give (another input path).
    ("DiceSoftmaxOneHotTarget", dict(target="onehot", absent=1), ("target",)),
    ("DiceSoftmaxClassWeights", dict(weights=(0.2, 0.3, 0.5)), ()),
    ("DiceSoftmaxClassWeightsNoBackground", dict(bg=False, weights=(0.25, 0.75)), ()),
    ("DiceSoftmaxReductionSum", dict(reduction="sum"), ()),
    ("DiceSoftmaxReductionNone", dict(reduction="none"), ()),
    ("DiceSoftmaxReductionNoneBatch", dict(reduction="none", batch=True), ()),
    ("DiceSigmoidReductionNoneWeights", dict(act="sigmoid", reduction="none", weights=(1.0, 2.0, 0.5)), ()),
    ("DiceSoftmaxReductionSumWeightsNoBackground", dict(reduction="sum", bg=False, weights=(2.0, 0.5)), ()),
    ("DiceSmoothOne", dict(smooth_nr=1.0, smooth_dr=1.0), ()),
    # smooth_nr = 0: the absent class scores f = 1 exactly; next to 1e-5 that is a 1e-7
    # change, visible only in float64.
    ("DiceSmoothNrZeroAbsent", dict(smooth_nr=0.0, smooth_dr=1e-6, absent=1), ("smooth_nr~", "smooth_dr~")),
    ("DiceSmoothHalfTwoAbsent", dict(smooth_nr=0.5, smooth_dr=2.0, absent=1), ()),
    ("DiceSmoothLargeDrAbsent", dict(smooth_nr=0.05, smooth_dr=10.0, absent=2), ()),
    ("DiceAbsentClassSample0", dict(absent=1), ()),
    ("DiceAbsentClassAllSamplesBatch", dict(absent=1, absent_all=True, batch=True), ()),
    ("DiceFourClassesJaccardNoBackgroundBatch", dict(C4, bg=False, jaccard=True, batch=True, absent=2), ()),
    # ---- DiceCELoss ----
    ("DiceCESoftmaxDefault", dict(loss="dice_ce"), ()),
    ("DiceCELambdas", dict(loss="dice_ce", ld=0.7, lc=1.3), ()),
    ("DiceCEOnlyCE", dict(loss="dice_ce", ld=0.0), ()),
    # lambda_ce = 0 leaves MONAI's DiceLoss exactly.
    ("DiceCEOnlyDice", dict(loss="dice_ce", lc=0.0), ("loss",)),
    ("DiceCENoBackground", dict(loss="dice_ce", bg=False), ()),
    ("DiceCEClassWeights", dict(loss="dice_ce", weights=(0.2, 0.3, 0.5)), ()),
    ("DiceCEClassWeightsNoBackgroundLambdas",
     dict(loss="dice_ce", bg=False, weights=(0.5, 1.0, 2.0), ld=0.7, lc=1.3), ()),
    ("DiceCESigmoidOneChannel", dict(loss="dice_ce", c=1, act="sigmoid"), ()),
    # One channel: the weight is BCE's pos_weight; the Dice term ignores it (one class).
    ("DiceCESigmoidOneChannelPosWeight", dict(loss="dice_ce", c=1, act="sigmoid", weights=(3.0,)), ()),
    ("DiceCESigmoidMultiLabel", dict(loss="dice_ce", act="sigmoid"), ()),
    ("DiceCESquaredJaccardBatchAbsent",
     dict(loss="dice_ce", squared=True, jaccard=True, batch=True, absent=1, smooth_nr=0.1, smooth_dr=0.3), ()),
    # Not the same as the integer labels: PyTorch's weighted CE with class-probability
    # targets is a plain mean over voxels, with class indices sum(w_y l) / sum(w_y).
    ("DiceCEOneHotTarget", dict(loss="dice_ce", target="onehot", weights=(0.2, 0.3, 0.5)), ()),
    ("DiceCEFourClassesNoBackgroundAbsent", dict(C4, loss="dice_ce", bg=False, absent=3, lc=0.5), ()),
    # ---- GeneralizedDiceLoss ----
    ("GdlSquare", dict(loss="gdl"), ()),
    ("GdlSimple", dict(loss="gdl", w_type="simple"), ()),
    ("GdlUniform", dict(loss="gdl", w_type="uniform"), ()),
    ("GdlSquareBatch", dict(loss="gdl", batch=True), ()),
    # With batch the classes of these inputs are nearly balanced (square and simple
    # weights then differ by 6e-5): removing a class from sample 0 unbalances them.
    ("GdlSimpleBatch", dict(loss="gdl", w_type="simple", batch=True, absent=1), ()),
    # Uniform weights over all softmax classes: sum_c (sum_p + sum_g) = 2 N in every
    # sample, so batch and per-sample losses coincide; dropping the background breaks that.
    ("GdlUniformBatchNoBackgroundAbsent", dict(loss="gdl", w_type="uniform", batch=True, bg=False, absent=2), ()),
    # Class absent from sample 0: its infinite weight becomes sample 0's largest finite weight.
    ("GdlSquareAbsentSample0", dict(loss="gdl", absent=2), ()),
    ("GdlSimpleAbsentSample0NoBackground", dict(C4, loss="gdl", w_type="simple", bg=False, absent=3), ()),
    # Absent from every sample: with batch the replacement is the largest finite weight overall.
    ("GdlSquareBatchAbsentAllSamples", dict(loss="gdl", batch=True, absent=1, absent_all=True), ()),
    ("GdlSquareBatchAbsentSample0", dict(loss="gdl", batch=True, absent=1), ()),
    ("GdlSigmoidMultiLabel", dict(loss="gdl", act="sigmoid"), ()),
    ("GdlSigmoidNestedRegions", dict(loss="gdl", act="sigmoid", target="nested"), ()),
    # One class: the weight cancels and GDL is Dice except that the smoothing terms are
    # not weighted (a 7e-5 change of the value, 1e-7 of the gradient: float64 only).
    ("GdlSigmoidOneChannel", dict(loss="gdl", c=1, act="sigmoid"), ("loss~",)),
    ("GdlSigmoidOneChannelBatch", dict(loss="gdl", c=1, act="sigmoid", batch=True), ("loss~",)),
    # One channel, sample 0 all background: every weight of sample 0 is infinite, so all
    # become 0 and that sample's loss is 1 - smooth_nr / smooth_dr = 0 (no gradient).
    ("GdlSigmoidOneChannelEmptySample", dict(loss="gdl", c=1, act="sigmoid", absent=1), ()),
    ("GdlReductionSum", dict(loss="gdl", reduction="sum", absent=2), ()),
    ("GdlReductionNone", dict(loss="gdl", reduction="none"), ()),
    # With batch there is one value: "none" differs from "mean" only in the shape
    # (MONAI (1, 1, 1, 1), ours ()), which the test checks.
    ("GdlReductionNoneBatch", dict(loss="gdl", reduction="none", batch=True), ("reduction",)),
    ("GdlSmooth", dict(loss="gdl", smooth_nr=1e-2, smooth_dr=1e-1, w_type="simple"), ()),
    ("GdlOneHotTarget", dict(loss="gdl", target="onehot", absent=1), ("target",)),
]

# An option must change the value (relative for |v| > 1) or a gradient element by more
# than this, ten times the float32 comparison tolerance; "key~" options by more than ten
# times the case's float64 bound (float64_bound).
SENSITIVITY = 1e-4


def float64_bound(o):
    """The float64 comparison's bound and why it is not round-off only: where MONAI keeps a
    float32 intermediate with float64 input (measured effect <= 1.1e-8 here), 1e-7."""
    reasons = []
    if o["loss"] == "gdl" and o["w_type"] != "uniform":
        reasons.append("MONAI computes the GDL weights from ground_o.float(), in float32")
    if o["squared"] and o["target"] == "index" and o["c"] > 1:
        reasons.append("MONAI's one_hot target is float32 and squared_pred takes sum_g as "
                       "vector_norm(g) ** 2, in float32")
    return (1e-7 if reasons else 1e-10), "; ".join(reasons)


def make_inputs(o):
    b, c, spatial = o["b"], o["c"], o["spatial"]
    n = b * c * math.prod(spatial)
    i = torch.arange(n, dtype=torch.float64)
    logits = (2.5 * torch.sin(0.37 * i + 0.11 * c)).to(torch.float32).reshape(b, c, *spatial)
    m = b * math.prod(spatial)
    modulus = c + 1 if o["target"] == "nested" else max(c, 2)
    labels = torch.tensor([(((j * 2654435761) & 0xFFFFFFFF) >> 7) % modulus for j in range(m)], dtype=torch.int64)
    labels = labels.reshape(b, 1, *spatial)
    if o["absent"] >= 0:
        for s in range(b) if o["absent_all"] else [0]:
            labels[s][labels[s] == o["absent"]] = 0
    if o["target"] == "index":
        # One channel: MONAI takes the 0/1 map as it is (to_onehot_y does not apply); as
        # float, since its squared_pred path (linalg.vector_norm) rejects integer targets.
        target = labels if c > 1 else labels.to(torch.float64)
    elif o["target"] == "onehot":
        target = torch.nn.functional.one_hot(labels[:, 0], c).movedim(-1, 1).to(torch.float64)
    else:
        target = torch.cat([(labels > k) for k in range(c)], 1).to(torch.float64)
    return logits, labels, target


def monai_loss(o):
    common = dict(include_background=o["bg"], sigmoid=o["act"] == "sigmoid", softmax=o["act"] == "softmax",
                  to_onehot_y=o["target"] == "index" and o["c"] > 1, reduction=o["reduction"],
                  smooth_nr=o["smooth_nr"], smooth_dr=o["smooth_dr"], batch=o["batch"])
    # float64 weights: a Python list would become a float32 tensor (0.2 -> 0.20000000298).
    weight = torch.tensor(o["weights"], dtype=torch.float64) if o["weights"] else None
    if o["loss"] == "dice":
        return DiceLoss(squared_pred=o["squared"], jaccard=o["jaccard"], weight=weight, **common)
    if o["loss"] == "dice_ce":
        return DiceCELoss(squared_pred=o["squared"], jaccard=o["jaccard"], weight=weight,
                          lambda_dice=o["ld"], lambda_ce=o["lc"], **common)
    return GeneralizedDiceLoss(w_type=o["w_type"], **common)


def our_shape(o):
    """Our shape for reduction none: MONAI's without its trailing broadcast axes."""
    if o["reduction"] != "none":
        return []
    if o["loss"] == "gdl":
        return [] if o["batch"] else [o["b"]]
    seen = o["c"] - 1 if (not o["bg"] and o["c"] > 1) else o["c"]
    return [seen] if o["batch"] else [o["b"], seen]


def run(o):
    logits, _, target = make_inputs(o)
    x = logits.to(torch.float64).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MONAI's "single channel prediction, ... ignored"
        f = monai_loss(o)(x, target)
    assert f.dtype == torch.float64, (o, f.dtype)
    flat = f.reshape(-1)
    if o["reduction"] == "none":
        (flat * torch.arange(1, flat.numel() + 1, dtype=torch.float64)).sum().backward()
    else:
        f.backward()
    return [float(v) for v in flat.detach()], list(f.shape), x.grad.reshape(-1).tolist()


def distance(a, b):
    (va, sa, ga), (vb, sb, gb) = a, b
    if len(va) != len(vb) or len(ga) != len(gb):
        return math.inf
    dv = max(abs(p - q) / max(1.0, abs(q)) for p, q in zip(va, vb))
    return max(dv, max(abs(p - q) for p, q in zip(ga, gb)))


def sensitivity(o, notes, result):
    """The smallest change among resets of one non-default option to BASE (None if none apply)."""
    unknown = {n.rstrip("~") for n in notes} - set(o)
    assert not unknown, unknown
    smallest = None
    for key in o:
        if o[key] == BASE[key]:
            continue
        reset = dict(o, **{key: BASE[key]})
        if key == "absent":
            reset["absent_all"] = False
        try:
            d = distance(run(reset), result)
        except (ValueError, AssertionError, RuntimeError):
            continue  # e.g. weights sized for the classes without background
        if key in notes:
            assert d == 0.0, f"{o}: {key} was expected to make no difference, moved {d}"
            continue
        bound = 10 * float64_bound(o)[0] if key + "~" in notes else SENSITIVITY
        assert d > bound, f"{o}: resetting {key} moves the result by only {d}"
        if bound != SENSITIVITY:
            continue  # reported by the note, not in the float32 minimum
        smallest = d if smallest is None else min(smallest, d)
    return smallest


def cxx_bool(v):
    return "true" if v else "false"


def cxx_doubles(values, indent="    "):
    out, line = [], indent
    for v in values:
        item = repr(float(v)) + ","
        if len(line) + len(item) + 1 > 110:
            out.append(line.rstrip())
            line = indent
        line += item + " "
    out.append(line.rstrip())
    return "\n".join(out)


def input_checksums(o):
    logits, labels, target = make_inputs(o)
    n = logits.numel()
    probe = torch.cos(0.3 * torch.arange(n, dtype=torch.float64)).reshape(logits.shape)
    logit_sum = float((logits.to(torch.float64) * probe).sum())
    flat = target.reshape(-1).to(torch.float64)
    target_sum = float((flat * (torch.arange(flat.numel()) % 7 + 1)).sum())  # integers, exact
    return logit_sum, target_sum


def check_softmax_one_channel():
    """The difference kept on purpose: MONAI's softmax=True over one channel warns and scores
    the raw logits as probabilities (we refuse, MonaiCrossCheck.SoftmaxOverOneChannelIsRefused)."""
    o = dict(BASE, c=1)
    logits, _, target = make_inputs(o)
    x = logits.to(torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with_softmax = DiceLoss(softmax=True)(x, target)
    assert any("softmax=True` ignored" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert torch.equal(with_softmax, DiceLoss()(x, target)), "MONAI now applies softmax to one channel"


def main():
    check_softmax_one_channel()
    if monai.__version__ != "1.6.1":
        print(f"monai_reference.py: this header documents MONAI 1.6.1, the venv has {monai.__version__}",
              file=sys.stderr)
    rows, arrays, summary = [], [], []
    for name, over, notes in CASES:
        unknown = set(over) - set(BASE)
        assert not unknown, (name, unknown)
        o = dict(BASE, **over)
        value, monai_shape, grad = run(o)
        sens = sensitivity(o, notes, (value, monai_shape, grad))
        logit_sum, target_sum = input_checksums(o)
        bound64, reason64 = float64_bound(o)
        z, y, x = o["spatial"]
        arrays.append(f"inline constexpr double k{name}Value[] = {{\n{cxx_doubles(value)}\n}};")
        arrays.append(f"inline constexpr double k{name}Grad[] = {{\n{cxx_doubles(grad)}\n}};")
        w = ", ".join(repr(float(v)) for v in o["weights"])
        shape = ", ".join(str(s) for s in our_shape(o))
        mshape = ", ".join(str(s) for s in monai_shape)
        rows.append(
            f'    {{"{name}", "{o["loss"]}", {o["b"]}, {o["c"]}, {z}, {y}, {x}, {o["absent"]}, '
            f'{cxx_bool(o["absent_all"])}, "{o["target"]}", "{o["act"]}",\n'
            f'     {cxx_bool(o["bg"])}, {cxx_bool(o["squared"])}, {cxx_bool(o["jaccard"])}, {cxx_bool(o["batch"])}, '
            f'{o["smooth_nr"]!r}, {o["smooth_dr"]!r}, {{{w}}}, "{o["reduction"]}", {o["ld"]!r}, {o["lc"]!r}, '
            f'"{o["w_type"]}",\n'
            f'     {{{shape}}}, {{{mshape}}}, {logit_sum!r}, {target_sum!r}, {bound64!r},\n'
            f'     "{reason64}",\n'
            f'     k{name}Value, {len(value)}, k{name}Grad, {len(grad)}}},')
        summary.append(f"//   {name}: {len(grad)} gradient elements, max |grad| {max(abs(g) for g in grad):.3g}, "
                       + ("no option to reset" if sens is None else f"smallest single-option change {sens:.3g}"))
    print(HEADER.format(monai=monai.__version__, torch=torch.__version__.split("+")[0], command=COMMAND,
                        count=len(CASES), sens=SENSITIVITY))
    print("\n".join(summary))
    print(PRELUDE)
    print("\n\n".join(arrays))
    print("\ninline const std::vector<MonaiLossCase>& monaiLossCases() {\n"
          "  static const std::vector<MonaiLossCase> cases = {")
    print("\n".join(rows))
    print("  };\n  return cases;\n}\n\n}  // namespace seg::monai_reference")


HEADER = """\
// Generated by scripts/reference/monai_reference.py from MONAI {monai}; do not edit.
// (torch {torch}, float64.) Regenerate with:
//   {command}
// tests/integration/monai_reference_fresh.sh checks that this file is what the script prints.
//
// Values and full gradients d loss / d logits of MONAI's own monai.losses.DiceLoss,
// DiceCELoss and GeneralizedDiceLoss on the closed-form inputs of the script's docstring,
// for MonaiCrossCheckTest.cpp. MONAI options we do not have (not covered here):
//   all three: other_act (e.g. tanh), no activation (raw probabilities), soft_label;
//              to_onehot_y=False with integer labels (we always one-hot integer labels);
//              a scalar `weight` (the same as our vector with the value repeated).
//   DiceLoss: ignore_index.
//   DiceCELoss: reduction "sum" (our Dice term is always mean-reduced), label_smoothing.
// MONAI differences kept on purpose (docs/losses.md, "Cross-check against MONAI"):
//   reduction "none" keeps MONAI's broadcastable shape (B, C, 1, 1, 1) in MONAI, (B, C) in
//   ours (GDL: (B, 1, 1, 1, 1) vs (B)); ourShape below is what we return, monaiShape what
//   MONAI returns; the values are the same in the same order.
//   softmax over one channel: MONAI warns and uses the raw logits, we refuse (checked by
//   MonaiCrossCheck.SoftmaxOverOneChannelIsRefused).
//   float32 inside MONAI's float64 run, where ours stays float64 (float64Tolerance 1e-7 with
//   the reason, else 1e-10): GDL computes w = 1/sum_g^2 or 1/sum_g from ground_o.float();
//   to_onehot_y makes a float32 one-hot target, and squared_pred takes sum_g as
//   vector_norm(g) ** 2, not exact in float32 (a count of 2 comes back as 1.99999988).
//   Up to 2.3e-9 (GDL value) and 1.1e-8 (squared_pred value) here; a float64 one-hot
//   target removes the second (DiceSoftmaxSquaredPredOneHotTarget).
// With reduction "none" the gradient is that of sum_k (k + 1) * f_k (flattened output).
//
// {count} cases. For each, the smallest change of the result when one non-default option
// is reset to its default (must exceed {sens:g}: a loss ignoring that option fails):"""

PRELUDE = """
#pragma once
#include <cstdint>
#include <vector>

namespace seg::monai_reference {

struct MonaiLossCase {
  const char* name;
  const char* loss;  // "dice", "dice_ce", "gdl"
  int b, c, z, y, x;
  int absent;        // class removed from sample 0 (-1: none)
  bool absentAll;    // ... and from every other sample
  const char* target;      // "index", "onehot", "nested" (see the script's docstring)
  const char* activation;  // "softmax", "sigmoid"
  bool includeBackground, squaredPred, jaccard, batch;
  double smoothNr, smoothDr;
  std::vector<double> weights;  // DiceLoss: classes seen; DiceCELoss: all C classes
  const char* reduction;        // "mean", "sum", "none"
  double lambdaDice, lambdaCe;
  const char* wType;            // "square", "simple", "uniform"
  std::vector<int64_t> ourShape;    // the shape our loss returns
  std::vector<int64_t> monaiShape;  // the shape MONAI returns
  double logitChecksum;   // sum_i logits[i] * cos(0.3 i), float64
  double targetChecksum;  // sum_j target[j] * (j mod 7 + 1)
  double float64Tolerance;      // 1e-10, or 1e-7 where MONAI has a float32 intermediate:
  const char* float64Reason;    // which one ("" for round-off only)
  const double* value;    // MONAI's loss, flattened
  int valueSize;
  const double* grad;     // d loss / d logits, flattened (B, C, Z, Y, X)
  int gradSize;
};
"""

if __name__ == "__main__":
    main()
