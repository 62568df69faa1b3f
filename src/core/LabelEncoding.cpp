#include "core/LabelEncoding.h"

#include "core/Error.h"

namespace seg {

std::array<uint64_t, 256> LabelEncoding::regionBits() const {
  std::array<uint64_t, 256> bits{};
  for (size_t r = 0; r < regions.size() && r < 64; ++r)
    for (int v : regions[r])
      if (v >= 0 && v < 256) bits[static_cast<size_t>(v)] |= uint64_t{1} << r;
  return bits;
}

void LabelEncoding::check(const std::string& where) const {
  if (regions.size() > 64) throw InputError(where + ": at most 64 regions, got " + std::to_string(regions.size()));
  if (!regionNames.empty() && regionNames.size() != regions.size()) {
    throw InputError(where + ": " + std::to_string(regionNames.size()) + " region names for " +
                     std::to_string(regions.size()) + " regions");
  }
  if (hasRegions() && regionsClassOrder.size() != regions.size()) {
    throw InputError(where + ": regions_class_order needs one value per region (" + std::to_string(regions.size()) +
                     " regions, " + std::to_string(regionsClassOrder.size()) + " values)");
  }
  for (size_t r = 0; r < regions.size(); ++r) {
    const std::string name = where + ": region " + (regionNames.empty() ? std::to_string(r) : "'" + regionNames[r] + "'");
    if (regions[r].empty()) throw InputError(name + " has no label values");
    for (int v : regions[r]) {
      if (v < 1 || v > 255) throw InputError(name + ": label value " + std::to_string(v) + " is not in 1..255");
      if (v == ignoreLabel) throw InputError(name + ": contains the ignore label " + std::to_string(v));
    }
  }
  for (int v : regionsClassOrder) {
    if (v < 1 || v > 255) throw InputError(where + ": regions_class_order value " + std::to_string(v) + " is not in 1..255");
  }
}

LabelVolume regionMask(const LabelVolume& labels, const LabelEncoding& encoding, size_t r) {
  if (r >= encoding.regions.size()) throw InternalError("regionMask: region " + std::to_string(r) + " of " +
                                                        std::to_string(encoding.regions.size()));
  const auto bits = encoding.regionBits();
  const uint64_t bit = uint64_t{1} << r;
  LabelVolume out;
  out.geometry = labels.geometry;
  out.data.resize(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) out.data[i] = (bits[labels.data[i]] & bit) ? 1 : 0;
  return out;
}

LabelVolume paintRegions(const std::vector<LabelVolume>& masks, const LabelEncoding& encoding) {
  if (masks.size() != encoding.regions.size() || masks.empty()) {
    throw InternalError("paintRegions: " + std::to_string(masks.size()) + " masks for " +
                        std::to_string(encoding.regions.size()) + " regions");
  }
  LabelVolume out;
  out.geometry = masks.front().geometry;
  out.data.assign(masks.front().data.size(), 0);
  for (size_t r = 0; r < masks.size(); ++r) {
    if (masks[r].data.size() != out.data.size()) throw InternalError("paintRegions: masks differ in size");
    const auto value = static_cast<uint8_t>(encoding.regionsClassOrder[r]);
    for (size_t i = 0; i < out.data.size(); ++i)
      if (masks[r].data[i]) out.data[i] = value;
  }
  return out;
}

void dropIgnored(LabelVolume& pred, LabelVolume& ref, const LabelEncoding& encoding) {
  if (!encoding.hasIgnore()) return;
  if (pred.data.size() != ref.data.size()) throw InternalError("dropIgnored: grids differ in size");
  const auto ignore = static_cast<uint8_t>(encoding.ignoreLabel);
  for (size_t i = 0; i < ref.data.size(); ++i) {
    if (ref.data[i] == ignore) {
      ref.data[i] = 0;
      pred.data[i] = 0;
    }
  }
}

}  // namespace seg
