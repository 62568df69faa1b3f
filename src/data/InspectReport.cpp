#include "data/InspectReport.h"

#include <array>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "core/Error.h"

namespace seg {

namespace {

using nlohmann::ordered_json;

std::string triple(const std::array<double, 3>& v) {
  std::ostringstream out;
  out << v[0] << " " << v[1] << " " << v[2];
  return out.str();
}

}  // namespace

InspectReport inspectImage(const std::string& path) {
  InspectReport report;
  report.info = readImageInfo(path);
  Volume volume;
  std::vector<uint64_t> nonFinite;
  try {
    volume = readImageCountingNonFinite(path, nonFinite);
  } catch (const InputError& e) {
    report.error = e.what();
    return report;
  }
  report.stats = computeVolumeStats(volume.data, nonFinite);
  return report;
}

std::string inspectText(const InspectReport& report) {
  const ImageInfo& info = report.info;
  const ImageGeometry& g = info.geometry;
  std::ostringstream out;
  out << "file:        " << info.path << "\n"
      << "dimensions:  " << info.dimensions << "D, " << info.channels << " channel(s)\n"
      << "component:   " << info.componentType << "\n"
      << "size:        " << g.size[0] << " " << g.size[1] << " " << g.size[2] << "\n"
      << "spacing:     " << triple(g.spacing) << "\n"
      << "origin:      " << triple(g.origin) << "\n"
      << "direction:   " << triple({g.direction[0], g.direction[1], g.direction[2]}) << " / "
      << triple({g.direction[3], g.direction[4], g.direction[5]}) << " / "
      << triple({g.direction[6], g.direction[7], g.direction[8]}) << "\n";
  if (report.stats) {
    const VolumeStats& s = *report.stats;
    if (s.finite) {
      out << "min/max/mean: " << s.min << " / " << s.max << " / " << s.mean
          << (s.nonFinite ? " (finite values)" : "") << "\n";
    }
    out << "non-finite:  " << s.nonFinite << (s.nonFinite ? " (NaN/Inf; training refuses this file)" : "") << "\n";
    if (s.finite && s.integerValued) {
      out << "values:      ";
      for (double v : s.distinct) out << v << " ";
      out << (s.distinctTruncated ? "..." : "") << "\n";
    }
  }
  return out.str();
}

std::string inspectJson(const InspectReport& report) {
  const ImageInfo& info = report.info;
  const ImageGeometry& g = info.geometry;
  ordered_json j;
  j["path"] = info.path;
  j["dimension"] = info.dimensions;
  j["channels"] = info.channels;
  j["pixel_components"] = 1;  // vector-pixel files are refused at read
  j["component_type"] = info.componentType;
  // The t extent of a 4D file is also its channel count.
  std::vector<int64_t> size(g.size.begin(), g.size.end());
  if (info.dimensions == 4) size.push_back(info.channels);
  j["size"] = size;
  j["spacing"] = g.spacing;
  j["origin"] = g.origin;
  // Nested rows of ITK's direction matrix (LPS physical space).
  j["direction"] = {{g.direction[0], g.direction[1], g.direction[2]},
                    {g.direction[3], g.direction[4], g.direction[5]},
                    {g.direction[6], g.direction[7], g.direction[8]}};
  if (report.stats) {
    const VolumeStats& s = *report.stats;
    j["min"] = s.finite ? ordered_json(s.min) : ordered_json(nullptr);
    j["max"] = s.finite ? ordered_json(s.max) : ordered_json(nullptr);
    j["mean"] = s.finite ? ordered_json(s.mean) : ordered_json(nullptr);
    j["non_finite"] = s.nonFinite;
    j["integer_valued"] = s.finite && s.integerValued;
    if (s.finite && s.integerValued) {
      j["distinct_values"] = s.distinct;
      j["distinct_values_truncated"] = s.distinctTruncated;
    }
  } else if (!report.error.empty()) {
    j["error"] = report.error;
  }
  return j.dump(2) + "\n";
}

}  // namespace seg
