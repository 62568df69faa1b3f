#include "models/FusedNormAct.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

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

// ---- channels-last (NDHWC) kernels -------------------------------------------------------
// Element (b, c, voxel v) of a channels-last tensor with C channels sits at
// b * batchStride + v * voxelStride + c; a contiguous one has voxelStride = C, a channel
// slice of a wider buffer keeps the buffer's. Work is split into (sample, voxel chunk)
// tasks so that both threads stay busy at batch 1; the channel loop is innermost and
// contiguous, so it vectorises.
constexpr int64_t kVoxelChunk = 4096;
constexpr int64_t kFlushBlock = 256;  // float partial sums flushed into double this often

struct ChannelsLast {
  int64_t batch = 0, channels = 0, voxels = 0, batchStride = 0, voxelStride = 0;
  int64_t chunks() const { return (voxels + kVoxelChunk - 1) / kVoxelChunk; }
};

ChannelsLast contiguousChannelsLast(const torch::Tensor& t) {
  ChannelsLast g;
  g.batch = t.size(0);
  g.channels = t.size(1);
  g.voxels = t.numel() / std::max<int64_t>(1, g.batch * g.channels);
  g.voxelStride = g.channels;
  g.batchStride = g.voxels * g.channels;
  return g;
}

// Strides of `out` as a channels-last tensor or a channel slice of one; throws otherwise.
ChannelsLast channelsLastOutput(const torch::Tensor& out) {
  if (out.is_contiguous(at::MemoryFormat::ChannelsLast3d)) return contiguousChannelsLast(out);
  ChannelsLast g = contiguousChannelsLast(out);
  g.voxelStride = out.stride(4);
  g.batchStride = out.stride(0);
  const bool sliced = (g.channels == 1 || out.stride(1) == 1) && g.voxelStride >= g.channels &&
                      (out.size(3) == 1 || out.stride(3) == out.size(4) * g.voxelStride) &&
                      (out.size(2) == 1 || out.stride(2) == out.size(3) * out.size(4) * g.voxelStride) &&
                      (g.batch == 1 || g.batchStride >= g.voxels * g.voxelStride);
  TORCH_CHECK(sliced, "instanceNormLeakyRelu: a channels-last input needs a channels-last output (or a channel slice "
                      "of one), got strides ", out.strides());
  return g;
}

// The loops over one chunk of voxels [v0, v1) of one sample (pointers at the sample's
// first voxel, C channels per voxel). They are built for AVX-512, AVX2 and baseline x86-64
// and the loader picks the best one the CPU has (GCC/Clang function multiversioning): the
// baseline SSE2 build of the backward ran 3.5x slower than AVX-512 on the benchmark machine
// (2 x 16 x 64^3: 97 against 28 ms), slower than PyTorch's own runtime-dispatched kernels.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SEG_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SEG_VECTOR_CLONES
#endif
// In place (x == out) an element is read and then written at the same index: no dependence
// between iterations, which GCC's runtime overlap check would otherwise reject.
#if defined(__GNUC__) && !defined(__clang__)
#define SEG_IVDEP _Pragma("GCC ivdep")
#elif defined(__clang__)
#define SEG_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#else
#define SEG_IVDEP
#endif

