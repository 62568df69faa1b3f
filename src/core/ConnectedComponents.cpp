// Two-pass connected-component labelling with union-find, as scipy.ndimage.label with
// generate_binary_structure(3, 1|2|3) (26 = ITK's ConnectedComponentImageFilter with
// FullyConnectedOn); golden values in tests/unit/metrics/MetricsGolden.h come from
// scripts/reference/metrics_reference.py.
#include "core/ConnectedComponents.h"

#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

#include "core/Error.h"

namespace seg {

namespace {

std::string triple(const std::array<int64_t, 3>& v) {
  std::ostringstream out;
  out << "(" << v[0] << "," << v[1] << "," << v[2] << ")";
  return out.str();
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

}  // namespace seg
