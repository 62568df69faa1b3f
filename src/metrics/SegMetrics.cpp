// Overlap, connected components and lesion matching (design.md section 7). Behaviour
// matched: Dice/IoU as nnU-Net's compute_metrics (nnunetv2/evaluation/
// evaluate_predictions.py: 2tp/(2tp+fp+fn), NaN only when tp+fp+fn == 0), with that
// both-empty value made an explicit rule. MONAI's ignore_empty differs: it gives NaN
// whenever the reference is empty, hiding false positives on empty cases. Components as
// scipy.ndimage.label with generate_binary_structure(3, 1|2|3) (26 = ITK's
// ConnectedComponentImageFilter with FullyConnectedOn); golden values in
// tests/unit/metrics/MetricsGolden.h come from scripts/reference/metrics_reference.py.
#include "metrics/SegMetrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "core/Error.h"

namespace seg {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

template <typename T>
std::string triple(const std::array<T, 3>& v) {
  std::ostringstream out;
  out << "(" << v[0] << "," << v[1] << "," << v[2] << ")";
  return out.str();
}

// Both sizes always appear in the message, plus which other attribute differs, so a user
// sees at once which resampling step went wrong.
void checkSameGrid(const char* where, const LabelVolume& pred, const LabelVolume& ref) {
  const ImageGeometry& p = pred.geometry;
  const ImageGeometry& r = ref.geometry;
  if (!p.sameGrid(r)) {
    std::string why;
    if (p.size != r.size) {
      why = "sizes differ";
    } else {
      // Swap one attribute at a time into the reference to see which ones disagree.
      ImageGeometry probe = r;
      probe.spacing = p.spacing;
      if (!probe.sameGrid(r)) why += "; spacing " + triple(p.spacing) + " vs " + triple(r.spacing);
      probe = r;
      probe.origin = p.origin;
      if (!probe.sameGrid(r)) why += "; origin " + triple(p.origin) + " vs " + triple(r.origin);
      probe = r;
      probe.direction = p.direction;
      if (!probe.sameGrid(r)) why += "; direction differs";
      why = why.empty() ? "geometry differs" : why.substr(2);
    }
    throw InputError(std::string(where) + ": prediction " + p.describeSize() + " and reference " +
                     r.describeSize() + " are not on the same grid (" + why + ")");
  }
  for (const auto* v : {&pred, &ref}) {
    if (static_cast<int64_t>(v->data.size()) != v->geometry.numVoxels()) {
      throw InputError(std::string(where) + ": " + (v == &pred ? "prediction" : "reference") +
                       " buffer holds " + std::to_string(v->data.size()) + " voxels but size " +
                       v->geometry.describeSize() + " needs " +
                       std::to_string(v->geometry.numVoxels()));
    }
  }
}

void checkNumClasses(const char* where, int numClasses) {
  if (numClasses < 1 || numClasses > 256) {
    throw InputError(std::string(where) + ": numClasses must be in 1..256 (uint8 labels), got " +
                     std::to_string(numClasses));
  }
}

void checkLabels(const char* where, const char* which, const std::vector<uint8_t>& data,
                 int numClasses) {
  const uint8_t maxLabel = data.empty() ? 0 : *std::max_element(data.begin(), data.end());
  if (maxLabel >= numClasses) {
    throw InputError(std::string(where) + ": " + which + " contains label " +
                     std::to_string(maxLabel) + " but numClasses is " + std::to_string(numClasses) +
                     " (labels must be 0.." + std::to_string(numClasses - 1) + ")");
  }
}

double emptyValue(EmptyRule rule) {
  switch (rule) {
    case EmptyRule::One: return 1.0;
    case EmptyRule::Zero: return 0.0;
    case EmptyRule::Nan: break;
  }
  return kNan;
}

// Union-find over provisional labels. The root is always the smallest label of a set, and
// provisional labels are handed out in raster order, so the root is the label of the
// component's first voxel: renumbering roots in increasing order gives raster-ordered ids.
int32_t findRoot(std::vector<int32_t>& parent, int32_t a) {
  while (parent[a] != a) {
    parent[a] = parent[parent[a]];  // path halving
    a = parent[a];
  }
  return a;
}

// Returns the merged root, which the caller keeps as its label: later neighbours that
// already carry the root then skip the find.
int32_t unite(std::vector<int32_t>& parent, int32_t a, int32_t b) {
  a = findRoot(parent, a);
  b = findRoot(parent, b);
  if (a < b) {
    parent[b] = a;
    return a;
  }
  parent[a] = b;
  return b;
}

}  // namespace

EmptyRule parseEmptyRule(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "nan") return EmptyRule::Nan;
  if (lower == "one") return EmptyRule::One;
  if (lower == "zero") return EmptyRule::Zero;
  throw InputError("empty rule: expected 'nan', 'one' or 'zero', got '" + text + "'");
}

std::string toString(EmptyRule rule) {
  switch (rule) {
    case EmptyRule::One: return "one";
    case EmptyRule::Zero: return "zero";
    case EmptyRule::Nan: break;
  }
  return "nan";
}

