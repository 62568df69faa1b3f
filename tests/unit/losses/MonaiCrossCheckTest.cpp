// Dice-family losses against MONAI's own classes (monai.losses.DiceLoss, DiceCELoss,
// GeneralizedDiceLoss, MONAI 1.6.1 in float64): the loss value and every element of
// d loss / d logits, from scripts/reference/monai_reference.py -> MonaiLossReference.h.
// Each case runs twice: float32 logits (our training precision, float32 statistics)
// within 1e-5, and the same values as float64 logits within the case's float64Tolerance:
// 1e-10 (round-off), or 1e-7 where MONAI keeps a float32 intermediate in its float64 run
// (GDL weights, squared_pred's sum_g of a to_onehot_y target; the reason is in the table).
// Tolerances are absolute, relative for magnitudes above 1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>

#include "losses/DiceCELoss.h"
#include "losses/DiceLoss.h"
#include "losses/GeneralizedDiceLoss.h"
#include "unit/losses/MonaiLossReference.h"

namespace seg {
namespace monai_reference {
// gtest prints a failing case's parameter: its name, not 240 bytes.
void PrintTo(const MonaiLossCase& c, std::ostream* os) { *os << c.name; }
}  // namespace monai_reference

namespace {

using monai_reference::MonaiLossCase;

constexpr double kFloat32Tolerance = 1e-5;

bool is(const char* a, const char* b) { return std::strcmp(a, b) == 0; }

struct Inputs {
  torch::Tensor logits;  // float32 (B, C, Z, Y, X)
  torch::Tensor target;  // int64 (B, 1, ...) labels, or float (B, C, ...) for "onehot"/"nested"
};

// monai_reference.py's make_inputs (the closed formulas of loss_reference.py, plus the
// absent_all and target extensions).
Inputs makeInputs(const MonaiLossCase& c) {
  const int64_t spatial = int64_t{c.z} * c.y * c.x;
  const auto i = torch::arange(c.b * c.c * spatial, torch::kFloat64);
  auto logits = (2.5 * torch::sin(0.37 * i + 0.11 * c.c)).to(torch::kFloat32).reshape({c.b, c.c, c.z, c.y, c.x});
  const uint64_t modulus = is(c.target, "nested") ? c.c + 1 : std::max(c.c, 2);
  auto labels = torch::empty({c.b * spatial}, torch::kInt64);
  auto* l = labels.data_ptr<int64_t>();
  for (int64_t j = 0; j < c.b * spatial; ++j) {
    const uint64_t h = (static_cast<uint64_t>(j) * 2654435761ull) & 0xFFFFFFFFull;
    l[j] = static_cast<int64_t>((h >> 7) % modulus);
  }
  labels = labels.reshape({c.b, 1, c.z, c.y, c.x});
  if (c.absent >= 0) {
    for (int64_t s = 0; s < (c.absentAll ? c.b : 1); ++s) {
      auto sample = labels[s];
      sample.masked_fill_(sample == c.absent, 0);
    }
  }
  if (is(c.target, "onehot")) {
    return {logits, torch::one_hot(labels.squeeze(1), c.c).movedim(-1, 1).to(torch::kFloat32).contiguous()};
  }
  if (is(c.target, "nested")) {
    std::vector<torch::Tensor> channels;
    for (int64_t k = 0; k < c.c; ++k) channels.push_back(labels > k);
    return {logits, torch::cat(channels, 1).to(torch::kFloat32)};
  }
  return {logits, labels};
}

Reduction reductionOf(const MonaiLossCase& c) {
  return is(c.reduction, "sum") ? Reduction::Sum : is(c.reduction, "none") ? Reduction::None : Reduction::Mean;
}

torch::Tensor computeLoss(const MonaiLossCase& c, const torch::Tensor& logits, const torch::Tensor& target) {
  const Activation act = is(c.activation, "sigmoid") ? Activation::Sigmoid : Activation::Softmax;
  if (is(c.loss, "gdl")) {
    const GdlWeight w = is(c.wType, "simple") ? GdlWeight::Simple : is(c.wType, "uniform") ? GdlWeight::Uniform
                                                                                            : GdlWeight::Square;
    return generalizedDiceLoss(logits, target,
                               GeneralizedDiceLossOptions()
                                   .include_background(c.includeBackground)
                                   .activation(act)
                                   .w_type(w)
                                   .batch(c.batch)
                                   .smooth_nr(c.smoothNr)
                                   .smooth_dr(c.smoothDr)
                                   .reduction(reductionOf(c)));
  }
  auto dice = DiceLossOptions()
                  .include_background(c.includeBackground)
                  .activation(act)
                  .squared_pred(c.squaredPred)
                  .jaccard(c.jaccard)
                  .batch(c.batch)
                  .smooth_nr(c.smoothNr)
                  .smooth_dr(c.smoothDr)
                  .reduction(reductionOf(c));
  if (is(c.loss, "dice")) return diceLoss(logits, target, dice.class_weights(c.weights));
  // MONAI's DiceCELoss passes weight (all C classes) to CE and weight[1:] to the Dice term
  // without the background: our DiceCELossOptions::class_weights does the same split.
  return diceCELoss(logits, target,
                    DiceCELossOptions().dice(dice).lambda_dice(c.lambdaDice).lambda_ce(c.lambdaCe).class_weights(c.weights));
}

std::string format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// Largest |ours - ref| / max(1, |ref|) over the elements; counts those above `tolerance`.
struct Comparison {
  double worst = 0.0;
  int64_t worstIndex = -1;
  int64_t failures = 0;
  double oursAtWorst = 0.0, refAtWorst = 0.0;
};

Comparison compare(const torch::Tensor& ours, const double* ref, int64_t n, double tolerance) {
  const auto flat = ours.detach().to(torch::kFloat64).contiguous().reshape({-1});
  const double* o = flat.data_ptr<double>();
  Comparison r;
  for (int64_t k = 0; k < n; ++k) {
    // A NaN must fail: written so that a NaN difference never counts as within tolerance.
    const double d = std::abs(o[k] - ref[k]) / std::max(1.0, std::abs(ref[k]));
    if (!(d <= tolerance)) ++r.failures;
    if (!(d <= r.worst)) {
      r.worst = std::isnan(d) ? INFINITY : d;
      r.worstIndex = k;
      r.oursAtWorst = o[k];
      r.refAtWorst = ref[k];
    }
  }
  return r;
}

// "(b, c, z, y, x)" of a flat gradient index.
std::string position(const MonaiLossCase& c, int64_t k) {
  const int64_t x = k % c.x, y = k / c.x % c.y, z = k / (c.x * c.y) % c.z, ch = k / (int64_t{c.x} * c.y * c.z) % c.c;
  const int64_t b = k / (int64_t{c.x} * c.y * c.z * c.c);
  std::ostringstream s;
  s << "(" << b << ", " << ch << ", " << z << ", " << y << ", " << x << ")";
  return s.str();
}

void checkAgainstMonai(const MonaiLossCase& c, torch::ScalarType dtype) {
  const double tolerance = dtype == torch::kFloat32 ? kFloat32Tolerance : c.float64Tolerance;
  const std::string why = dtype == torch::kFloat64 && *c.float64Reason ? std::string("; ") + c.float64Reason : "";
  auto inputs = makeInputs(c);
  // The rebuilt inputs are the script's (a wrong formula would fail here, not later).
  const int64_t n = inputs.logits.numel();
  const auto probe = torch::cos(0.3 * torch::arange(n, torch::kFloat64)).reshape(inputs.logits.sizes());
  ASSERT_NEAR((inputs.logits.to(torch::kFloat64) * probe).sum().item<double>(), c.logitChecksum, 1e-9);
  const auto target = inputs.target.to(torch::kFloat64).reshape({-1});
  ASSERT_EQ((target * (torch::arange(target.numel(), torch::kInt64) % 7 + 1)).sum().item<double>(), c.targetChecksum);

  auto logits = inputs.logits.to(dtype).detach().requires_grad_(true);
  const auto loss = computeLoss(c, logits, inputs.target);
  EXPECT_EQ(loss.scalar_type(), dtype) << "float32 logits keep float32 statistics, float64 stay float64";
  // Reduction "none": MONAI returns (B, C, 1, 1, 1) (GDL (B, 1, 1, 1, 1)), we return (B, C)
  // (GDL (B)); same values, same order (docs/losses.md).
  ASSERT_EQ(loss.sizes().vec(), c.ourShape) << "MONAI's shape: " << c10::IntArrayRef(c.monaiShape);
  ASSERT_EQ(loss.numel(), c.valueSize);
  ASSERT_EQ(n, c.gradSize);

  const auto value = compare(loss, c.value, c.valueSize, tolerance);
  EXPECT_EQ(value.failures, 0) << "loss element " << value.worstIndex << ": ours " << value.oursAtWorst
                               << ", MONAI " << value.refAtWorst << " (difference " << format(value.worst)
                               << ", tolerance " << format(tolerance) << why << ")";

  // For "none" the script differentiates sum_k (k + 1) f_k: each element counts distinctly.
  auto scalar = loss;
  if (reductionOf(c) == Reduction::None) {
    scalar = (loss.reshape({-1}) * torch::arange(1, loss.numel() + 1, loss.options())).sum();
  }
  scalar.backward();
  ASSERT_TRUE(logits.grad().defined());
  const auto grad = compare(logits.grad(), c.grad, c.gradSize, tolerance);
  EXPECT_EQ(grad.failures, 0) << grad.failures << " of " << c.gradSize << " gradient elements differ; worst at "
                              << position(c, grad.worstIndex) << ": ours " << grad.oursAtWorst << ", MONAI "
                              << grad.refAtWorst << " (difference " << format(grad.worst) << ", tolerance "
                              << format(tolerance) << why << ")";
  ::testing::Test::RecordProperty("max_value_diff", format(value.worst));
  ::testing::Test::RecordProperty("max_grad_diff", format(grad.worst));
}

class MonaiCrossCheckTest : public ::testing::TestWithParam<MonaiLossCase> {};

TEST_P(MonaiCrossCheckTest, Float32) { checkAgainstMonai(GetParam(), torch::kFloat32); }
TEST_P(MonaiCrossCheckTest, Float64) { checkAgainstMonai(GetParam(), torch::kFloat64); }

INSTANTIATE_TEST_SUITE_P(Monai, MonaiCrossCheckTest, ::testing::ValuesIn(monai_reference::monaiLossCases()),
                         [](const ::testing::TestParamInfo<MonaiLossCase>& info) { return std::string(info.param.name); });

// The one difference in behaviour: MONAI's softmax=True over a single channel warns and
// scores the raw logits as probabilities (monai_reference.py checks that MONAI 1.6.1 still
// does); a softmax over one channel is the constant 1, so we refuse instead of guessing.
TEST(MonaiCrossCheck, SoftmaxOverOneChannelIsRefused) {
  const auto logits = torch::zeros({2, 1, 3, 4, 5});
  const auto labels = torch::zeros({2, 1, 3, 4, 5}, torch::kInt64);
  for (const auto& run : std::vector<std::function<void()>>{
           [&] { diceLoss(logits, labels, DiceLossOptions().activation(Activation::Softmax)); },
           [&] { diceCELoss(logits, labels, DiceCELossOptions()); },
           [&] { generalizedDiceLoss(logits, labels, GeneralizedDiceLossOptions()); }}) {
    try {
      run();
      ADD_FAILURE() << "softmax over one channel was accepted";
    } catch (const c10::Error& e) {
      EXPECT_EQ(std::string(e.what_without_backtrace()),
                "softmax over a single channel is constant (logits [2, 1, 3, 4, 5]); use sigmoid for one output channel");
    }
  }
}

}  // namespace
}  // namespace seg
