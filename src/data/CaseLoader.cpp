#include "data/CaseLoader.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/Error.h"
#include "core/GridDifference.h"
#include "core/Log.h"
#include "core/ParallelFor.h"
#include "data/CaseCache.h"
#include "data/NiftiIO.h"
#include "data/Resample.h"

namespace seg {

namespace {

bool sameSpacing(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  for (int i = 0; i < 3; ++i) {
    if (std::abs(a[i] - b[i]) > 1e-6 * std::max(std::abs(a[i]), 1.0)) return false;
  }
  return true;
}

bool resamples(const PreprocessOptions& o) { return o.spacing[0] > 0 && o.spacing[1] > 0 && o.spacing[2] > 0; }

void checkLabelValues(const LoadedCase& c, const CaseEntry& entry, const LabelValues& labels) {
  if (c.label.data.empty()) return;
  std::array<bool, 256> seen{};
  for (uint8_t v : c.label.data) seen[v] = true;
  for (int v = 255; v >= 0; --v) {
    if (!seen[static_cast<size_t>(v)] || labels.allows(v)) continue;
    throw InputError("case '" + entry.id + "': label '" + entry.label + "' holds value " + std::to_string(v) +
                     " but the dataset declares " + std::to_string(labels.numClasses) + " classes" +
                     (labels.ignoreLabel >= 0 ? " and the ignore label " + std::to_string(labels.ignoreLabel) : ""));
  }
}

// Read, checked, reoriented and resampled; not normalised.
LoadedCase decodeCase(const CaseEntry& entry, const PreprocessOptions& options, const LabelValues& labels,
                      LabelGrid labelGrid) {
  if (entry.images.empty()) throw InputError("case '" + entry.id + "': no image files");
  LoadedCase out;
  out.id = entry.id;
  for (size_t c = 0; c < entry.images.size(); ++c) {
    Volume channel = readImage(entry.images[c]);
    if (c == 0) {
      out.image = std::move(channel);
      continue;
    }
    const std::string difference = describeGridDifference(channel.geometry, out.image.geometry);
    if (!difference.empty()) {
      throw InputError("case '" + entry.id + "': channel file '" + entry.images[c] + "' does not match the grid of '" +
                       entry.images[0] + "': " + difference);
    }
    out.image.data.insert(out.image.data.end(), channel.data.begin(), channel.data.end());
    out.image.channels += channel.channels;
  }
  out.inputGeometry = out.image.geometry;
  if (!entry.label.empty()) {
    out.label = readLabel(entry.label);
    const std::string difference = describeGridDifference(out.label.geometry, out.image.geometry);
    if (!difference.empty()) {
      throw InputError("case '" + entry.id + "': label '" + entry.label + "' does not match the grid of image '" +
                       entry.images[0] + "': " + difference + " (label vs image)");
    }
    checkLabelValues(out, entry, labels);
  }
  const bool spatialLabel = !out.label.data.empty() && labelGrid == LabelGrid::Preprocessed;
  if (options.reorient && !isCanonical(out.image.geometry)) {
    out.image = orientCanonical(out.image);
    if (spatialLabel) out.label = orientCanonical(out.label);
  }
  if (resamples(options) && !sameSpacing(out.image.geometry.spacing, options.spacing)) {
    const ImageGeometry target = resampledGeometry(out.image.geometry, options.spacing);
    out.image = resampleImage(out.image, target);
    if (spatialLabel) out.label = resampleLabel(out.label, target);
  }
  return out;
}

}  // namespace

LoadedCase loadCase(const CaseEntry& entry, const PreprocessOptions& options, LabelValues labels, LabelGrid labelGrid,
                    bool normalize) {
  LoadedCase out;
  if (!options.cacheDir.empty() && labelGrid == LabelGrid::Preprocessed) {
    const CacheKey key = cacheKey(options.cacheDir, entry, options);
    if (auto hit = readCachedCase(key, entry.id)) {
      out = std::move(*hit);
      out.fromCache = true;
      checkLabelValues(out, entry, labels);
    } else {
      out = decodeCase(entry, options, labels, labelGrid);
      writeCachedCase(key, out);
    }
  } else {
    out = decodeCase(entry, options, labels, labelGrid);
  }
  if (normalize) normalizeIntensities(out.image, options, "case '" + entry.id + "'");
  return out;
}

std::vector<LoadedCase> loadCases(const std::vector<CaseEntry>& entries, const PreprocessOptions& options,
                                  LabelValues labels, int threads, bool normalize) {
  std::vector<LoadedCase> cases(entries.size());
  parallelFor(entries.size(), threads, [&](size_t i) {
    cases[i] = loadCase(entries[i], options, labels, LabelGrid::Preprocessed, normalize);
  });
  size_t cached = 0;
  for (const LoadedCase& c : cases) cached += c.fromCache ? 1 : 0;
  if (options.cacheDir.empty()) {
    logger("data")->info("loaded {} cases", cases.size());
  } else {
    logger("data")->info("loaded {} cases ({} from the cache in {})", cases.size(), cached, options.cacheDir);
  }
  return cases;
}

void normalizeCases(std::vector<LoadedCase>& cases, const PreprocessOptions& options) {
  for (LoadedCase& c : cases) normalizeIntensities(c.image, options, "case '" + c.id + "'");
}

std::array<double, 3> datasetTargetSpacing(const std::vector<CaseEntry>& cases, bool reorient) {
  std::vector<std::array<double, 3>> spacings;
  std::vector<std::array<int64_t, 3>> sizes;
  for (const CaseEntry& c : cases) {
    if (c.images.empty()) throw InputError("case '" + c.id + "': no image files");
    ImageGeometry g = readImageInfo(c.images.front()).geometry;
    if (reorient) g = canonicalGeometry(g);
    spacings.push_back(g.spacing);
    sizes.push_back(g.size);
  }
  return medianTargetSpacing(spacings, sizes);
}

}  // namespace seg