// Sums of x - x[voxel 0] and of its square per channel, added to sum and sumSq; s and ss
// are C floats of scratch.
template <class T>
SEG_VECTOR_CLONES
void momentsChunk(const T* __restrict x, int64_t C, int64_t v0, int64_t v1, double* __restrict sum,
                  double* __restrict sumSq, float* __restrict s, float* __restrict ss) {
  const T* __restrict shift = x;
  for (int64_t start = v0; start < v1; start += kFlushBlock) {
    std::fill(s, s + C, 0.0f);
    std::fill(ss, ss + C, 0.0f);
    for (int64_t v = start, end = std::min(v1, start + kFlushBlock); v < end; ++v) {
      const T* __restrict p = x + v * C;
      for (int64_t c = 0; c < C; ++c) {
        const float d = static_cast<float>(p[c]) - static_cast<float>(shift[c]);
        s[c] += d;
        ss[c] += d * d;
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      sum[c] += s[c];
      sumSq[c] += ss[c];
    }
  }
}

// out[v * outVoxelStride + c] = act((x - mean) * scale + bias).
template <class T>
SEG_VECTOR_CLONES
void applyChunk(const T* x, T* out, int64_t outVoxelStride, int64_t C, int64_t v0, int64_t v1,
                const float* __restrict m, const float* __restrict sc, const float* __restrict bi, float slope) {
  // For 0 <= slope <= 1, max(y, slope * y) is exactly y > 0 ? y : slope * y, without a branch.
  const bool branchless = slope >= 0.0f && slope <= 1.0f;
  for (int64_t v = v0; v < v1; ++v) {
    const T* p = x + v * C;  // may be `out` itself (in place): no __restrict
    T* q = out + v * outVoxelStride;
    if (branchless) {
      SEG_IVDEP
      for (int64_t c = 0; c < C; ++c) {
        const float y = (static_cast<float>(p[c]) - m[c]) * sc[c] + bi[c];
        q[c] = static_cast<T>(std::max(y, y * slope));
      }
    } else {
      SEG_IVDEP
      for (int64_t c = 0; c < C; ++c) {
        const float y = (static_cast<float>(p[c]) - m[c]) * sc[c] + bi[c];
        const float leaked = y * slope;
        q[c] = static_cast<T>(y > 0.0f ? y : leaked);
      }
    }
  }
}

// Backward pass 1: per channel sums of dy = dz * (z > 0 ? 1 : slope) and of dy * xhat.
template <class T>
SEG_VECTOR_CLONES
void backwardSumsChunk(const T* __restrict dz, const T* __restrict x, const T* __restrict z, int64_t C,
                       int64_t v0, int64_t v1, const float* __restrict m, const float* __restrict r, float slope,
                       double* __restrict sumDy, double* __restrict sumDyXhat, float* __restrict s,
                       float* __restrict ss) {
  for (int64_t start = v0; start < v1; start += kFlushBlock) {
    std::fill(s, s + C, 0.0f);
    std::fill(ss, ss + C, 0.0f);
    for (int64_t v = start, end = std::min(v1, start + kFlushBlock); v < end; ++v) {
      const T* __restrict gz = dz + v * C;
      const T* __restrict xv = x + v * C;
      const T* __restrict zv = z + v * C;
      for (int64_t c = 0; c < C; ++c) {
        // Both products first: a multiply inside the condition keeps GCC from vectorising.
        const float g = static_cast<float>(gz[c]), leaked = g * slope;
        const float dy = static_cast<float>(zv[c]) > 0.0f ? g : leaked;
        s[c] += dy;
        ss[c] += dy * ((static_cast<float>(xv[c]) - m[c]) * r[c]);
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      sumDy[c] += s[c];
      sumDyXhat[c] += ss[c];
    }
  }
}

// Backward pass 2: dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), k = weight * rstd.
template <class T>
SEG_VECTOR_CLONES
void backwardDxChunk(const T* __restrict dz, const T* __restrict x, const T* __restrict z, int64_t C,
                     int64_t v0, int64_t v1, const float* __restrict k, const float* __restrict m,
                     const float* __restrict r, const float* __restrict meanDy, const float* __restrict meanDyXhat,
                     float slope, T* __restrict dx) {
  for (int64_t v = v0; v < v1; ++v) {
    const T* __restrict gz = dz + v * C;
    const T* __restrict xv = x + v * C;
    const T* __restrict zv = z + v * C;
    T* __restrict out = dx + v * C;
    for (int64_t c = 0; c < C; ++c) {
      const float g = static_cast<float>(gz[c]), leaked = g * slope;
      const float dy = static_cast<float>(zv[c]) > 0.0f ? g : leaked;
      out[c] = static_cast<T>(k[c] * (dy - meanDy[c] - (static_cast<float>(xv[c]) - m[c]) * r[c] * meanDyXhat[c]));
    }
  }
}

template <class Task>
void forEachChunk(const ChannelsLast& g, const Task& task) {
  const int64_t chunks = g.chunks();
  at::parallel_for(0, g.batch * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / chunks, v0 = (t % chunks) * kVoxelChunk;
      task(b, v0, std::min(g.voxels, v0 + kVoxelChunk), t);
    }
  });
}

