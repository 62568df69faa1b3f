// Loss masks (the ignore label): every loss with a mask must equal the same loss computed on
// the annotated voxels only, and no gradient may reach a masked voxel. The references gather
// the kept voxels of each sample into flat (C, n) tensors and apply the formulas of
// design.md section 5 by hand (float64), so they share no code with the masked path:
//   Dice  f_c = 1 - (2 tp_c + 1e-5) / (sum_p_c + sum_g_c + 1e-5), mean over (samples,) classes
//   CE    sum_v w_y(v) (-log softmax_y(v)) / sum_v w_y(v) over kept voxels v (PyTorch ignore_index)
//   BCE   mean over kept voxels and channels of max(x, 0) - x t + log(1 + exp(-|x|))
//   GDL   w_c = 1 / sum_g_c^2 (absent classes: the largest finite weight), per sample
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <limits>

#include "losses/CrossEntropyLoss.h"
#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"
#include "losses/LabelTargets.h"
#include "support/TorchTest.h"

namespace seg {
namespace {

constexpr int64_t kB = 2, kC = 3;

struct Inputs {
  torch::Tensor logits;  // (B, C, 3, 4, 5) float64
  torch::Tensor labels;  // (B, 1, ...) int64, valid classes everywhere (also where masked)
  torch::Tensor mask;    // (B, 1, ...) float32 0/1
  torch::Tensor regions; // (B, C, ...) float32 nested multi-label targets (label > c)
};

Inputs makeInputs() {
  torch::manual_seed(3);
  Inputs in;
  in.logits = torch::randn({kB, kC, 3, 4, 5}, torch::kFloat64) * 2.0;
  in.labels = torch::randint(0, kC, {kB, 1, 3, 4, 5}, torch::kInt64);
  // Uneven masks: a quarter of sample 0, about half of sample 1 unannotated.
  auto u = torch::rand({kB, 1, 3, 4, 5});
  u[1] = u[1] * 0.6;
  in.mask = (u >= 0.25).to(torch::kFloat32);
  // Class 2 only under the mask in sample 0: absent from what the loss may see (GDL's
  // infinite weight, an empty Dice class) although the full label map has it.
  auto s0 = in.labels[0];
  s0.copy_(torch::where(in.mask[0] > 0, s0.clamp_max(1), torch::full_like(s0, 2)));
  in.regions = torch::cat({(in.labels > 0), (in.labels > 1), (in.labels > 2)}, 1).to(torch::kFloat32);
  in.regions.select(1, 2).copy_((in.labels.squeeze(1) == 1).to(torch::kFloat32));  // a non-nested third channel
  return in;
}

// Columns of `t` (B, K, ...) at the kept voxels of sample b: (K, n_b).
torch::Tensor kept(const torch::Tensor& t, const torch::Tensor& mask, int64_t b) {
  const auto idx = (mask[b].reshape({-1}) > 0).nonzero().squeeze(1);
  return t[b].reshape({t.size(1), -1}).index_select(1, idx);
}

torch::Tensor oneHot(const torch::Tensor& labels) {
  return torch::one_hot(labels, kC).movedim(-1, 1).to(torch::kFloat64);
}

// Dice by hand on the kept voxels; p and g (B, K, ...).
double diceReference(const torch::Tensor& p, const torch::Tensor& g, const torch::Tensor& mask, bool batch,
                     bool squared, int64_t firstChannel) {
  std::vector<torch::Tensor> ps, gs;
  for (int64_t b = 0; b < kB; ++b) {
    ps.push_back(kept(p, mask, b).slice(0, firstChannel));
    gs.push_back(kept(g, mask, b).to(torch::kFloat64).slice(0, firstChannel));
  }
  if (batch) {
    ps = {torch::cat(ps, 1)};
    gs = {torch::cat(gs, 1)};
  }
  double sum = 0.0;
  int64_t n = 0;
  for (size_t k = 0; k < ps.size(); ++k) {
    for (int64_t c = 0; c < ps[k].size(0); ++c) {
      const auto pc = ps[k][c], gc = gs[k][c];
      const double tp = (pc * gc).sum().item<double>();
      const double sp = (squared ? pc * pc : pc).sum().item<double>();
      const double sg = (squared ? gc * gc : gc).sum().item<double>();
      sum += 1.0 - (2 * tp + 1e-5) / (sp + sg + 1e-5);
      ++n;
    }
  }
  return sum / static_cast<double>(n);
}

double ceReference(const Inputs& in, const std::vector<double>& w) {
  double num = 0.0, den = 0.0;
  for (int64_t b = 0; b < kB; ++b) {
    const auto x = kept(in.logits, in.mask, b);  // (C, n)
    const auto y = kept(in.labels, in.mask, b)[0];
    const auto logp = x - x.exp().sum(0, true).log();
    for (int64_t v = 0; v < y.size(0); ++v) {
      const int64_t cls = y[v].item<int64_t>();
      const double wy = w.empty() ? 1.0 : w[static_cast<size_t>(cls)];
      num += -wy * logp[cls][v].item<double>();
      den += wy;
    }
  }
  return num / den;
}

double bceReference(const Inputs& in) {
  double num = 0.0;
  int64_t n = 0;
  for (int64_t b = 0; b < kB; ++b) {
    const auto x = kept(in.logits, in.mask, b);
    const auto t = kept(in.regions, in.mask, b).to(torch::kFloat64);
    num += (x.clamp_min(0) - x * t + (1 + (-x.abs()).exp()).log()).sum().item<double>();
    n += x.numel();
  }
  return num / static_cast<double>(n);
}

double gdlReference(const Inputs& in) {
  const auto p = torch::softmax(in.logits, 1);
  const auto g = oneHot(in.labels.squeeze(1));
  double sum = 0.0;
  for (int64_t b = 0; b < kB; ++b) {
    const auto pb = kept(p, in.mask, b), gb = kept(g, in.mask, b);
    std::vector<double> tp(kC), den(kC), w(kC);
    double maxW = 0.0;
    for (int64_t c = 0; c < kC; ++c) {
      tp[c] = (pb[c] * gb[c]).sum().item<double>();
      const double sg = gb[c].sum().item<double>();
      den[c] = pb[c].sum().item<double>() + sg;
      w[c] = sg > 0 ? 1.0 / (sg * sg) : std::numeric_limits<double>::infinity();
      if (std::isfinite(w[c])) maxW = std::max(maxW, w[c]);
    }
    double numer = 0.0, denom = 0.0;
    for (int64_t c = 0; c < kC; ++c) {
      const double wc = std::isfinite(w[c]) ? w[c] : maxW;
      numer += wc * tp[c];
      denom += wc * den[c];
    }
    sum += 1.0 - (2 * numer + 1e-5) / (denom + 1e-5);
  }
  return sum / kB;
}

struct MaskCase {
  const char* name;
  // The loss under test, on (logits, mask) with the case's targets.
  std::function<torch::Tensor(const Inputs&, const torch::Tensor& logits, const torch::Tensor& mask)> loss;
  std::function<double(const Inputs&)> reference;
};

const auto softmaxDice = [](bool batch, bool squared, bool background) {
  return DiceLossOptions().batch(batch).squared_pred(squared).include_background(background);
};

std::vector<MaskCase> maskCases() {
  return {
      {"DicePerSample",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return diceLoss(x, in.labels, softmaxDice(false, false, true), {}, m);
       },
       [](const Inputs& in) {
         return diceReference(torch::softmax(in.logits, 1), oneHot(in.labels.squeeze(1)), in.mask, false, false, 0);
       }},
      {"DiceBatch",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return diceLoss(x, in.labels, softmaxDice(true, false, true), {}, m);
       },
       [](const Inputs& in) {
         return diceReference(torch::softmax(in.logits, 1), oneHot(in.labels.squeeze(1)), in.mask, true, false, 0);
       }},
      {"DiceBatchSquaredNoBackground",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return diceLoss(x, in.labels, softmaxDice(true, true, false), {}, m);
       },
       [](const Inputs& in) {
         return diceReference(torch::softmax(in.logits, 1), oneHot(in.labels.squeeze(1)), in.mask, true, true, 1);
       }},
      {"CrossEntropy",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return crossEntropyLoss(x, in.labels, {}, m);
       },
       [](const Inputs& in) { return ceReference(in, {}); }},
      {"CrossEntropyWeighted",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return crossEntropyLoss(x, in.labels, CrossEntropyLossOptions().class_weights({0.5, 2.0, 1.5}), m);
       },
       [](const Inputs& in) { return ceReference(in, {0.5, 2.0, 1.5}); }},
      {"DiceCEBatch",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return diceCELoss(x, in.labels, DiceCELossOptions().dice(softmaxDice(true, false, true)).lambda_ce(0.7), {},
                           m);
       },
       [](const Inputs& in) {
         return diceReference(torch::softmax(in.logits, 1), oneHot(in.labels.squeeze(1)), in.mask, true, false, 0) +
                0.7 * ceReference(in, {});
       }},
      {"DiceCEPerSample",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return diceCELoss(x, in.labels, DiceCELossOptions().dice(softmaxDice(false, false, true)), {}, m);
       },
       [](const Inputs& in) {
         return diceReference(torch::softmax(in.logits, 1), oneHot(in.labels.squeeze(1)), in.mask, false, false, 0) +
                ceReference(in, {});
       }},
      {"GeneralizedDice",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return generalizedDiceLoss(x, in.labels, GeneralizedDiceLossOptions(), {}, m);
       },
       [](const Inputs& in) { return gdlReference(in); }},
      {"SigmoidRegionsDiceBCE",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         const auto dice = DiceLossOptions().activation(Activation::Sigmoid).batch(true);
         return diceCELoss(x, in.regions, DiceCELossOptions().dice(dice).binary_ce(true), {}, m);
       },
       [](const Inputs& in) {
         return diceReference(torch::sigmoid(in.logits), in.regions, in.mask, true, false, 0) + bceReference(in);
       }},
      {"SigmoidRegionsBCE",
       [](const Inputs& in, const torch::Tensor& x, const torch::Tensor& m) {
         return crossEntropyLoss(x, in.regions, CrossEntropyLossOptions().binary(true), m);
       },
       [](const Inputs& in) { return bceReference(in); }},
  };
}

