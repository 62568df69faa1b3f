// P2 loader benchmark (not a test): CPU milliseconds per augmented 128^3 training sample
// with nnU-Net's default augmentation list and probabilities, on one thread, and samples
// per second with N threads. The sample is read from a larger volume (rotation and
// scaling look up rotated positions around the patch centre, the equivalent of nnU-Net
// cropping an enlarged region and rotating it), so out-of-patch context is used.
// CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID): the machine is shared, and
// waiting for a core is not the loader's cost.
//   seg_loader_bench [--samples 200] [--threads 2] [--edge 192] [--breakdown] [--json]
// Prints one JSON object (--json is accepted for scripts/bench.sh; the output is JSON
// either way), with a one-line "summary". --breakdown adds each transform's own cost.
#include <torch/torch.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/PatchSampler.h"
#include "data/Preprocess.h"
#include "data/Synth.h"

namespace {

double threadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double meanCpuMs(const seg::PatchSampler& sampler, int samples, uint64_t firstIndex) {
  sampler.sample(firstIndex);  // warm-up
  double sum = 0;
  for (int i = 1; i <= samples; ++i) {
    const double t0 = threadCpuMs();
    const seg::Batch b = sampler.sample(firstIndex + static_cast<uint64_t>(i));
    sum += threadCpuMs() - t0;
  }
  return sum / samples;
}

// Every transform switched off; `which` (one of the names below) forced on. "crop" is
// the plain crop and the label widening; each other row is its own cost when drawn
// (minus the crop). "rotation" includes scaling with its own probability; "scaling_only"
// (no rotation) takes the separable path of data/SpatialCrop.
seg::AugmentOptions only(const std::string& which) {
  seg::AugmentOptions a;
  a.pRotation = a.pScaling = a.pNoise = a.pBlur = a.pBrightness = a.pContrast = a.pLowResolution = a.pGammaInverted = a.pGamma = 0;
  a.mirror = false;
  if (which == "rotation") a.pRotation = 1, a.pScaling = seg::AugmentOptions{}.pScaling;  // scaling as drawn
  if (which == "scaling_only") a.pScaling = 1;
  if (which == "noise") a.pNoise = 1;
  if (which == "blur") a.pBlur = 1;
  if (which == "brightness") a.pBrightness = 1;
  if (which == "contrast") a.pContrast = 1;
  if (which == "low_resolution") a.pLowResolution = 1;
  if (which == "gamma") a.pGamma = 1;
  if (which == "mirror") a.mirror = true;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 200, threads = 2;
  int64_t edge = 192;
  bool breakdown = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool hasValue = i + 1 < argc;
    if (a == "--samples" && hasValue) {
      samples = std::atoi(argv[++i]);
    } else if (a == "--threads" && hasValue) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--edge" && hasValue) {
      edge = std::atoll(argv[++i]);
    } else if (a == "--breakdown") {
      breakdown = true;
    } else if (a != "--json") {
      std::fprintf(stderr, "usage: seg_loader_bench [--samples N] [--threads N] [--edge N] [--breakdown] [--json]\n");
      return 2;
    }
  }
  if (samples < 10 || threads < 1 || edge < 64) {
    std::fprintf(stderr, "seg_loader_bench: need --samples >= 10, --threads >= 1, --edge >= 64\n");
    return 2;
  }
  torch::set_num_threads(1);

  // Two synthetic phantoms (one foreground class: 2 labels, as the reference figure).
  seg::SynthOptions synth;
  synth.size = {edge, edge, edge * 5 / 6};
  auto cases = std::make_shared<std::vector<seg::LoadedCase>>();
  for (int i = 0; i < 2; ++i) {
    seg::SynthCase s = seg::makePhantom(synth, i);
    seg::LoadedCase c;
    c.id = "phantom" + std::to_string(i);
    c.image = std::move(s.image);
    c.label = std::move(s.label);
    c.inputGeometry = c.image.geometry;
    seg::normalizeIntensities(c.image, seg::PreprocessOptions{});
    cases->push_back(std::move(c));
  }
  seg::PatchSamplerOptions o;
  o.patchZYX = {128, 128, 128};
  o.batchSize = 1;
  o.seed = 7;
  auto sampler = std::make_shared<const seg::PatchSampler>(cases, o);

  // One thread: per-sample CPU time (samples with the spatial transform, ~36% of them,
  // are the slow tail: see p90 and max).
  std::vector<double> ms;
  sampler->sample(0);  // warm-up (first-touch allocations)
  for (int i = 1; i <= samples; ++i) {
    const double t0 = threadCpuMs();
    const seg::Batch b = sampler->sample(static_cast<uint64_t>(i));
    ms.push_back(threadCpuMs() - t0);
  }
  double sum = 0;
  for (double v : ms) sum += v;
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double mean = sum / ms.size();
  const double median = sorted[sorted.size() / 2];
  const double p90 = sorted[sorted.size() * 9 / 10];
  const double maxMs = sorted.back();

  // N threads: wall-clock samples per second, each thread its own indices.
  std::atomic<int> next{0};
  const int parallelSamples = std::max(samples, threads * 20);
  const auto w0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < parallelSamples; i = next++) sampler->sample(static_cast<uint64_t>(100000 + i));
    });
  }
  for (auto& t : pool) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();

  // Optional: each transform's own cost, forced on (40 samples each) with everything
  // else off; weighted by nnU-Net's probabilities these add up to about the mean.
  std::string parts;
  if (breakdown) {
    const seg::AugmentOptions defaults;
    const std::vector<std::pair<std::string, double>> list = {
        {"crop", 1.0},
        {"rotation", defaults.pRotation},
        {"scaling_only", (1 - defaults.pRotation) * defaults.pScaling},
        {"noise", defaults.pNoise},
        {"blur", defaults.pBlur},
        {"brightness", defaults.pBrightness},
        {"contrast", defaults.pContrast},
        {"low_resolution", defaults.pLowResolution},
        {"gamma", defaults.pGamma + defaults.pGammaInverted},
        {"mirror", 1.0}};
    double crop = 0, expected = 0;
    for (const auto& [name, p] : list) {
      seg::PatchSamplerOptions forced = o;
      forced.augment = only(name);
      const double cost = meanCpuMs(seg::PatchSampler(cases, forced), 40, 200000);
      if (name == "crop") crop = cost;
      const double own = name == "crop" ? cost : cost - crop;
      expected += p * own;
      char item[160];
      std::snprintf(item, sizeof item, "%s\"%s\": {\"ms_when_drawn\": %.2f, \"probability\": %.3f}", parts.empty() ? "" : ", ",
                    name.c_str(), own, p);
      parts += item;
    }
    char item[80];
    std::snprintf(item, sizeof item, ", \"expected_mean\": %.2f", expected);
    parts = ", \"breakdown\": {" + parts + item + "}";
  }

  char summary[200];
  std::snprintf(summary, sizeof summary, "%.1f CPU-ms/sample mean (target <= 30), median %.1f, p90 %.1f; %.1f samples/s with %d threads",
                mean, median, p90, parallelSamples / wall, threads);
  std::printf(
      "{\"bench\": \"P2_loader\", \"patch\": [128, 128, 128], \"volume\": [%lld, %lld, %lld], \"samples\": %d, "
      "\"cpu_ms_mean\": %.2f, \"cpu_ms_median\": %.2f, \"cpu_ms_p90\": %.2f, \"cpu_ms_max\": %.2f, "
      "\"threads\": %d, \"samples_per_s\": %.2f%s, \"summary\": \"%s\"}\n",
      static_cast<long long>(synth.size[0]), static_cast<long long>(synth.size[1]),
      static_cast<long long>(synth.size[2]), samples, mean, median, p90, maxMs, threads, parallelSamples / wall, parts.c_str(), summary);
  return 0;
}
