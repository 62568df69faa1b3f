// Sliding-window inference benchmark (issue 7, P6): seconds per volume of
// seg::slidingWindowInference with segtrain's U-Net (default 16-32-64-128, the size MONAI's
// figure in the issue uses), at every tile batch size and tile-worker count asked for,
// fp32 and bf16 autocast. Writes the input, the weights (named as the module tree) and the
// fp32 logits of the fastest setting as raw float32 so that
// bench/sliding_window_reference.py can run an independent Python implementation on the
// same data, at its own best tile batch, and compare. Run through scripts/bench_infer.sh.
//
//   seg_infer_bench --out DIR [--size X Y Z] [--patch X Y Z] [--overlap 0.5]
//                   [--features 16,32,64,128] [--classes 2] [--tile-batches 1,2,4]
//                   [--workers 1,2] [--repeat 2] [--threads 2] [--seed 1] [--no-bf16]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/Autocast.h"
#include "core/TorchInfo.h"
#include "infer/SlidingWindow.h"
#include "models/UNet.h"

namespace {

void writeRaw(const std::filesystem::path& path, const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat32).contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * 4));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<int64_t> parseList(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  if (out.empty()) throw std::runtime_error("empty list '" + text + "'");
  return out;
}

bool cpuHasBf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) {
      return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
    }
  }
  return false;
}