// The two sums of (sample b, channel c) over its chunks: task t = b * chunks + k wrote its C
// first and C second sums at partial[2 C t ...].
std::pair<double, double> addChunks(const std::vector<double>& partial, int64_t b, int64_t c, int64_t chunks,
                                    int64_t C) {
  double first = 0.0, second = 0.0;
  for (int64_t k = 0; k < chunks; ++k) {
    const auto at = static_cast<size_t>((b * chunks + k) * 2 * C + c);
    first += partial[at];
    second += partial[at + static_cast<size_t>(C)];
  }
  return {first, second};
}

// Per (b, c): mean and 1 / sqrt(var + eps) of a contiguous channels-last tensor, the sums
// taken of x - (the sample's first voxel) for the same reason as planeMoments.
template <class T>
void channelsLastMoments(const T* x, const ChannelsLast& g, double eps, float* mean, float* rstd) {
  const int64_t C = g.channels, chunks = g.chunks();
  std::vector<double> partial(static_cast<size_t>(g.batch * chunks * 2 * C), 0.0);
  forEachChunk(g, [&](int64_t b, int64_t v0, int64_t v1, int64_t task) {
    std::vector<float> scratch(static_cast<size_t>(2 * C));
    double* sum = partial.data() + task * 2 * C;
    momentsChunk(x + b * g.batchStride, C, v0, v1, sum, sum + C, scratch.data(), scratch.data() + C);
  });
  const auto n = static_cast<double>(g.voxels);
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      const auto [sum, sumSq] = addChunks(partial, b, c, chunks, C);
      const double meanShifted = sum / n;
      const double var = std::max(0.0, sumSq / n - meanShifted * meanShifted);
      const auto shift = static_cast<double>(static_cast<float>(x[b * g.batchStride + c]));
      mean[b * C + c] = static_cast<float>(meanShifted + shift);
      rstd[b * C + c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    }
  }
}

// out = act((x - mean) * rstd * weight + bias) for a contiguous channels-last x; `out` has
// the strides in `o` (it may be x itself).
template <class T>
void channelsLastApply(const T* x, const ChannelsLast& g, T* out, const ChannelsLast& o, const float* mean,
                       const float* rstd, const float* weight, const float* bias, float slope) {
  const int64_t C = g.channels;
  forEachChunk(g, [&](int64_t b, int64_t v0, int64_t v1, int64_t) {
    std::vector<float> scale(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) scale[c] = rstd[b * C + c] * weight[c];
    applyChunk(x + b * g.batchStride, out + b * o.batchStride, o.voxelStride, C, v0, v1, mean + b * C, scale.data(),
               bias, slope);
  });
}

// The backward of channelsLastApply. dz, x, z: contiguous channels-last; writes dx (same
// layout) and accumulates dweight, dbias (C each, zeroed by the caller).
template <class T>
void channelsLastBackward(const T* dz, const T* x, const T* z, const ChannelsLast& g, const float* mean,
                          const float* rstd, const float* weight, float slope, T* dx, float* dweight,
                          float* dbias) {
  const int64_t C = g.channels, chunks = g.chunks();
  // Pass 1: per (b, c) sums of dy and dy * xhat.
  std::vector<double> partial(static_cast<size_t>(g.batch * chunks * 2 * C), 0.0);
  forEachChunk(g, [&](int64_t b, int64_t v0, int64_t v1, int64_t task) {
    std::vector<float> scratch(static_cast<size_t>(2 * C));
    double* sums = partial.data() + task * 2 * C;
    const int64_t at = b * g.batchStride;
    backwardSumsChunk(dz + at, x + at, z + at, C, v0, v1, mean + b * C, rstd + b * C, slope, sums, sums + C,
                      scratch.data(), scratch.data() + C);
  });
  std::vector<float> meanDy(static_cast<size_t>(g.batch * C)), meanDyXhat(static_cast<size_t>(g.batch * C));
  std::vector<double> dw(static_cast<size_t>(C), 0.0), db(static_cast<size_t>(C), 0.0);
  const auto n = static_cast<double>(g.voxels);
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      const auto [s1, s2] = addChunks(partial, b, c, chunks, C);
      db[c] += s1;
      dw[c] += s2;
      meanDy[b * C + c] = static_cast<float>(s1 / n);
      meanDyXhat[b * C + c] = static_cast<float>(s2 / n);
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    dweight[c] += static_cast<float>(dw[c]);
    dbias[c] += static_cast<float>(db[c]);
  }
  // Pass 2: dx = weight * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
  forEachChunk(g, [&](int64_t b, int64_t v0, int64_t v1, int64_t) {
    std::vector<float> k(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) k[c] = weight[c] * rstd[b * C + c];
    const int64_t at = b * g.batchStride;
    backwardDxChunk(dz + at, x + at, z + at, C, v0, v1, k.data(), mean + b * C, rstd + b * C, meanDy.data() + b * C,
                    meanDyXhat.data() + b * C, slope, dx + at);
  });
}

