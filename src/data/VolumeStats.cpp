#include "data/VolumeStats.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <set>

namespace seg {

VolumeStats computeVolumeStats(const std::vector<float>& values, const std::vector<uint64_t>& nonFinite,
                               size_t maxDistinct) {
  VolumeStats s;
  s.nonFinite = nonFinite.size();
  if (nonFinite.size() == values.size()) return s;  // nothing finite: no min/max/mean
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  double sum = 0;
  s.integerValued = true;
  std::set<double> distinct;
  size_t skip = 0;  // next index into nonFinite
  for (size_t i = 0; i < values.size(); ++i) {
    if (skip < nonFinite.size() && nonFinite[skip] == i) {
      ++skip;
      continue;
    }
    const float v = values[i];
    s.min = std::min<double>(s.min, v);
    s.max = std::max<double>(s.max, v);
    sum += v;
    if (s.integerValued) {
      if (v != std::floor(v)) {
        s.integerValued = false;
      } else if (distinct.insert(v).second && distinct.size() > maxDistinct) {
        // Keep the smallest maxDistinct values seen so far.
        distinct.erase(std::prev(distinct.end()));
        s.distinctTruncated = true;
      }
    }
  }
  s.mean = sum / static_cast<double>(values.size() - nonFinite.size());
  s.finite = true;
  if (s.integerValued) s.distinct.assign(distinct.begin(), distinct.end());
  return s;
}

}  // namespace seg