class LossMaskTest : public ::testing::TestWithParam<MaskCase> {};

TEST_P(LossMaskTest, EqualsTheLossOnTheAnnotatedVoxelsOnly) {
  const Inputs in = makeInputs();
  const auto& c = GetParam();
  const double expected = c.reference(in);
  EXPECT_NEAR(c.loss(in, in.logits, in.mask).item<double>(), expected, 1e-12 * std::max(1.0, std::abs(expected)));
  // float32 logits: statistics in float32.
  EXPECT_NEAR(c.loss(in, in.logits.to(torch::kFloat32), in.mask).item<double>(), expected, 2e-6);
  // The masked voxels made a difference: without the mask the value moves.
  EXPECT_GT(std::abs(c.loss(in, in.logits, torch::ones_like(in.mask)).item<double>() - expected), 1e-3);
}

TEST_P(LossMaskTest, NoGradientReachesAMaskedVoxel) {
  const Inputs in = makeInputs();
  const auto& c = GetParam();
  auto x = in.logits.clone().requires_grad_(true);
  c.loss(in, x, in.mask).backward();
  const auto masked = (in.mask == 0).expand_as(x);
  EXPECT_EQ(x.grad().masked_select(masked).abs().max().item<double>(), 0.0) << "gradient at masked voxels";
  EXPECT_GT(x.grad().masked_select(~masked).abs().max().item<double>(), 0.0) << "no gradient at kept voxels";
}

