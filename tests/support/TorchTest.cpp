#include "support/TorchTest.h"

#include <torch/torch.h>

#include <limits>
#include <sstream>

namespace seg::test {

void SeededTest::SetUp() { torch::manual_seed(0); }

namespace {

torch::Tensor asDouble(const torch::Tensor& t) { return t.detach().to(torch::kCPU).to(torch::kFloat64); }

std::string shapeOf(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// [i, j, k] of flat index `flat` in a contiguous tensor of `sizes`.
std::string indexOf(int64_t flat, c10::IntArrayRef sizes) {
  std::vector<int64_t> index(sizes.size());
  for (size_t d = sizes.size(); d-- > 0;) {
    index[d] = flat % sizes[d];
    flat /= sizes[d];
  }
  std::ostringstream s;
  s << "[";
  for (size_t d = 0; d < index.size(); ++d) s << (d ? ", " : "") << index[d];
  s << "]";
  return s.str();
}

}  // namespace

double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  const auto diff = (asDouble(a) - asDouble(b)).abs();
  return diff.numel() == 0 ? 0.0 : diff.max().item<double>();
}

::testing::AssertionResult tensorsClose(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                                        double rtol) {
  std::vector<torch::Tensor> both;
  try {
    both = torch::broadcast_tensors({asDouble(actual), asDouble(expected)});
  } catch (const c10::Error&) {
    return ::testing::AssertionFailure() << "shapes " << shapeOf(actual) << " (actual) and " << shapeOf(expected)
                                         << " (expected) do not broadcast";
  }
  const auto a = both[0].contiguous(), e = both[1].contiguous();
  const auto diff = (a - e).abs();
  // a == e first: equal infinities are close although inf - inf is NaN (torch::isclose too).
  const auto close = (a == e) | (diff <= atol + rtol * e.abs());
  const int64_t failures = (~close).sum().item<int64_t>();
  if (failures == 0) return ::testing::AssertionSuccess();
  // The worst element outside the tolerance; NaN counts as the largest difference.
  const auto score = torch::where(close, torch::full_like(diff, -1.0),
                                  torch::where(torch::isnan(diff), torch::full_like(diff, std::numeric_limits<double>::infinity()), diff));
  const int64_t worst = score.reshape({-1}).argmax().item<int64_t>();
  std::ostringstream s;
  s.precision(9);
  s << failures << " of " << a.numel() << " elements outside |actual - expected| <= " << atol << " + " << rtol
    << " * |expected|; the largest, |difference| " << diff.reshape({-1})[worst].item<double>() << " at "
    << indexOf(worst, a.sizes()) << ": actual " << a.reshape({-1})[worst].item<double>() << ", expected "
    << e.reshape({-1})[worst].item<double>() << " (shapes " << shapeOf(actual) << " and " << shapeOf(expected)
    << ")";
  return ::testing::AssertionFailure() << s.str();
}

bool expectTensorClose(const torch::Tensor& actual, const torch::Tensor& expected, double atol, double rtol,
                       const std::string& what, const char* file, int line) {
  const ::testing::AssertionResult result = tensorsClose(actual, expected, atol, rtol);
  if (!result) ADD_FAILURE_AT(file, line) << (what.empty() ? std::string() : what + ": ") << result.message();
  return static_cast<bool>(result);
}

}  // namespace seg::test
