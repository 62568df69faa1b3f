#include "data/Fingerprint.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "core/Log.h"
#include "data/CaseLoader.h"
#include "data/Resample.h"
#include "core/ConnectedComponents.h"

namespace seg {

namespace {

struct ChannelAccumulator {
  double sum = 0, sumSq = 0;
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  size_t count = 0;
  std::vector<double> samples;  // for the percentiles, strided as in foregroundStats
};

double median(std::vector<double> v) { return percentile(v, 50); }

// Per axis, the median spacing and size over the cases (nnU-Net's fingerprint medians).
void setMedians(DatasetFingerprint& fp) {
  for (int a = 0; a < 3; ++a) {
    std::vector<double> sp, sz;
    for (const CaseFingerprint& c : fp.cases) sp.push_back(c.spacing[a]), sz.push_back(static_cast<double>(c.size[a]));
    fp.medianSpacing[a] = median(sp);
    fp.medianSize[a] = median(sz);
  }
}

}  // namespace

DatasetFingerprint fingerprintDataset(const std::vector<CaseEntry>& cases, int numClasses,
                                      const FingerprintOptions& options) {
  if (cases.empty()) throw InputError("fingerprint: no cases");
  DatasetFingerprint fp;
  fp.sizeBins = options.sizeBins;
  for (int c = 1; c < numClasses; ++c) {
    ClassLesions l;
    l.classIndex = c;
    l.sizeHistogram.assign(options.sizeBins.size(), 0);
    fp.classes.push_back(l);
  }
  // Raw intensities on the files' own grid, as nnU-Net's fingerprint (no resampling).
  PreprocessOptions raw;
  raw.reorient = false;
  raw.normalization = Normalization::None;
  std::vector<ChannelAccumulator> channels;
  for (const CaseEntry& entry : cases) {
    const LoadedCase c = loadCase(entry, raw, LabelValues(numClasses, options.ignoreLabel));
    const ImageGeometry& g = c.image.geometry;
    const ImageGeometry canonical = options.reorient ? canonicalGeometry(g) : g;
    fp.cases.push_back({entry.id, canonical.spacing, canonical.size});
    if (channels.empty()) channels.resize(static_cast<size_t>(c.image.channels));
    if (static_cast<int64_t>(channels.size()) != c.image.channels) {
      throw InputError("case '" + entry.id + "' has " + std::to_string(c.image.channels) + " channel(s), case '" +
                       cases.front().id + "' has " + std::to_string(channels.size()));
    }
    if (c.label.data.empty()) continue;
    const size_t n = static_cast<size_t>(g.numVoxels());
    size_t fgCount = 0;
    // Unannotated (ignore-label) voxels are no foreground: their intensities stay out of the
    // CT statistics, as nnU-Net's fingerprint excludes them.
    const auto foreground = [&](uint8_t v) { return v != 0 && v != options.ignoreLabel; };
    for (uint8_t v : c.label.data) fgCount += foreground(v) ? 1 : 0;
    const size_t stride = std::max<size_t>(1, (fgCount + kPercentileSamplesPerCase - 1) / kPercentileSamplesPerCase);
    for (size_t ch = 0; ch < channels.size(); ++ch) {
      ChannelAccumulator& a = channels[ch];
      const float* v = c.image.data.data() + ch * n;
      size_t seen = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!foreground(c.label.data[i])) continue;
        const double x = v[i];
        a.sum += x;
        a.sumSq += x * x;
        a.min = std::min(a.min, x);
        a.max = std::max(a.max, x);
        ++a.count;
        if (seen++ % stride == 0) a.samples.push_back(x);
      }
    }
    for (ClassLesions& cls : fp.classes) {
      const Components comp = connectedComponents(c.label.data, g.size, cls.classIndex, 26);
      if (comp.count == 0) continue;
      ++cls.casesWithClass;
      std::vector<int64_t> voxels(static_cast<size_t>(comp.count) + 1, 0);
      for (int32_t id : comp.ids) voxels[static_cast<size_t>(id)] += id > 0 ? 1 : 0;
      for (int32_t id = 1; id <= comp.count; ++id) {
        const double mm3 = static_cast<double>(voxels[static_cast<size_t>(id)]) * g.voxelVolume();
        ++cls.lesions;
        cls.totalMm3 += mm3;
        size_t bin = 0;
        for (size_t b = 0; b < fp.sizeBins.size(); ++b) {
          if (fp.sizeBins[b] <= mm3) bin = b;
        }
        ++cls.sizeHistogram[bin];
      }
    }
  }
  for (ChannelAccumulator& a : channels) {
    ChannelIntensity ci;
    if (a.count > 0) {
      ci.mean = a.sum / static_cast<double>(a.count);
      ci.std = std::sqrt(std::max(0.0, a.sumSq / static_cast<double>(a.count) - ci.mean * ci.mean));
      ci.min = a.min;
      ci.max = a.max;
      ci.p005 = percentile(a.samples, 0.5);
      ci.p50 = percentile(a.samples, 50);
      ci.p995 = percentile(a.samples, 99.5);
    }
    fp.intensity.push_back(ci);
  }
  setMedians(fp);
  return fp;
}