std::vector<ClassOverlap> overlapPerClass(const LabelVolume& pred, const LabelVolume& ref,
                                          int numClasses, EmptyRule rule) {
  checkNumClasses("overlapPerClass", numClasses);
  checkSameGrid("overlapPerClass", pred, ref);
  checkLabels("overlapPerClass", "prediction", pred.data, numClasses);
  checkLabels("overlapPerClass", "reference", ref.data, numClasses);

  // A joint histogram keeps the voxel loop branch-free; tp/fp/fn fall out of its
  // diagonal and margins.
  std::vector<int64_t> joint(256 * 256, 0);
  const size_t n = ref.data.size();
  for (size_t i = 0; i < n; ++i) ++joint[(static_cast<size_t>(pred.data[i]) << 8) | ref.data[i]];

  std::vector<ClassOverlap> result;
  for (int c = 1; c < numClasses; ++c) {
    ClassOverlap o;
    o.classIndex = c;
    for (int k = 0; k < numClasses; ++k) {
      o.predVoxels += joint[(c << 8) | k];
      o.refVoxels += joint[(k << 8) | c];
    }
    o.tp = joint[(c << 8) | c];
    o.fp = o.predVoxels - o.tp;
    o.fn = o.refVoxels - o.tp;
    if (o.refVoxels == 0 && o.predVoxels == 0) {
      o.dice = o.iou = emptyValue(rule);
    } else {
      o.dice = 2.0 * o.tp / static_cast<double>(2 * o.tp + o.fp + o.fn);
      o.iou = o.tp / static_cast<double>(o.tp + o.fp + o.fn);
    }
    result.push_back(o);
  }
  return result;
}

Components connectedComponents(const std::vector<uint8_t>& labels,
                               const std::array<int64_t, 3>& size, int classIndex,
                               int connectivity) {
  if (connectivity != 6 && connectivity != 18 && connectivity != 26) {
    throw InputError("connectedComponents: connectivity must be 6, 18 or 26, got " +
                     std::to_string(connectivity));
  }
  if (classIndex < 0 || classIndex > 255) {
    throw InputError("connectedComponents: class index must be in 0..255, got " +
                     std::to_string(classIndex));
  }
  const int64_t nx = size[0], ny = size[1], nz = size[2];
  if (nx < 0 || ny < 0 || nz < 0 || static_cast<int64_t>(labels.size()) != nx * ny * nz) {
    throw InputError("connectedComponents: buffer holds " + std::to_string(labels.size()) +
                     " voxels but size is " + triple(size));
  }
  if (nx * ny * nz > std::numeric_limits<int32_t>::max()) {
    throw InputError("connectedComponents: volume " + triple(size) +
                     " has more voxels than int32 component ids can address");
  }

  // The already-visited half of generate_binary_structure(3, rank): offsets before the
  // centre in raster order whose Manhattan length is <= rank (6 -> 1, 18 -> 2, 26 -> 3).
  const int rank = connectivity == 6 ? 1 : connectivity == 18 ? 2 : 3;
  auto isBackward = [rank](int dx, int dy, int dz) {
    const bool before = dz < 0 || (dz == 0 && (dy < 0 || (dy == 0 && dx < 0)));
    return before && std::abs(dx) <= 1 && std::abs(dx) + std::abs(dy) + std::abs(dz) <= rank;
  };
  struct Offset {
    int dx, dy, dz;
    int64_t flat;
  };
  // `afterLeft`: when the left neighbour (x-1) is in the class it already carries the union
  // of its own backward neighbours, so only the offsets it cannot see need a look (for 26
  // that is the x+1 column, 4 of 13) -- the usual scan-mask shortcut of two-pass labelling.
  std::vector<Offset> back, afterLeft;
  for (int dz = -1; dz <= 0; ++dz) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        if (!isBackward(dx, dy, dz)) continue;
        const Offset o{dx, dy, dz, (dz * ny + dy) * nx + dx};
        back.push_back(o);
        if (!(dx == -1 && dy == 0 && dz == 0) && !isBackward(dx + 1, dy, dz)) afterLeft.push_back(o);
      }
    }
  }

  const auto cls = static_cast<uint8_t>(classIndex);
  Components out;
  out.ids.assign(labels.size(), 0);
  std::vector<int32_t> parent{0};  // provisional label 0 = background
  int32_t* ids = out.ids.data();
  const uint8_t* lab = labels.data();

  for (int64_t z = 0; z < nz; ++z) {
    for (int64_t y = 0; y < ny; ++y) {
      const int64_t row = (z * ny + y) * nx;
      const bool innerRow = z > 0 && y > 0 && y < ny - 1;
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = row + x;
        if (lab[i] != cls) continue;
        int32_t label = x > 0 ? ids[i - 1] : 0;
        const std::vector<Offset>& todo = label != 0 ? afterLeft : back;
        const bool inner = innerRow && x > 0 && x < nx - 1;
        for (const Offset& o : todo) {
          if (!inner && (z + o.dz < 0 || y + o.dy < 0 || y + o.dy >= ny || x + o.dx < 0 ||
                         x + o.dx >= nx)) {
            continue;
          }
          const int32_t neighbour = ids[i + o.flat];
          if (neighbour == 0) continue;
          if (label == 0) {
            label = neighbour;
          } else if (neighbour != label) {
            label = unite(parent, label, neighbour);
          }
        }
        if (label == 0) {
          label = static_cast<int32_t>(parent.size());
          parent.push_back(label);
        }
        ids[i] = label;
      }
    }
  }

  // parent[l] < l for every non-root, so one increasing sweep resolves final ids.
  std::vector<int32_t> finalId(parent.size(), 0);
  for (size_t l = 1; l < parent.size(); ++l) {
    finalId[l] = parent[l] == static_cast<int32_t>(l) ? ++out.count : finalId[parent[l]];
  }
  for (size_t i = 0; i < labels.size(); ++i) ids[i] = finalId[ids[i]];
  return out;
}

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