TEST_P(LossMaskTest, AllOnesMaskIsTheUnmaskedLoss) {
  const Inputs in = makeInputs();
  const auto& c = GetParam();
  const auto ones = torch::ones_like(in.mask);
  // The same loss without a mask: the reference evaluated on every voxel.
  Inputs all = in;
  all.mask = ones;
  EXPECT_NEAR(c.loss(in, in.logits, ones).item<double>(), c.reference(all), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Losses, LossMaskTest, ::testing::ValuesIn(maskCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(LossMaskTest, EverythingMaskedGivesZeroCrossEntropyNotNaN) {
  const Inputs in = makeInputs();
  const auto none = torch::zeros_like(in.mask);
  auto x = in.logits.clone().requires_grad_(true);
  const auto ce = crossEntropyLoss(x, in.labels, {}, none);
  EXPECT_EQ(ce.item<double>(), 0.0);
  ce.backward();
  EXPECT_EQ(x.grad().abs().max().item<double>(), 0.0);
  // Dice of an empty selection: (0 + smooth) / (0 + smooth) = 1, so the loss is 0.
  EXPECT_NEAR(diceLoss(in.logits, in.labels, DiceLossOptions(), {}, none).item<double>(), 0.0, 1e-12);
}

TEST(LossMaskTest, MaskedCrossEntropyIsAMeanReducedWithTheStatistics) {
  // The masked CE goes through the reducer as (sum, count): a reducer that doubles the
  // statistics leaves the mean unchanged, and the terms carry no rank-local part.
  const Inputs in = makeInputs();
  const auto terms = diceCETerms(in.logits, in.labels, DiceCELossOptions(), in.mask);
  EXPECT_FALSE(terms.local.defined());
  ASSERT_TRUE(terms.masked.defined());
  const StatisticsReducer twice = [](const DiceStatistics& s) {
    return DiceStatistics{2 * s.tp, 2 * s.sumP, 2 * s.sumG};
  };
  const auto ceOnly = crossEntropyTerms(in.logits, in.labels, {}, in.mask);
  EXPECT_NEAR(lossOf(ceOnly, twice).item<double>(), ceReference(in, {}), 1e-12);
}

TEST(LossMaskTest, BadMaskShapesAreRefused) {
  const Inputs in = makeInputs();
  try {
    diceLoss(in.logits, in.labels, DiceLossOptions(), {}, torch::ones({kB, 2, 3, 4, 5}));
    FAIL() << "a two-channel mask was accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("loss mask [2, 2, 3, 4, 5] must be (B, 1, spatial...)"),
              std::string::npos)
        << e.what_without_backtrace();
  }
}

// BraTS-like nested regions (nnU-Net's Dataset137: whole tumour {1, 2, 3}, tumour core
// {2, 3}, enhancing tumour {3}) with the ignore label 4, by hand.
TEST(LabelTargetsTest, NestedBratsRegionsAndIgnoreLabelByHand) {
  LabelEncoding e;
  e.regions = {{1, 2, 3}, {2, 3}, {3}};
  e.regionNames = {"whole tumor", "tumor core", "enhancing tumor"};
  e.regionsClassOrder = {2, 1, 3};
  e.ignoreLabel = 4;
  const auto labels = torch::tensor({0, 1, 2, 3, 4, 2}, torch::kInt64).reshape({1, 1, 1, 2, 3});
  const LabelTargets t = labelTargets(labels, e);
  ASSERT_EQ(t.target.sizes(), (std::vector<int64_t>{1, 3, 1, 2, 3}));
  const auto expected = torch::tensor({{0, 1, 1, 1, 0, 1},   // whole tumour
                                       {0, 0, 1, 1, 0, 1},   // tumour core
                                       {0, 0, 0, 1, 0, 0}},  // enhancing
                                      torch::kFloat32)
                            .reshape({1, 3, 1, 2, 3});
  EXPECT_TRUE(torch::equal(t.target, expected)) << t.target;
  EXPECT_TRUE(torch::equal(t.mask, torch::tensor({1, 1, 1, 1, 0, 1}, torch::kFloat32).reshape({1, 1, 1, 2, 3})));
}

TEST(LabelTargetsTest, IgnoreLabelWithClassesBecomesBackgroundUnderTheMask) {
  LabelEncoding e;
  e.ignoreLabel = 3;
  const auto labels = torch::tensor({0, 1, 2, 3, 3, 1}, torch::kInt64).reshape({1, 1, 1, 1, 6});
  const LabelTargets t = labelTargets(labels, e);
  EXPECT_TRUE(torch::equal(t.target, torch::tensor({0, 1, 2, 0, 0, 1}, torch::kInt64).reshape({1, 1, 1, 1, 6})));
  EXPECT_TRUE(torch::equal(t.mask, torch::tensor({1, 1, 1, 0, 0, 1}, torch::kFloat32).reshape({1, 1, 1, 1, 6})));
  // Nothing to do without regions or an ignore label: the labels themselves, no mask.
  const LabelTargets plain = labelTargets(labels, LabelEncoding{});
  EXPECT_TRUE(plain.target.is_same(labels));
  EXPECT_FALSE(plain.mask.defined());
}

}  // namespace
}  // namespace seg