DatasetFingerprint loadNnunetFingerprint(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the nnU-Net fingerprint");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw InputError(path + ": not JSON: " + e.what());
  }
  for (const char* key : {"spacings", "shapes_after_crop"}) {
    if (!j.contains(key) || !j[key].is_array() || j[key].empty()) {
      throw InputError(path + ": '" + key + "' missing or empty (is this nnU-Net's dataset_fingerprint.json?)");
    }
  }
  const auto& spacings = j["spacings"];
  const auto& shapes = j["shapes_after_crop"];
  if (spacings.size() != shapes.size()) throw InputError(path + ": 'spacings' and 'shapes_after_crop' differ in length");
  DatasetFingerprint fp;
  for (size_t i = 0; i < spacings.size(); ++i) {
    if (!spacings[i].is_array() || spacings[i].size() != 3 || !shapes[i].is_array() || shapes[i].size() != 3) {
      throw InputError(path + ": case " + std::to_string(i) + ": expected 3 spacings and 3 sizes (3D)");
    }
    CaseFingerprint c;
    c.id = "case_" + std::to_string(i);
    for (int a = 0; a < 3; ++a) {
      c.spacing[a] = spacings[i][2 - a].get<double>();
      c.size[a] = shapes[i][2 - a].get<int64_t>();
    }
    fp.cases.push_back(c);
  }
  const size_t channels =
      j.contains("foreground_intensity_properties_per_channel") ? j["foreground_intensity_properties_per_channel"].size() : 1;
  fp.intensity.resize(std::max<size_t>(1, channels));
  setMedians(fp);
  return fp;
}

Plan suggestPlan(const DatasetFingerprint& fp, const PlanOptions& o) {
  if (fp.cases.empty()) throw InputError("plan: no cases");
  if (o.divisor < 1 || o.voxelBudget < static_cast<double>(o.divisor * o.divisor * o.divisor)) {
    throw InputError("plan: voxel budget below one " + std::to_string(o.divisor) + "^3 patch");
  }
  Plan plan;
  std::vector<std::array<double, 3>> spacings;
  std::vector<std::array<int64_t, 3>> sizes;
  for (const CaseFingerprint& c : fp.cases) spacings.push_back(c.spacing), sizes.push_back(c.size);
  plan.spacing = medianTargetSpacing(spacings, sizes);
  for (int a = 0; a < 3; ++a) {
    std::vector<double> shape;
    for (const CaseFingerprint& c : fp.cases) shape.push_back(std::round(c.size[a] * c.spacing[a] / plan.spacing[a]));
    plan.medianShape[a] = median(shape);
  }
  // nnU-Net's initial patch: the same physical extent on every axis, 256^3 voxels in all,
  // then no larger than the median shape.
  double inverseProduct = 1;
  for (int a = 0; a < 3; ++a) inverseProduct *= 1.0 / plan.spacing[a];
  const double scale = std::cbrt(256.0 * 256.0 * 256.0 / inverseProduct);
  std::array<int64_t, 3> p{};
  auto volume = [&] { return static_cast<double>(p[0]) * static_cast<double>(p[1]) * static_cast<double>(p[2]); };
  for (int a = 0; a < 3; ++a) {
    const double wanted = std::min(std::round(scale / plan.spacing[a]), plan.medianShape[a]);
    p[a] = std::max<int64_t>(o.divisor, static_cast<int64_t>(std::ceil(wanted / o.divisor)) * o.divisor);
  }
  // Shrink the axis that is largest relative to the median shape (nnU-Net's choice) one
  // divisor step at a time until the patch fits the budget.
  while (volume() > o.voxelBudget) {
    int axis = -1;
    double worst = -1;
    for (int a = 0; a < 3; ++a) {
      if (p[a] <= o.divisor) continue;
      const double ratio = static_cast<double>(p[a]) / std::max(plan.medianShape[a], 1.0);
      if (ratio > worst) worst = ratio, axis = a;
    }
    if (axis < 0) break;
    p[axis] -= o.divisor;
  }
  plan.patchSize = p;
  // Batch: fill the budget (defined for batch 2), but cover at most maxDatasetShare of
  // the dataset's voxels per batch; never below minBatch (nnU-Net's rules).
  const int64_t byBudget = static_cast<int64_t>(std::floor(2.0 * o.voxelBudget / volume()));
  const double datasetVoxels =
      plan.medianShape[0] * plan.medianShape[1] * plan.medianShape[2] * static_cast<double>(fp.cases.size());
  const int64_t byShare = static_cast<int64_t>(std::llround(o.maxDatasetShare * datasetVoxels / volume()));
  plan.batchSize = std::max(o.minBatch, std::min(byBudget, byShare));
  return plan;
}

}  // namespace seg