void checkAffine(const torch::Tensor& weight, const torch::Tensor& bias, int64_t channels) {
  TORCH_CHECK(weight.defined() && bias.defined() && weight.numel() == channels && bias.numel() == channels,
              "instanceNormLeakyRelu: weight and bias need ", channels, " values, got ",
              weight.defined() ? weight.numel() : 0, " and ", bias.defined() ? bias.numel() : 0);
}

// float32 or bfloat16 activations (CPU autocast runs the convolutions, and so the norm, in
// bfloat16; statistics and parameters stay float32 as in PyTorch's batch_norm kernels).
template <class Body>
void dispatchActivation(const torch::Tensor& x, const Body& body) {
  if (x.scalar_type() == torch::kBFloat16) {
    body(c10::BFloat16{});
  } else {
    body(float{});
  }
}

class InstanceNormLeakyReluFunction : public torch::autograd::Function<InstanceNormLeakyReluFunction> {
 public:
  // x: contiguous channels-last (the caller converts it, so that x is the saved input).
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, double eps, double slope) {
    const ChannelsLast g = contiguousChannelsLast(x);
    const auto w = weight.contiguous(), b = bias.contiguous();
    const auto statsOptions = x.options().dtype(torch::kFloat32);
    auto mean = torch::empty({g.batch * g.channels}, statsOptions);
    auto rstd = torch::empty({g.batch * g.channels}, statsOptions);
    auto out = torch::empty_like(x, at::MemoryFormat::ChannelsLast3d);
    dispatchActivation(x, [&](auto type) {
      using T = decltype(type);
      channelsLastMoments(x.data_ptr<T>(), g, eps, mean.data_ptr<float>(), rstd.data_ptr<float>());
      channelsLastApply(x.data_ptr<T>(), g, out.data_ptr<T>(), g, mean.data_ptr<float>(), rstd.data_ptr<float>(),
                        w.data_ptr<float>(), b.data_ptr<float>(), static_cast<float>(slope));
    });
    ctx->save_for_backward({x, out, w, mean, rstd});
    ctx->saved_data["slope"] = slope;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &z = saved[1], &w = saved[2], &mean = saved[3], &rstd = saved[4];
    const auto slope = static_cast<float>(ctx->saved_data["slope"].toDouble());
    const auto dz = grads[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast3d);
    const ChannelsLast g = contiguousChannelsLast(x);
    auto dx = torch::empty_like(x, at::MemoryFormat::ChannelsLast3d);
    auto dw = torch::zeros({g.channels}, w.options()), db = torch::zeros({g.channels}, w.options());
    dispatchActivation(x, [&](auto type) {
      using T = decltype(type);
      channelsLastBackward(dz.data_ptr<T>(), x.data_ptr<T>(), z.data_ptr<T>(), g, mean.data_ptr<float>(),
                           rstd.data_ptr<float>(), w.data_ptr<float>(), slope, dx.data_ptr<T>(), dw.data_ptr<float>(),
                           db.data_ptr<float>());
    });
    return {dx, dw, db, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor channelsLast(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 5, "channelsLast: expected (B, C, Z, Y, X), got ", x.sizes());
  if (x.size(1) == 1 && x.is_contiguous()) {
    // One channel: NCDHW and NDHWC are the same bytes; only the strides tell oneDNN
    // which layout to produce.
    return x.as_strided(x.sizes(), {x.stride(0), 1, x.stride(2), x.stride(3), x.stride(4)});
  }
  return x.contiguous(at::MemoryFormat::ChannelsLast3d);
}

bool instanceNormLeakyReluTrainableApplies(const torch::Tensor& x) {
  return x.dim() == 5 && x.device().is_cpu() &&
         (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16);
}

torch::Tensor instanceNormLeakyReluTrainable(const torch::Tensor& x, const torch::Tensor& weight,
                                             const torch::Tensor& bias, double eps, double negativeSlope) {
  TORCH_CHECK(instanceNormLeakyReluTrainableApplies(x),
              "instanceNormLeakyReluTrainable: x must be a float32 or bfloat16 CPU tensor (B, C, Z, Y, X), got ",
              x.sizes(), " ", x.scalar_type(), " on ", x.device());
  checkAffine(weight, bias, x.size(1));
  TORCH_CHECK(weight.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32,
              "instanceNormLeakyReluTrainable: weight and bias must be float32");
  // Backward reads the activation's branch off the result (z > 0 exactly where y > 0),
  // which holds for slopes >= 0 only.
  TORCH_CHECK(negativeSlope >= 0.0, "instanceNormLeakyReluTrainable: negative_slope must be >= 0, got ",
              negativeSlope);
  return InstanceNormLeakyReluFunction::apply(x.contiguous(at::MemoryFormat::ChannelsLast3d), weight, bias, eps,
                                              negativeSlope);
}

void instanceNormLeakyRelu(const torch::Tensor& input, const torch::Tensor& output, const torch::Tensor& weight,
                           const torch::Tensor& bias, double eps, double negativeSlope) {
  TORCH_CHECK(input.dim() >= 3 && input.device().is_cpu() && input.scalar_type() == torch::kFloat32,
              "instanceNormLeakyRelu: input must be a float32 CPU tensor (B, C, ...), got ", input.sizes(), " ",
              input.scalar_type());
  TORCH_CHECK(output.sizes() == input.sizes() && output.scalar_type() == torch::kFloat32 && output.device().is_cpu(),
              "instanceNormLeakyRelu: output ", output.sizes(), " does not match input ", input.sizes());
  checkAffine(weight, bias, input.size(1));
  const auto w = weight.to(torch::kFloat32).contiguous(), b = bias.to(torch::kFloat32).contiguous();
  const auto slope = static_cast<float>(negativeSlope);
  // Channels-last unless the input is plain NCDHW (both, for one channel or one voxel:
  // then the output decides).
  if (input.dim() == 5 && input.is_contiguous(at::MemoryFormat::ChannelsLast3d) &&
      (!input.is_contiguous() || !output.is_contiguous())) {
    const ChannelsLast g = contiguousChannelsLast(input);
    const ChannelsLast o = channelsLastOutput(output);
    std::vector<float> mean(static_cast<size_t>(g.batch * g.channels)), rstd(mean.size());
    channelsLastMoments(input.data_ptr<float>(), g, eps, mean.data(), rstd.data());
    channelsLastApply(input.data_ptr<float>(), g, output.data_ptr<float>(), o, mean.data(), rstd.data(),
                      w.data_ptr<float>(), b.data_ptr<float>(), slope);
    return;
  }
  TORCH_CHECK(input.is_contiguous(),
              "instanceNormLeakyRelu: input must be contiguous (NCDHW) or channels-last contiguous, got strides ",
              input.strides());
  const int64_t batch = input.size(0), channels = input.size(1);
  const int64_t plane = input.numel() / std::max<int64_t>(1, batch * channels);
  // Each plane of the output must be contiguous; the planes themselves may be spaced out.
  int64_t expected = 1;
  for (int64_t d = output.dim() - 1; d >= 2; --d) {
    TORCH_CHECK(output.size(d) == 1 || output.stride(d) == expected,
                "instanceNormLeakyRelu: every (b, c) plane of the output must be contiguous");
    expected *= output.size(d);
  }
  const float* wp = w.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  const float* in = input.data_ptr<float>();
  float* out = output.data_ptr<float>();
  const int64_t outBatchStride = output.stride(0), outChannelStride = output.stride(1);
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
