// P2 loader benchmark (not a test): CPU milliseconds per augmented 128^3 training sample
// with nnU-Net's default augmentation list and probabilities, on one thread, and samples
// per second with N threads. The sample is read from a larger volume (rotation and
// scaling look up rotated positions around the patch centre, the equivalent of nnU-Net
// cropping an enlarged region and rotating it), so out-of-patch context is used.
// CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID): the machine is shared, and
// waiting for a core is not the loader's cost.
//   seg_loader_bench [--samples 200] [--threads 2] [--edge 192] [--breakdown] [--json]
//                    [--supply-batches N] [--dump DIR]
// Prints one JSON object (--json is accepted for scripts/bench.sh; the output is JSON
// either way), with a one-line "summary". --breakdown adds each transform's own cost.
// "spatial_samples" counts the timed samples that drew rotation and/or scaling
// (data/AugmentCounters.h). "supply" (P3's per-core supply): the whole loader path on
// the caller's thread (BatchLoader with 0 workers: case choice, the 33% foreground
// oversampling of a batch of 2, crop, augmentation, batch tensors), samples per second
// of wall time and of the thread's CPU time, over N batches (default samples / 2).
// --dump DIR writes the two normalised phantoms as the sampler holds them, for
// bench/peer_augment.py (nnU-Net v2's own transforms and data loader on the same data):
// DIR/<id>_image.f32 (float32, channels,z,y,x, x fastest), DIR/<id>_label.u8 (uint8,
// z,y,x) and DIR/meta.json.
#include <torch/torch.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/AugmentCounters.h"
#include "data/BatchLoader.h"
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

template <typename T>
bool writeRaw(const std::filesystem::path& file, const std::vector<T>& values) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
  return static_cast<bool>(out);
}

