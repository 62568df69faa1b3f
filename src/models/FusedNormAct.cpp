#include "models/FusedNormAct.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace seg {

namespace {

// Sum and sum of squares of (x - shift) over one plane. Short float partial sums in 16
// lanes (the compiler vectorises them) are flushed into double every 256 values, so the
// statistics stay within ~1e-7 relative of a double-precision reference; the shift (the
// plane's first value) keeps var = E[d^2] - E[d]^2 free of cancellation when the mean is
// large against the spread.
void planeMoments(const float* p, int64_t n, float shift, double& sum, double& sumSq) {
  constexpr int64_t kLanes = 16, kBlock = 256;
  sum = 0.0;
  sumSq = 0.0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t len = std::min(kBlock, n - start);
    const float* q = p + start;
    float s[kLanes] = {}, ss[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const float d = q[i + l] - shift;
        s[l] += d;
        ss[l] += d * d;
      }
    }
    for (; i < len; ++i) {
      const float d = q[i] - shift;
      s[0] += d;
      ss[0] += d * d;
    }
    for (int64_t l = 0; l < kLanes; ++l) {
      sum += s[l];
      sumSq += ss[l];
    }
  }
}

// y = (x - mean) * scale + bias: subtracting the mean first (rather than PyTorch's
// x * scale + (bias - mean * scale)) keeps planes with a large mean and a small spread exact.
void normalizePlane(const float* in, float* out, int64_t n, float mean, float scale, float offset, float slope) {
  if (slope >= 0.0f && slope <= 1.0f) {
    // For 0 <= slope <= 1, max(y, slope * y) is exactly y > 0 ? y : slope * y, and
    // vectorises without a branch.
    for (int64_t i = 0; i < n; ++i) {
      const float y = (in[i] - mean) * scale + offset;
      out[i] = std::max(y, y * slope);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float y = (in[i] - mean) * scale + offset;
      out[i] = y > 0.0f ? y : y * slope;
    }
  }
}

}  // namespace

void instanceNormLeakyRelu(const torch::Tensor& input, const torch::Tensor& output, const torch::Tensor& weight,
                           const torch::Tensor& bias, double eps, double negativeSlope) {
  TORCH_CHECK(input.dim() >= 3 && input.device().is_cpu() && input.scalar_type() == torch::kFloat32 &&
                  input.is_contiguous(),
              "instanceNormLeakyRelu: input must be a contiguous float32 CPU tensor (B, C, ...), got ",
              input.sizes(), " ", input.scalar_type());
  TORCH_CHECK(output.sizes() == input.sizes() && output.scalar_type() == torch::kFloat32 && output.device().is_cpu(),
              "instanceNormLeakyRelu: output ", output.sizes(), " does not match input ", input.sizes());
  const int64_t batch = input.size(0), channels = input.size(1);
  const int64_t plane = input.numel() / std::max<int64_t>(1, batch * channels);
  // Each plane of the output must be contiguous; the planes themselves may be spaced out.
  int64_t expected = 1;
  for (int64_t d = output.dim() - 1; d >= 2; --d) {
    TORCH_CHECK(output.size(d) == 1 || output.stride(d) == expected,
                "instanceNormLeakyRelu: every (b, c) plane of the output must be contiguous");
    expected *= output.size(d);
  }
  TORCH_CHECK(weight.numel() == channels && bias.numel() == channels,
              "instanceNormLeakyRelu: weight and bias need ", channels, " values, got ", weight.numel(), " and ",
              bias.numel());
  const auto w = weight.to(torch::kFloat32).contiguous(), b = bias.to(torch::kFloat32).contiguous();
  const float* wp = w.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  const float* in = input.data_ptr<float>();
  float* out = output.data_ptr<float>();
  const int64_t outBatchStride = output.stride(0), outChannelStride = output.stride(1);
  const auto slope = static_cast<float>(negativeSlope);
  at::parallel_for(0, batch * channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t n = k / channels, c = k % channels;
      const float* src = in + k * plane;
      float* dst = out + n * outBatchStride + c * outChannelStride;
      double sum = 0.0, sumSq = 0.0;
      const float shift = plane > 0 ? src[0] : 0.0f;
      planeMoments(src, plane, shift, sum, sumSq);
      const double meanShifted = sum / static_cast<double>(plane);
      const double var = std::max(0.0, sumSq / static_cast<double>(plane) - meanShifted * meanShifted);
      const double mean = meanShifted + shift;
      const double scale = wp[c] / std::sqrt(var + eps);
      normalizePlane(src, dst, plane, static_cast<float>(mean), static_cast<float>(scale), bp[c], slope);
    }
  });
}

}  // namespace seg
