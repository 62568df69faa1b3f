// Sliding-window inference benchmark (issue 7): seconds per volume of
// seg::slidingWindowInference on a fixed small CNN, optionally under bf16 autocast, with
// the inputs, weights and fp32 logits written as raw float32 files so that
// bench/sliding_window_reference.py can run an independent Python implementation on the
// same data and compare. Run through scripts/bench_infer.sh.
//
//   seg_infer_bench --out DIR [--size X Y Z] [--patch X Y Z] [--overlap 0.5]
//                   [--tile-batch 2] [--repeat 3] [--threads 2] [--seed 1]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/TorchCompat.h"
#include "infer/SlidingWindow.h"

namespace {

// The benchmark network, defined identically in sliding_window_reference.py:
// conv3x3x3(C->16) LeakyReLU(0.01) conv3x3x3(16->16) LeakyReLU(0.01) conv1x1x1(16->K).
struct BenchNetImpl : torch::nn::Module {
  torch::nn::Conv3d c1{nullptr}, c2{nullptr}, c3{nullptr};
  BenchNetImpl(int64_t in, int64_t width, int64_t classes) {
    c1 = register_module("c1", torch::nn::Conv3d(torch::nn::Conv3dOptions(in, width, 3).padding(1)));
    c2 = register_module("c2", torch::nn::Conv3d(torch::nn::Conv3dOptions(width, width, 3).padding(1)));
    c3 = register_module("c3", torch::nn::Conv3d(torch::nn::Conv3dOptions(width, classes, 1)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::leaky_relu(c1->forward(x), 0.01);
    h = torch::leaky_relu(c2->forward(h), 0.01);
    return c3->forward(h);
  }
};
TORCH_MODULE(BenchNet);

void writeRaw(const std::filesystem::path& path, const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat32).contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * 4));
  if (!out) throw std::runtime_error("cannot write " + path.string());
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

int main(int argc, char** argv) {
  std::string outDir;
  std::array<int64_t, 3> size{160, 160, 96}, patch{64, 64, 64};  // x y z
  double overlap = 0.5;
  int64_t tileBatch = 2, repeat = 3, threads = 2, seed = 1, classes = 3, width = 16;
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
    else if (a == "--tile-batch") tileBatch = std::stoll(next());
    else if (a == "--repeat") repeat = std::stoll(next());
    else if (a == "--threads") threads = std::stoll(next());
    else if (a == "--seed") seed = std::stoll(next());
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (outDir.empty()) {
    std::cerr << "usage: seg_infer_bench --out DIR [--size X Y Z] [--patch X Y Z] [--overlap F] "
                 "[--tile-batch N] [--repeat N] [--threads N] [--seed N]\n";
    return 2;
  }
  std::filesystem::create_directories(outDir);
  const std::filesystem::path dir(outDir);
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(seed));
  torch::NoGradGuard noGrad;

  BenchNet net(1, width, classes);
  net->eval();
  const auto image = torch::randn({1, size[2], size[1], size[0]});
  writeRaw(dir / "input.f32", image);
  nlohmann::json meta;
  std::vector<std::string> paramNames;
  for (const auto& p : net->named_parameters()) {
    writeRaw(dir / ("param_" + p.key() + ".f32"), p.value());
    meta["params"].push_back({{"name", p.key()}, {"shape", p.value().sizes().vec()}});
  }

  seg::SlidingWindowOptions options;
  options.patchZYX = {patch[2], patch[1], patch[0]};
  options.overlap = overlap;
  options.tileBatch = tileBatch;
  auto run = [&](bool bf16, torch::Tensor& logits) {
    const seg::Network network = [&](const torch::Tensor& x) {
      seg::compat::AutocastGuard guard(c10::DeviceType::CPU, bf16, torch::kBFloat16);
      return net->forward(x);
    };
    logits = seg::slidingWindowInference(image, network, options);  // warm-up
    std::vector<double> seconds;
    for (int64_t r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      logits = seg::slidingWindowInference(image, network, options);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return *std::min_element(seconds.begin(), seconds.end());
  };
  torch::Tensor fp32, bf16;
  const double fp32Seconds = run(false, fp32);
  writeRaw(dir / "logits_cpp.f32", fp32);
  const double bf16Seconds = run(true, bf16);
  const auto a = fp32.argmax(0), b = bf16.argmax(0);
  std::vector<double> diceBf16;
  for (int64_t c = 1; c < classes; ++c) diceBf16.push_back(dice(a, b, c));

  meta["size_xyz"] = size;
  meta["patch_xyz"] = patch;
  meta["overlap"] = overlap;
  meta["tile_batch"] = tileBatch;
  meta["sigma_scale"] = options.sigmaScale;
  meta["threads"] = threads;
  meta["repeat"] = repeat;
  meta["classes"] = classes;
  meta["tiles"] = seg::slidingWindowSteps(size[2], patch[2], overlap).size() *
                  seg::slidingWindowSteps(size[1], patch[1], overlap).size() *
                  seg::slidingWindowSteps(size[0], patch[0], overlap).size();
  meta["cpp_fp32_seconds"] = fp32Seconds;
  meta["cpp_bf16_seconds"] = bf16Seconds;
  meta["bf16_speedup"] = fp32Seconds / bf16Seconds;
  meta["bf16_dice_vs_fp32_per_class"] = diceBf16;
  meta["bf16_max_abs_logit_diff"] = (fp32 - bf16).abs().max().item<double>();
  meta["cpu_native_bf16"] = cpuHasBf16();
  meta["torch"] = seg::compat::torchVersion();
  std::ofstream(dir / "cpp.json") << meta.dump(2) << "\n";
  std::cout << meta.dump(2) << "\n";
  return 0;
}
