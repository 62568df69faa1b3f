// Lesion matching (design.md section 7): reference lesions are connected components
// (core/ConnectedComponents.h), optionally grouped by a dilation as BraTS 2023 does, and
// predicted components are matched by any overlap or by IoU.
#include "metrics/LesionMatching.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

#include "core/ConnectedComponents.h"
#include "core/Error.h"
#include "metrics/LabelChecks.h"

namespace seg {

using namespace metrics_detail;

void validateLesionMatchOptions(const LesionMatchOptions& options) {
  if (options.connectivity != 6 && options.connectivity != 18 && options.connectivity != 26) {
    throw InputError("lesion matching: connectivity must be 6, 18 or 26, got " +
                     std::to_string(options.connectivity));
  }
  const auto& bins = options.sizeBinsMm3;
  if (bins.empty()) throw InputError("lesion matching: size bins must not be empty");
  std::ostringstream list;
  for (size_t i = 0; i < bins.size(); ++i) list << (i ? ", " : "") << bins[i];
  for (size_t i = 0; i < bins.size(); ++i) {
    if (!std::isfinite(bins[i])) {
      throw InputError("lesion matching: size bin edges must be finite (the last bin is open), got [" +
                       list.str() + "]");
    }
    if (i == 0 && bins[0] < 0) {
      throw InputError("lesion matching: the first size bin edge must be >= 0 mm^3, got [" +
                       list.str() + "]");
    }
    if (i > 0 && !(bins[i] > bins[i - 1])) {
      throw InputError("lesion matching: size bin edges must be strictly increasing, got [" +
                       list.str() + "]");
    }
  }
  if (options.match == MatchRule::Iou && !(options.iouThreshold > 0.0 && options.iouThreshold <= 1.0)) {
    throw InputError("lesion matching: IoU threshold must be in (0, 1], got " +
                     std::to_string(options.iouThreshold));
  }
  if (options.referenceDilation < 0 || options.referenceDilation > 10) {
    throw InputError("lesion matching: reference dilation must be 0..10 iterations, got " +
                     std::to_string(options.referenceDilation));
  }
  if (!(options.minLesionVolumeMm3 >= 0.0) || !std::isfinite(options.minLesionVolumeMm3)) {
    throw InputError("lesion matching: minimum lesion volume must be finite and >= 0 mm^3, got " +
                     std::to_string(options.minLesionVolumeMm3));
  }
}

void parseMatchRule(const std::string& text, LesionMatchOptions& options) {
  if (text == "any" || text == "overlap" || text == "any-overlap") {
    options.match = MatchRule::AnyOverlap;
    return;
  }
  if (text.rfind("iou:", 0) == 0) {
    const std::string value = text.substr(4);
    try {
      size_t used = 0;
      const double t = std::stod(value, &used);
      if (used == value.size() && t > 0.0 && t <= 1.0) {
        options.match = MatchRule::Iou;
        options.iouThreshold = t;
        return;
      }
    } catch (const std::exception&) {
    }
  }
  throw InputError("match rule: expected 'any' or 'iou:T' with T in (0, 1], got '" + text + "'");
}

std::string describeMatchRule(const LesionMatchOptions& options) {
  std::ostringstream out;
  if (options.match == MatchRule::Iou) {
    out << "iou>=" << options.iouThreshold;
  } else {
    out << "any-overlap";
  }
  if (options.referenceDilation > 0) {
    out << " with the reference lesion dilated " << options.referenceDilation
        << "x by the 18-neighbourhood cross";
  }
  return out.str();
}

LesionMatchOptions bratsPreset() {
  LesionMatchOptions o;
  o.connectivity = 26;
  o.match = MatchRule::AnyOverlap;
  o.referenceDilation = 3;
  o.minLesionVolumeMm3 = 50.0;
  o.preset = "brats2023";
  return o;
}

namespace {

// Reference lesions of one class. Without dilation: the components themselves, and each
// lesion is matched on its own voxels. With dilation (BraTS 2023): components of the
// dilated class mask group the reference components (lesion = the reference voxels of one
// dilated component, ids renumbered by each lesion's first voxel in raster order) and a
// lesion is matched on its dilated component, which equals the dilation of the lesion.
struct ReferenceLesions {
  Components lesions;  // lesion id per voxel (reference voxels only)
  Components regions;  // matching region id per voxel (== lesion id space)
};

ReferenceLesions referenceLesions(const LabelVolume& ref, int c, const LesionMatchOptions& options) {
  ReferenceLesions out;
  if (options.referenceDilation <= 0) {
    out.lesions = connectedComponents(ref.data, ref.geometry.size, c, options.connectivity);
    out.regions = out.lesions;
    return out;
  }
  std::vector<uint8_t> mask(ref.data.size());
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = ref.data[i] == c ? 1 : 0;
  const std::vector<uint8_t> dilated = dilate18(mask, ref.geometry.size, options.referenceDilation);
  Components grouped = connectedComponents(dilated, ref.geometry.size, 1, options.connectivity);
  // Renumber dilated components by the first *reference* voxel they hold.
  std::vector<int32_t> remap(grouped.count + 1, 0);
  int32_t next = 0;
  out.lesions.ids.assign(mask.size(), 0);
  for (size_t i = 0; i < mask.size(); ++i) {
    if (!mask[i]) continue;
    int32_t& id = remap[grouped.ids[i]];
    if (id == 0) id = ++next;
    out.lesions.ids[i] = id;
  }
  out.lesions.count = next;
  out.regions.count = next;
  out.regions.ids.assign(mask.size(), 0);
  for (size_t i = 0; i < mask.size(); ++i) {
    if (grouped.ids[i] != 0) out.regions.ids[i] = remap[grouped.ids[i]];
  }
  return out;
}

}  // namespace

CaseLesions matchLesions(const LabelVolume& pred, const LabelVolume& ref, int numClasses,
                         const LesionMatchOptions& options, const std::vector<uint8_t>* ignored) {
  checkNumClasses("matchLesions", numClasses);
  validateLesionMatchOptions(options);
  checkSameGrid("matchLesions", pred, ref);
  checkLabels("matchLesions", "prediction", pred.data, numClasses);
  checkLabels("matchLesions", "reference", ref.data, numClasses);
  if (ignored && ignored->size() != ref.data.size()) {
    throw InternalError("matchLesions: ignore mask of " + std::to_string(ignored->size()) + " voxels for " +
                        std::to_string(ref.data.size()));
  }

  const auto& bins = options.sizeBinsMm3;
  const double voxelVolume = ref.geometry.voxelVolume();
  CaseLesions result;
  result.falsePositives.assign(static_cast<size_t>(numClasses), 0);

  for (int c = 1; c < numClasses; ++c) {
    const ReferenceLesions refLesions = referenceLesions(ref, c, options);
    const Components& refCc = refLesions.lesions;
    const Components predCc =
        connectedComponents(pred.data, pred.geometry.size, c, options.connectivity);
    const int32_t numRef = refCc.count;
    std::vector<int64_t> voxels(numRef + 1, 0), first(numRef + 1, -1), predSize(predCc.count + 1, 0);
    // (lesion, predicted component) -> voxels shared by the lesion itself and the
    // component; a pair also exists (with 0 shared voxels) when the component only meets
    // the lesion's dilated region.
    std::map<uint64_t, int64_t> pairs;
    uint64_t lastKey = 0;
    int64_t* lastShared = nullptr;  // consecutive voxels mostly repeat the last pair
    for (size_t i = 0; i < ref.data.size(); ++i) {
      const int32_t r = refCc.ids[i], m = refLesions.regions.ids[i], p = predCc.ids[i];
      if (ignored && (*ignored)[i]) continue;  // unannotated: counts for nothing
      if (p != 0) ++predSize[p];
      if (r != 0) {
        ++voxels[r];
        if (first[r] < 0) first[r] = static_cast<int64_t>(i);
      }
      if (p == 0 || m == 0) continue;
      const uint64_t key = (static_cast<uint64_t>(m) << 32) | static_cast<uint32_t>(p);
      if (lastShared == nullptr || key != lastKey) {
        lastShared = &pairs[key];
        lastKey = key;
      }
      if (r != 0) ++*lastShared;
    }

    std::vector<char> predMatched(predCc.count + 1, 0);
    std::vector<int64_t> overlap(numRef + 1, 0), unionSize(numRef + 1, 0);
    std::vector<int> matched(numRef + 1, 0);
    for (const auto& [key, shared] : pairs) {
      const auto r = static_cast<int32_t>(key >> 32);
      const auto p = static_cast<int32_t>(key & 0xffffffffu);
      bool isMatch = true;
      if (options.match == MatchRule::Iou) {
        const double iou = static_cast<double>(shared) /
                           static_cast<double>(voxels[r] + predSize[p] - shared);
        isMatch = iou >= options.iouThreshold;
      }
      if (!isMatch) continue;
      predMatched[p] = 1;
      ++matched[r];
      overlap[r] += shared;
      unionSize[r] += predSize[p];
    }

    for (int32_t r = 1; r <= numRef; ++r) {
      Lesion lesion;
      lesion.classIndex = c;
      lesion.id = r;
      lesion.firstVoxel = first[r];
      lesion.voxels = voxels[r];
      lesion.volumeMm3 = static_cast<double>(voxels[r]) * voxelVolume;
      // Largest lower edge <= volume: lower edges inclusive, last bin open-ended.
      lesion.bin = static_cast<int>(std::upper_bound(bins.begin(), bins.end(), lesion.volumeMm3) -
                                    bins.begin()) - 1;
      lesion.counted = !(options.minLesionVolumeMm3 > 0.0 && lesion.volumeMm3 <= options.minLesionVolumeMm3);
      lesion.matchedComponents = matched[r];
      lesion.overlapVoxels = overlap[r];
      lesion.predVoxels = unionSize[r];
      lesion.detected = matched[r] > 0;
      // Predicted components are disjoint, so |lesion ∩ union| is the sum of the shared
      // voxels of the matched pairs.
      lesion.dice = 2.0 * overlap[r] / static_cast<double>(voxels[r] + unionSize[r]);
      lesion.iou = overlap[r] / static_cast<double>(voxels[r] + unionSize[r] - overlap[r]);
      result.lesions.push_back(lesion);
    }
    // predSize counts annotated voxels only: a component without any is not scored.
    for (int32_t p = 1; p <= predCc.count; ++p) {
      if (!predMatched[p] && predSize[p] > 0) ++result.falsePositives[c];
    }
  }
  return result;
}

}  // namespace seg