// The cases exactly as the sampler holds them (after normalisation), with meta.json.
bool dumpCases(const std::string& dir, const std::vector<seg::LoadedCase>& cases, const seg::PatchSamplerOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return false;
  std::string list;
  for (const auto& c : cases) {
    const auto& g = c.image.geometry;
    if (!writeRaw(fs::path(dir) / (c.id + "_image.f32"), c.image.data) ||
        !writeRaw(fs::path(dir) / (c.id + "_label.u8"), c.label.data)) {
      return false;
    }
    int maxLabel = 0;
    for (uint8_t v : c.label.data) maxLabel = std::max<int>(maxLabel, v);
    int64_t foreground = 0;
    for (uint8_t v : c.label.data) foreground += v != 0;
    char item[512];
    std::snprintf(item, sizeof item,
                  "%s\n    {\"id\": \"%s\", \"image\": \"%s_image.f32\", \"label\": \"%s_label.u8\", "
                  "\"image_shape_czyx\": [%lld, %lld, %lld, %lld], \"label_shape_zyx\": [%lld, %lld, %lld], "
                  "\"spacing_zyx\": [%g, %g, %g], \"max_label\": %d, \"foreground_voxels\": %lld}",
                  list.empty() ? "" : ",", c.id.c_str(), c.id.c_str(), c.id.c_str(),
                  static_cast<long long>(c.image.channels), static_cast<long long>(g.size[2]),
                  static_cast<long long>(g.size[1]), static_cast<long long>(g.size[0]), static_cast<long long>(g.size[2]),
                  static_cast<long long>(g.size[1]), static_cast<long long>(g.size[0]), g.spacing[2], g.spacing[1],
                  g.spacing[0], maxLabel, static_cast<long long>(foreground));
    list += item;
  }
  std::ofstream meta(fs::path(dir) / "meta.json");
  meta << "{\n  \"source\": \"seg_loader_bench --dump: seg::makePhantom, seg::normalizeIntensities (z-score)\",\n"
       << "  \"image_dtype\": \"float32\", \"label_dtype\": \"uint8\", \"order\": \"C-order, x fastest\",\n"
       << "  \"labels\": {\"background\": 0, \"lesion\": 1},\n"
       << "  \"patch_zyx\": [" << o.patchZYX[0] << ", " << o.patchZYX[1] << ", " << o.patchZYX[2] << "],\n"
       << "  \"foreground_fraction\": " << o.foregroundFraction << ",\n"
       << "  \"cases\": [" << list << "\n  ]\n}\n";
  return static_cast<bool>(meta);
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
  int supplyBatches = -1;
  std::string dumpDir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool hasValue = i + 1 < argc;
    if (a == "--samples" && hasValue) {
      samples = std::atoi(argv[++i]);
    } else if (a == "--threads" && hasValue) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--edge" && hasValue) {
      edge = std::atoll(argv[++i]);
    } else if (a == "--supply-batches" && hasValue) {
      supplyBatches = std::atoi(argv[++i]);
    } else if (a == "--dump" && hasValue) {
      dumpDir = argv[++i];
    } else if (a == "--breakdown") {
      breakdown = true;
    } else if (a != "--json") {
      std::fprintf(stderr,
                   "usage: seg_loader_bench [--samples N] [--threads N] [--edge N] [--breakdown] [--json] "
                   "[--supply-batches N] [--dump DIR]\n");
      return 2;
    }
  }
  if (supplyBatches < 0) supplyBatches = samples / 2;
  if (samples < 10 || threads < 1 || edge < 64 || supplyBatches < 5) {
    std::fprintf(stderr, "seg_loader_bench: need --samples >= 10, --threads >= 1, --edge >= 64, --supply-batches >= 5\n");
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
  if (!dumpDir.empty() && !dumpCases(dumpDir, *cases, o)) {
    std::fprintf(stderr, "seg_loader_bench: cannot write the phantoms to %s\n", dumpDir.c_str());
    return 1;
  }

  // One thread: per-sample CPU time (samples with the spatial transform, ~36% of them,
  // are the slow tail: see p90 and max).
  std::vector<double> ms;
  std::vector<bool> resampled;  // the sample drew rotation and/or scaling
  sampler->sample(0);  // warm-up (first-touch allocations)
  const seg::SpatialDrawCounts before = seg::spatialDrawCounts();
  for (int i = 1; i <= samples; ++i) {
    const uint64_t drawn = seg::spatialDrawCounts().spatial;
    const double t0 = threadCpuMs();
    const seg::Batch b = sampler->sample(static_cast<uint64_t>(i));
    ms.push_back(threadCpuMs() - t0);
    resampled.push_back(seg::spatialDrawCounts().spatial != drawn);
  }
  const seg::SpatialDrawCounts after = seg::spatialDrawCounts();
  // Mean over the samples with and without a spatial transform, and the mean at the
  // nominal share 1 - (1 - pRotation)(1 - pScaling) (0.36): independent of how many
  // this run happened to draw, so comparable with the peer's number.
  double sumSpatial = 0, sumPlain = 0;
  int nSpatial = 0;
  for (size_t k = 0; k < ms.size(); ++k) {
    if (resampled[k]) sumSpatial += ms[k], ++nSpatial;
    else sumPlain += ms[k];
  }
  const seg::AugmentOptions nominal;
  const double pSpatial = 1 - (1 - nominal.pRotation) * (1 - nominal.pScaling);
  const double meanSpatial = nSpatial ? sumSpatial / nSpatial : 0;
  const double meanPlain = nSpatial < samples ? sumPlain / (samples - nSpatial) : 0;
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

  // Supply on one core: the trainer's loader path with batch 2 built on this thread
  // (nnU-Net's like-for-like: nnUNetDataLoader.generate_train_batch in one process).
  seg::PatchSamplerOptions so = o;
  so.batchSize = 2;
  so.seed = 11;
  auto supplySampler = std::make_shared<const seg::PatchSampler>(cases, so);
  seg::BatchLoader loader(supplySampler, 0, 1);
  loader.next();  // warm-up
  const seg::SpatialDrawCounts supplyBefore = seg::spatialDrawCounts();
  const double c0 = threadCpuMs();
  const auto s0 = std::chrono::steady_clock::now();
  for (int i = 0; i < supplyBatches; ++i) {
    const seg::Batch b = loader.next();
    if (b.images.size(0) != 2) return 1;
  }
  const double supplyWall = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  const double supplyCpu = (threadCpuMs() - c0) / 1e3;
  const seg::SpatialDrawCounts supplyAfter = seg::spatialDrawCounts();
  const int supplySamples = 2 * supplyBatches;

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

  char supply[400];
  std::snprintf(supply, sizeof supply,
                ", \"supply\": {\"batch\": 2, \"batches\": %d, \"samples\": %d, \"wall_s\": %.3f, \"cpu_s\": %.3f, "
                "\"samples_per_s_per_core_wall\": %.2f, \"samples_per_s_per_core_cpu\": %.2f, \"cpu_s_per_sample\": %.4f, "
                "\"spatial_samples\": %llu}",
                supplyBatches, supplySamples, supplyWall, supplyCpu, supplySamples / supplyWall, supplySamples / supplyCpu,
                supplyCpu / supplySamples, static_cast<unsigned long long>(supplyAfter.spatial - supplyBefore.spatial));
  char spatial[400];
  std::snprintf(spatial, sizeof spatial,
                ", \"spatial_samples\": {\"any\": %llu, \"rotation\": %llu, \"scaling\": %llu}, "
                "\"cpu_ms_mean_spatial\": %.2f, \"cpu_ms_mean_plain\": %.2f, \"p_spatial_nominal\": %.3f, "
                "\"cpu_ms_mean_at_nominal_share\": %.2f",
                static_cast<unsigned long long>(after.spatial - before.spatial),
                static_cast<unsigned long long>(after.rotated - before.rotated),
                static_cast<unsigned long long>(after.scaled - before.scaled), meanSpatial, meanPlain, pSpatial,
                pSpatial * meanSpatial + (1 - pSpatial) * meanPlain);
  std::string dumped;
  if (!dumpDir.empty()) dumped = ", \"dump\": \"" + dumpDir + "\"";

  char summary[300];
  std::snprintf(summary, sizeof summary,
                "%.1f CPU-ms/sample mean (target <= 30), median %.1f, p90 %.1f; %.1f samples/s with %d threads; "
                "supply %.1f samples/s per core (batch 2)",
                mean, median, p90, parallelSamples / wall, threads, supplySamples / supplyWall);
  std::printf(
      "{\"bench\": \"P2_loader\", \"patch\": [128, 128, 128], \"volume\": [%lld, %lld, %lld], \"samples\": %d, "
      "\"cpu_ms_mean\": %.2f, \"cpu_ms_median\": %.2f, \"cpu_ms_p90\": %.2f, \"cpu_ms_max\": %.2f%s, "
      "\"threads\": %d, \"samples_per_s\": %.2f%s%s%s, \"summary\": \"%s\"}\n",
      static_cast<long long>(synth.size[0]), static_cast<long long>(synth.size[1]),
      static_cast<long long>(synth.size[2]), samples, mean, median, p90, maxMs, spatial, threads, parallelSamples / wall,
      supply, parts.c_str(), dumped.c_str(), summary);
  return 0;
}
