#include "infer/SlidingWindow.h"

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace seg {

std::vector<int64_t> slidingWindowSteps(int64_t size, int64_t patch, double overlap) {
  TORCH_CHECK(size >= patch, "sliding window: image size ", size, " is smaller than the patch ", patch);
  TORCH_CHECK(overlap >= 0.0 && overlap < 1.0, "sliding window: overlap must be in [0, 1), got ", overlap);
  const double target = static_cast<double>(patch) * (1.0 - overlap);
  const int64_t count = static_cast<int64_t>(std::ceil(static_cast<double>(size - patch) / target)) + 1;
  std::vector<int64_t> steps;
  const double actual = count > 1 ? static_cast<double>(size - patch) / static_cast<double>(count - 1) : 0.0;
  // nnU-Net rounds with np.round, which rounds halves to even; std::nearbyint does the
  // same in the default rounding mode (std::llround would round 8.5 up to 9).
  for (int64_t i = 0; i < count; ++i) steps.push_back(static_cast<int64_t>(std::nearbyint(actual * i)));
  return steps;
}

torch::Tensor gaussianImportance(const std::array<int64_t, 3>& patchZYX, double sigmaScale) {
  std::vector<torch::Tensor> axes;
  for (int64_t p : patchZYX) {
    const double sigma = std::max(1e-6, p * sigmaScale);
    const double centre = static_cast<double>(p / 2);  // nnU-Net centres at patch // 2
    auto d = torch::arange(p, torch::kFloat64) - centre;
    axes.push_back(torch::exp(-(d * d) / (2.0 * sigma * sigma)));
  }
  auto w = axes[0].view({-1, 1, 1}) * axes[1].view({1, -1, 1}) * axes[2].view({1, 1, -1});
  w = w / w.max();
  // Zero weights would divide by zero at tile borders that only one tile covers.
  const auto smallest = w.masked_select(w > 0).min();
  return torch::clamp_min(w, smallest).to(torch::kFloat32);
}

namespace {

// Computes batches 0..count-1 on `workers` threads (each with its share of the intra-op
// threads) and hands the results to `consume` on the calling thread strictly in batch
// order, so the floating-point accumulation is the same as a sequential run. The first
// exception thrown by a worker stops the others and is rethrown here.
void runTileWorkers(size_t count, size_t workers, const std::function<torch::Tensor(size_t)>& produce,
                    const std::function<void(size_t, const torch::Tensor&)>& consume) {
  const int threadsBefore = at::get_num_threads();
  const int perWorker = std::max(1, threadsBefore / static_cast<int>(workers));
  std::mutex mutex;
  std::condition_variable ready;
  std::vector<torch::Tensor> results(count);
  std::vector<bool> done(count, false);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      // Per-thread OpenMP team size (omp_set_num_threads acts on the calling thread).
      at::set_num_threads(perWorker);
      c10::InferenceMode inference;
      for (size_t b = next++; b < count && !failed; b = next++) {
        try {
          auto out = produce(b);
          std::lock_guard<std::mutex> lock(mutex);
          results[b] = std::move(out);
          done[b] = true;
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!error) error = std::current_exception();
          failed = true;
        }
        ready.notify_all();
      }
    });
  }
  std::exception_ptr consumeError;
  for (size_t b = 0; b < count; ++b) {
    torch::Tensor out;
    {
      std::unique_lock<std::mutex> lock(mutex);
      ready.wait(lock, [&] { return done[b] || failed.load(); });
      if (!done[b]) break;
      out = std::move(results[b]);
    }
    try {
      consume(b, out);
    } catch (...) {
      consumeError = std::current_exception();
      failed = true;
      break;
    }
  }
  for (auto& t : pool) t.join();
  at::set_num_threads(threadsBefore);  // also restores the process-wide default
  if (error) std::rethrow_exception(error);
  if (consumeError) std::rethrow_exception(consumeError);
}

}  // namespace

int64_t resolveTileWorkers(int64_t requested, const torch::Device& device) {
  TORCH_CHECK(requested >= 0, "sliding window: tile workers must be >= 0, got ", requested);
  if (!device.is_cpu()) return 1;
  if (requested > 0) return requested;
  return std::clamp<int64_t>(at::get_num_threads(), 1, 4);
}