std::vector<uint8_t> dilate18(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& size,
                              int iterations) {
  const int64_t nx = size[0], ny = size[1], nz = size[2];
  std::vector<uint8_t> cur(mask), next;
  for (int it = 0; it < iterations; ++it) {
    next = cur;
    for (int64_t z = 0; z < nz; ++z) {
      for (int64_t y = 0; y < ny; ++y) {
        for (int64_t x = 0; x < nx; ++x) {
          if (!cur[(z * ny + y) * nx + x]) continue;
          // Scatter into the 18 neighbours: offsets with Manhattan length 1 or 2.
          for (int dz = -1; dz <= 1; ++dz) {
            const int64_t zz = z + dz;
            if (zz < 0 || zz >= nz) continue;
            for (int dy = -1; dy <= 1; ++dy) {
              const int64_t yy = y + dy;
              if (yy < 0 || yy >= ny) continue;
              for (int dx = -1; dx <= 1; ++dx) {
                const int64_t xx = x + dx;
                if (xx < 0 || xx >= nx || std::abs(dx) + std::abs(dy) + std::abs(dz) > 2) continue;
                next[(zz * ny + yy) * nx + xx] = 1;
              }
            }
          }
        }
      }
    }
    cur.swap(next);
  }
  return cur;
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
                         const LesionMatchOptions& options) {
  checkNumClasses("matchLesions", numClasses);
  validateLesionMatchOptions(options);
  checkSameGrid("matchLesions", pred, ref);
  checkLabels("matchLesions", "prediction", pred.data, numClasses);
  checkLabels("matchLesions", "reference", ref.data, numClasses);

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
    for (int32_t p = 1; p <= predCc.count; ++p) {
      if (!predMatched[p]) ++result.falsePositives[c];
    }
  }
  return result;
}

std::vector<SizeBinRow> aggregateBins(const std::vector<CaseLesions>& cases, int numClasses,
                                      const std::vector<double>& sizeBinsMm3) {
  checkNumClasses("aggregateBins", numClasses);
  LesionMatchOptions check;
  check.sizeBinsMm3 = sizeBinsMm3;
  validateLesionMatchOptions(check);

  const size_t numBins = sizeBinsMm3.size();
  std::vector<SizeBinRow> rows;
  for (int c = 1; c < numClasses; ++c) {
    for (size_t b = 0; b < numBins; ++b) {
      SizeBinRow row;
      row.classIndex = c;
      row.lowMm3 = sizeBinsMm3[b];
      if (b + 1 < numBins) row.highMm3 = sizeBinsMm3[b + 1];
      rows.push_back(row);
    }
  }
  std::vector<double> diceSum(rows.size(), 0.0);
  for (const CaseLesions& cs : cases) {
    for (const Lesion& lesion : cs.lesions) {
      if (lesion.classIndex < 1 || lesion.classIndex >= numClasses) {
        throw InputError("aggregateBins: lesion of class " + std::to_string(lesion.classIndex) +
                         " but numClasses is " + std::to_string(numClasses));
      }
      if (lesion.bin >= static_cast<int>(numBins)) {
        throw InputError("aggregateBins: lesion bin " + std::to_string(lesion.bin) +
                         " is out of range for " + std::to_string(numBins) +
                         " size bins (were the lesions matched with other bins?)");
      }
      if (lesion.bin < 0 || !lesion.counted) continue;  // deliberately unbinned / unscored
      const size_t k = static_cast<size_t>(lesion.classIndex - 1) * numBins + lesion.bin;
      ++rows[k].lesions;
      if (lesion.detected) ++rows[k].detected;
      diceSum[k] += lesion.dice;
    }
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    if (rows[k].lesions == 0) {
      rows[k].sensitivity = rows[k].meanDice = kNan;
    } else {
      rows[k].sensitivity = static_cast<double>(rows[k].detected) / rows[k].lesions;
      rows[k].meanDice = diceSum[k] / rows[k].lesions;
    }
  }
  return rows;
}

}  // namespace seg
