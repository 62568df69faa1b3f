// P3 pipeline benchmark (issue 8): training iterations per second when batches come from
// the real threaded loader (PatchSampler + BatchLoader: crop, spatial and intensity
// augmentation on worker threads) against the same training steps fed with batches built
// beforehand. A ratio near 1 means the data path never starves the trainer. The two modes
// alternate ROUNDS times in one process, so machine noise hits both.
//
//   seg_pipeline_bench [--steps 10] [--rounds 2] [--workers 2] [--threads 2]
//                      [--patch 64] [--batch 2] [--features 16,32,64,128]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "data/BatchLoader.h"
#include "data/PatchSampler.h"
#include "data/Synth.h"
#include "losses/DiceCELoss.h"
#include "models/UNet.h"

namespace {

std::vector<int64_t> parseList(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) try {
  int64_t steps = 10, rounds = 2, workers = 2, threads = 2, patch = 64, batch = 2;
  std::vector<int64_t> features{16, 32, 64, 128};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--steps") steps = std::stoll(next());
    else if (a == "--rounds") rounds = std::stoll(next());
    else if (a == "--workers") workers = std::stoll(next());
    else if (a == "--threads") threads = std::stoll(next());
    else if (a == "--patch") patch = std::stoll(next());
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--features") features = parseList(next());
    else throw std::runtime_error("unknown option " + a);
  }
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);

  // Six synthetic lesion phantoms (the built-in dataset), z-scored per case.
  seg::SynthOptions synth;
  synth.size = {128, 128, 96};
  auto cases = std::make_shared<std::vector<seg::LoadedCase>>();
  for (int c = 0; c < 6; ++c) {
    auto phantom = seg::makePhantom(synth, c);
    auto& d = phantom.image.data;
    const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(d.size());
    double var = 0;
    for (float v : d) var += (v - mean) * (v - mean);
    const double sd = std::sqrt(var / static_cast<double>(d.size())) + 1e-8;
    for (float& v : d) v = static_cast<float>((v - mean) / sd);
    seg::LoadedCase loaded;
    loaded.id = "phantom_" + std::to_string(c);
    loaded.image = std::move(phantom.image);
    loaded.label = std::move(phantom.label);
    cases->push_back(std::move(loaded));
  }
  seg::PatchSamplerOptions samplerOptions;
  samplerOptions.patchZYX = {patch, patch, patch};
  samplerOptions.batchSize = batch;
  samplerOptions.seed = 7;  // nnU-Net's augmentation defaults (AugmentOptions{})
  auto sampler = std::make_shared<const seg::PatchSampler>(cases, samplerOptions);

  seg::UNet net(seg::UNetOptions(1, 2).features(features));
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(1e-2).momentum(0.99).nesterov(true).weight_decay(3e-5));
  const auto lossOptions = seg::DiceCELossOptions().dice(seg::DiceLossOptions().batch(true).include_background(false));
  auto step = [&](const seg::Batch& b) {
    opt.zero_grad();
    auto loss = seg::diceCELoss(net->forward(b.images), b.labels, lossOptions);
    loss.backward();
    opt.step();
  };
  for (uint64_t i = 0; i < 2; ++i) step(sampler->sample(1000 + i));  // warm-up

  std::vector<double> loaderRate, pregeneratedRate, waitShare;
  uint64_t index = 0;
  for (int64_t r = 0; r < rounds; ++r) {
    {  // batches built beforehand (not timed)
      std::vector<seg::Batch> batches;
      for (int64_t s = 0; s < steps; ++s) batches.push_back(sampler->sample(index++));
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& b : batches) step(b);
      pregeneratedRate.push_back(steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    {  // the real loader, started when the timed loop starts
      const auto t0 = std::chrono::steady_clock::now();
      seg::BatchLoader loader(sampler, static_cast<int>(workers), 4, index);
      double waited = 0;
      for (int64_t s = 0; s < steps; ++s) {
        const auto w0 = std::chrono::steady_clock::now();
        const auto b = loader.next();
        waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
        step(b);
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      index = loader.position();
      loaderRate.push_back(steps / seconds);
      waitShare.push_back(waited / seconds);
    }
  }
  nlohmann::json out;
  out["bench"] = "P3_pipeline";
  out["steps_per_round"] = steps;
  out["rounds"] = rounds;
  out["loader_workers"] = workers;
  out["threads"] = threads;
  out["patch"] = patch;
  out["batch"] = batch;
  out["features"] = features;
  out["pregenerated_it_per_s"] = median(pregeneratedRate);
  out["loader_it_per_s"] = median(loaderRate);
  out["ratio"] = median(loaderRate) / median(pregeneratedRate);
  out["loader_wait_share"] = median(waitShare);
  std::cout << out.dump() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "seg_pipeline_bench: " << e.what() << "\n";
  return 2;
}