torch::Tensor slidingWindowInference(const torch::Tensor& image, const Network& network,
                                     const SlidingWindowOptions& options) {
  TORCH_CHECK(image.dim() == 4, "sliding window: expected (C, Z, Y, X), got ", image.sizes());
  TORCH_CHECK(options.tileBatch >= 1, "sliding window: tile batch must be >= 1, got ", options.tileBatch);
  c10::InferenceMode inference;
  const auto& patch = options.patchZYX;
  // Pad symmetrically (zero = mean after z-scoring) when the volume is smaller than a patch.
  std::vector<int64_t> pad;  // torch::constant_pad_nd order: last axis first
  std::array<int64_t, 3> before{};
  for (int a = 2; a >= 0; --a) {
    const int64_t missing = std::max<int64_t>(0, patch[a] - image.size(a + 1));
    before[a] = missing / 2;
    pad.push_back(missing / 2);
    pad.push_back(missing - missing / 2);
  }
  const auto padded = torch::constant_pad_nd(image, pad, 0.0);
  const std::array<int64_t, 3> dims{padded.size(1), padded.size(2), padded.size(3)};

  const auto weights = gaussianImportance(patch, options.sigmaScale).to(options.device);
  torch::Tensor logits;  // (K, Z, Y, X) on the device, fp32
  torch::Tensor norm = torch::zeros({dims[0], dims[1], dims[2]}, torch::TensorOptions().dtype(torch::kFloat32).device(options.device));

  std::vector<std::array<int64_t, 3>> tiles;
  for (int64_t z : slidingWindowSteps(dims[0], patch[0], options.overlap))
    for (int64_t y : slidingWindowSteps(dims[1], patch[1], options.overlap))
      for (int64_t x : slidingWindowSteps(dims[2], patch[2], options.overlap)) tiles.push_back({z, y, x});
  const auto tileBatch = static_cast<size_t>(options.tileBatch);
  const size_t batches = (tiles.size() + tileBatch - 1) / tileBatch;

  auto predict = [&](const torch::Tensor& batch) {
    auto out = network(batch).to(torch::kFloat32);
    if (!options.mirror) return out;
    // All 8 combinations of flipping Z, Y, X (spatial dims 2, 3, 4 of the batch).
    for (int mask = 1; mask < 8; ++mask) {
      std::vector<int64_t> flipDims;
      for (int a = 0; a < 3; ++a)
        if (mask & (1 << a)) flipDims.push_back(a + 2);
      out += network(batch.flip(flipDims)).to(torch::kFloat32).flip(flipDims);
    }
    return out / 8.0;
  };
  const auto source = padded.to(options.device);
  auto region = [&](const torch::Tensor& t, int64_t firstDim, const std::array<int64_t, 3>& s) {
    return t.slice(firstDim, s[0], s[0] + patch[0])
        .slice(firstDim + 1, s[1], s[1] + patch[1])
        .slice(firstDim + 2, s[2], s[2] + patch[2]);
  };
  auto runBatch = [&](size_t b) {
    std::vector<torch::Tensor> crops;
    for (size_t t = b * tileBatch; t < std::min(tiles.size(), (b + 1) * tileBatch); ++t) crops.push_back(region(source, 1, tiles[t]));
    return predict(torch::stack(crops));
  };
  auto accumulate = [&](size_t b, const torch::Tensor& out) {
    if (!logits.defined()) {
      logits = torch::zeros({out.size(1), dims[0], dims[1], dims[2]},
                            torch::TensorOptions().dtype(torch::kFloat32).device(options.device));
    }
    for (size_t t = b * tileBatch; t < std::min(tiles.size(), (b + 1) * tileBatch); ++t) {
      region(logits, 1, tiles[t]) += out[static_cast<int64_t>(t - b * tileBatch)] * weights;
      region(norm, 0, tiles[t]) += weights;
    }
  };

  const size_t workers = options.device.is_cpu()
                             ? static_cast<size_t>(std::clamp<int64_t>(options.workers, 1, static_cast<int64_t>(batches)))
                             : 1;
  if (workers <= 1) {
    for (size_t b = 0; b < batches; ++b) accumulate(b, runBatch(b));
  } else {
    runTileWorkers(batches, workers, runBatch, accumulate);
  }
  logits = logits / norm;
  logits = logits.slice(1, before[0], before[0] + image.size(1))
               .slice(2, before[1], before[1] + image.size(2))
               .slice(3, before[2], before[2] + image.size(3));
  return logits.to(torch::kCPU).contiguous();
}

}  // namespace seg