double dice(const torch::Tensor& a, const torch::Tensor& b, int64_t c) {
  const auto x = a == c, y = b == c;
  const double inter = (x & y).sum().item<double>();
  const double den = x.sum().item<double>() + y.sum().item<double>();
  return den == 0 ? 1.0 : 2.0 * inter / den;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string outDir;
  std::array<int64_t, 3> size{160, 160, 96}, patch{64, 64, 64};  // x y z
  double overlap = 0.5;
  std::vector<int64_t> features{16, 32, 64, 128}, tileBatches{1, 2, 4}, workerCounts{1, 2};
  int64_t repeat = 2, threads = 2, seed = 1, classes = 2;
  bool bf16Run = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--out") outDir = next();
    else if (a == "--size") for (auto& v : size) v = std::stoll(next());
    else if (a == "--patch") for (auto& v : patch) v = std::stoll(next());
    else if (a == "--overlap") overlap = std::stod(next());
    else if (a == "--features") features = parseList(next());
    else if (a == "--classes") classes = std::stoll(next());
    else if (a == "--tile-batches") tileBatches = parseList(next());
    else if (a == "--workers") workerCounts = parseList(next());
    else if (a == "--repeat") repeat = std::stoll(next());
    else if (a == "--threads") threads = std::stoll(next());
    else if (a == "--seed") seed = std::stoll(next());
    else if (a == "--no-bf16") bf16Run = false;
    else throw std::runtime_error("unknown option " + a);
  }
  if (outDir.empty()) throw std::runtime_error("--out DIR is required");
  std::filesystem::create_directories(outDir);
  const std::filesystem::path dir(outDir);
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(seed));

  seg::UNet net(seg::UNetOptions(1, classes).features(features));
  net->eval();
  const auto image = torch::randn({1, size[2], size[1], size[0]});
  writeRaw(dir / "input.f32", image);
  nlohmann::json meta;
  int64_t parameterCount = 0;
  for (const auto& p : net->named_parameters()) {
    writeRaw(dir / ("param_" + p.key() + ".f32"), p.value());
    meta["params"].push_back({{"name", p.key()}, {"shape", p.value().sizes().vec()}});
    parameterCount += p.value().numel();
  }

  // The same weights in a network that keeps the module-by-module forward (the path before
  // models/UNetInference.h), timed once at the fastest setting for the before/after figure.
  seg::UNet plainNet(seg::UNetOptions(1, classes).features(features).fused_inference(false));
  {
    torch::NoGradGuard noGrad;
    auto source = net->named_parameters();
    for (auto& p : plainNet->named_parameters()) p.value().copy_(source[p.key()]);
  }
  plainNet->eval();

  // Wall-clock seconds (the figure compared) and process CPU seconds (all threads; on a
  // shared machine the ratio of the two shows how much CPU the run actually got).
  double cpuSeconds = 0.0;
  auto time = [&](seg::UNet& model, bool bf16, int64_t tileBatch, int64_t workers, torch::Tensor& logits) {
    seg::SlidingWindowOptions options;
    options.patchZYX = {patch[2], patch[1], patch[0]};
    options.overlap = overlap;
    options.tileBatch = tileBatch;
    options.workers = workers;
    const seg::Network network = [&](const torch::Tensor& x) {
      seg::AutocastGuard guard(c10::DeviceType::CPU, bf16, torch::kBFloat16);
      return model->forward(x);
    };
    {  // warm-up: oneDNN primitives for this batch shape, on every thread
      c10::InferenceMode inference;
      network(torch::zeros({tileBatch, 1, patch[2], patch[1], patch[0]}));
    }
    double best = std::numeric_limits<double>::infinity();
    for (int64_t r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();
      logits = seg::slidingWindowInference(image, network, options);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (wall < best) {
        best = wall;
        cpuSeconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      }
    }
    return best;
  };

  // Every setting runs in turn (machine noise hits all of them alike); the fastest wins.
  double bestSeconds = std::numeric_limits<double>::infinity();
  int64_t bestBatch = 0, bestWorkers = 0;
  double bestCpu = 0.0;
  torch::Tensor fp32, reference;
  for (int64_t tb : tileBatches) {
    for (int64_t w : workerCounts) {
      torch::Tensor logits;
      const double s = time(net, false, tb, w, logits);
      meta["settings"].push_back({{"tile_batch", tb}, {"workers", w}, {"fp32_seconds", s}, {"fp32_cpu_seconds", cpuSeconds}});
      std::cerr << "segtrain fp32 tile batch " << tb << " workers " << w << ": " << s << " s\n";
      if (!reference.defined()) reference = logits;
      meta["max_abs_diff_between_settings"] =
          std::max(meta.value("max_abs_diff_between_settings", 0.0), (logits - reference).abs().max().item<double>());
      if (s < bestSeconds) {
        bestSeconds = s;
        bestBatch = tb;
        bestWorkers = w;
        bestCpu = cpuSeconds;
        fp32 = logits;
      }
    }
  }
  writeRaw(dir / "logits_cpp.f32", fp32);
  torch::Tensor plainLogits;
  const double plainSeconds = time(plainNet, false, bestBatch, bestWorkers, plainLogits);
  meta["cpp_plain_fp32_seconds"] = plainSeconds;
  meta["cpp_plain_fp32_cpu_seconds"] = cpuSeconds;
  meta["fused_over_plain_max_abs_diff"] = (plainLogits - fp32).abs().max().item<double>();
  std::cerr << "segtrain fp32 plain forward (fused_inference off) tile batch " << bestBatch << " workers "
            << bestWorkers << ": " << plainSeconds << " s\n";
  if (bf16Run) {
    torch::Tensor bf16;
    const double bf16Seconds = time(net, true, bestBatch, bestWorkers, bf16);
    const auto a = fp32.argmax(0), b = bf16.argmax(0);
    std::vector<double> diceBf16;
    for (int64_t c = 1; c < classes; ++c) diceBf16.push_back(dice(a, b, c));
    meta["cpp_bf16_seconds"] = bf16Seconds;
    meta["bf16_speedup"] = bestSeconds / bf16Seconds;
    meta["bf16_dice_vs_fp32_per_class"] = diceBf16;
    meta["bf16_argmax_agreement"] = (a == b).to(torch::kFloat64).mean().item<double>();
  }

  meta["model"] = "segtrain U-Net, InstanceNorm, LeakyReLU";
  meta["features"] = features;
  meta["parameters"] = parameterCount;
  meta["size_xyz"] = size;
  meta["patch_xyz"] = patch;
  meta["overlap"] = overlap;
  meta["tile_batches"] = tileBatches;
  meta["sigma_scale"] = seg::SlidingWindowOptions{}.sigmaScale;
  meta["threads"] = threads;
  meta["repeat"] = repeat;
  meta["classes"] = classes;
  meta["tiles"] = seg::slidingWindowSteps(size[2], patch[2], overlap).size() *
                  seg::slidingWindowSteps(size[1], patch[1], overlap).size() *
                  seg::slidingWindowSteps(size[0], patch[0], overlap).size();
  meta["cpp_fp32_seconds"] = bestSeconds;
  meta["cpp_fp32_cpu_seconds"] = bestCpu;
  meta["cpp_best_tile_batch"] = bestBatch;
  meta["cpp_best_workers"] = bestWorkers;
  meta["cpu_native_bf16"] = cpuHasBf16();
  meta["torch"] = seg::torchVersion();
  std::ofstream(dir / "cpp.json") << meta.dump(2) << "\n";
  std::cout << meta.dump(2) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "seg_infer_bench: " << e.what() << "\n";
  return 2;
}
