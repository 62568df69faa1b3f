#include "data/SpatialCrop.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/Error.h"

namespace seg {

namespace {

// Output rows are visited in tiles of kTile x kTile (z, y) rows: the source footprint of
// one tile (about 17 x 17 x 130 voxels, rotated) stays in the core's L2 cache, so the
// neighbours shared by adjacent rows and slices are read from memory once. Row-major
// order instead sweeps a whole rotated slice (megabytes) before coming back.
constexpr int64_t kTile = 16;

// floor() for the border path (the interior works with non-negative positions, where a
// conversion truncates to the floor).
inline int64_t floorToInt(float s) {
  const int64_t i = static_cast<int64_t>(s);
  return i - (s < static_cast<float>(i) ? 1 : 0);
}

struct RowScratch {
  std::vector<float> wz, wy, wx;
  std::vector<int32_t> z, inPlane;  // lower neighbour: slice, and offset within the slice
};

class Cropper {
 public:
  Cropper(const CropSource& s, const std::array<int64_t, 3>& patch)
      : s_(s), patch_(patch), plane_(s.dims[1] * s.dims[2]), row_(s.dims[2]), voxels_(s.dims[0] * plane_),
        outVoxels_(patch[0] * patch[1] * patch[2]) {
    for (int a = 0; a < 3; ++a) {
      limit_[a] = static_cast<float>(s.dims[a] - 1);
      below_[a] = std::nextafter(limit_[a], 0.0f);
    }
    const size_t n = static_cast<size_t>(patch[2]);
    scratch_.wz.resize(n);
    scratch_.wy.resize(n);
    scratch_.wx.resize(n);
    scratch_.z.resize(n);
    scratch_.inPlane.resize(n);
  }

  // One output row: positions start + x * step, x in [0, patch[2]).
  void row(const float start[3], const float step[3], int64_t dst, float* image, uint8_t* label) {
    const int64_t n = patch_[2];
    int64_t xa = 0, xb = 0;
    interiorRange(start, step, n, xa, xb);
    for (int64_t x = 0; x < xa; ++x) border(start, step, x, dst, image, label);
    if (xb > xa) interior(start, step, xa, xb, dst, image, label);
    for (int64_t x = std::max(xa, xb); x < n; ++x) border(start, step, x, dst, image, label);
  }

 private:
  float position(const float start[3], const float step[3], int a, int64_t x) const {
    return start[a] + static_cast<float>(x) * step[a];
  }
  // All 8 neighbours inside: 0 <= p < dims - 1 on every axis (then floor(p) + 1 is a
  // valid index).
  bool inside(const float start[3], const float step[3], int64_t x) const {
    for (int a = 0; a < 3; ++a) {
      const float p = position(start, step, a, x);
      if (!(p >= 0.0f && p < limit_[a])) return false;
    }
    return true;
  }

  // The x range [xa, xb) whose positions are all interior. The positions are linear in
  // x and their float evaluation is monotonic, so the interior is one interval: solve
  // for it in double, then move each end until the float test agrees.
  void interiorRange(const float start[3], const float step[3], int64_t n, int64_t& xa, int64_t& xb) const {
    double lo = 0, hi = static_cast<double>(n);
    for (int a = 0; a < 3 && lo < hi; ++a) {
      const double p = start[a], d = step[a], l = limit_[a];
      if (d == 0) {
        if (!(p >= 0 && p < l)) hi = lo;
        continue;
      }
      const double t0 = (0 - p) / d, t1 = (l - p) / d;
      lo = std::max(lo, std::min(t0, t1));
      hi = std::min(hi, std::max(t0, t1));
    }
    xa = static_cast<int64_t>(std::clamp(std::ceil(lo), 0.0, static_cast<double>(n)));
    xb = static_cast<int64_t>(std::clamp(std::ceil(hi), 0.0, static_cast<double>(n)));
    if (xb <= xa) {
      xa = xb = 0;
      return;
    }
    while (xa < xb && !inside(start, step, xa)) ++xa;
    while (xb > xa && !inside(start, step, xb - 1)) --xb;
    while (xa > 0 && inside(start, step, xa - 1)) --xa;
    while (xb < n && inside(start, step, xb)) ++xb;
  }

  // Interior voxels: first the positions (one pass the compiler vectorises), then per
  // channel the 8-neighbour interpolation, then the label's nearest neighbour, which is
  // the lower neighbour plus one on each axis whose fraction is >= 0.5.
  void interior(const float start[3], const float step[3], int64_t xa, int64_t xb, int64_t dst, float* image,
                uint8_t* label) {
    const int32_t m = static_cast<int32_t>(xb - xa), first = static_cast<int32_t>(xa);
    float* __restrict wz = scratch_.wz.data();
    float* __restrict wy = scratch_.wy.data();
    float* __restrict wx = scratch_.wx.data();
    int32_t* __restrict slice = scratch_.z.data();
    int32_t* __restrict inPlane = scratch_.inPlane.data();
    const int32_t row32 = static_cast<int32_t>(row_);  // a slice has fewer than 2^31 voxels
    const float sz = start[0], sy = start[1], sx = start[2], dz = step[0], dy = step[1], dx = step[2];
    const float bz = below_[0], by = below_[1], bx = below_[2];
    for (int32_t i = 0; i < m; ++i) {
      const float x = static_cast<float>(first + i);
      // The clamp changes nothing when this evaluation agrees with inside() (same
      // expression); it keeps every read in bounds even if a compiler contracted one of
      // them into a fused multiply-add and not the other.
      const float pz = std::clamp(sz + x * dz, 0.0f, bz), py = std::clamp(sy + x * dy, 0.0f, by),
                  px = std::clamp(sx + x * dx, 0.0f, bx);
      const int32_t iz = static_cast<int32_t>(pz), iy = static_cast<int32_t>(py), ix = static_cast<int32_t>(px);
      const float fz = pz - static_cast<float>(iz), fy = py - static_cast<float>(iy), fx = px - static_cast<float>(ix);
      wz[i] = fz;
      wy[i] = fy;
      wx[i] = fx;
      slice[i] = iz;
      inPlane[i] = iy * row32 + ix;
    }
    const int64_t plane = plane_, row = row_;
    for (int64_t c = 0; c < s_.channels; ++c) {
      const float* v = s_.image + c * voxels_;
      float* out = image + c * outVoxels_ + dst + xa;
      for (int32_t i = 0; i < m; ++i) {
        const float* q = v + slice[i] * plane + inPlane[i];
        const float fx = wx[i], fy = wy[i], fz = wz[i];
        const float c00 = q[0] + fx * (q[1] - q[0]);
        const float c01 = q[row] + fx * (q[row + 1] - q[row]);
        const float c10 = q[plane] + fx * (q[plane + 1] - q[plane]);
        const float c11 = q[plane + row] + fx * (q[plane + row + 1] - q[plane + row]);
        const float c0 = c00 + fy * (c01 - c00), c1 = c10 + fy * (c11 - c10);
        out[i] = c0 + fz * (c1 - c0);
      }
    }
    if (s_.label) {
      uint8_t* out = label + dst + xa;
      for (int32_t i = 0; i < m; ++i) {
        const int64_t nz = slice[i] + (wz[i] >= 0.5f), ny = wy[i] >= 0.5f, nx = wx[i] >= 0.5f;
        out[i] = s_.label[nz * plane + inPlane[i] + ny * row + nx];
      }
    }
  }

  // Any voxel, with bounds checks: neighbours outside weigh 0.
  void border(const float start[3], const float step[3], int64_t x, int64_t dst, float* image, uint8_t* label) const {
    int64_t base[3];
    float frac[3];
    bool near[3];
    for (int a = 0; a < 3; ++a) {
      const float p = position(start, step, a, x);
      base[a] = floorToInt(p);
      frac[a] = p - static_cast<float>(base[a]);
      near[a] = frac[a] >= 0.5f;
    }
    auto valid = [&](int a, int64_t i) { return i >= 0 && i < s_.dims[a]; };
    for (int64_t c = 0; c < s_.channels; ++c) {
      const float* v = s_.image + c * voxels_;
      float acc = 0.0f;
      for (int dz = 0; dz < 2; ++dz)
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) {
            const int64_t qz = base[0] + dz, qy = base[1] + dy, qx = base[2] + dx;
            if (!valid(0, qz) || !valid(1, qy) || !valid(2, qx)) continue;
            const float w = (dz ? frac[0] : 1 - frac[0]) * (dy ? frac[1] : 1 - frac[1]) * (dx ? frac[2] : 1 - frac[2]);
            acc += w * v[qz * plane_ + qy * row_ + qx];
          }
      image[c * outVoxels_ + dst + x] = acc;
    }
    if (s_.label) {
      const int64_t nz = base[0] + near[0], ny = base[1] + near[1], nx = base[2] + near[2];
      label[dst + x] = valid(0, nz) && valid(1, ny) && valid(2, nx) ? s_.label[nz * plane_ + ny * row_ + nx] : 0;
    }
  }

  const CropSource& s_;
  std::array<int64_t, 3> patch_;
  int64_t plane_, row_, voxels_, outVoxels_;
  float limit_[3], below_[3];  // dims - 1 and the float just below it
  RowScratch scratch_;
};

// Scaling without rotation (the matrix is diagonal: 16% of nnU-Net's samples) is
// separable: interpolate source rows along x, those rows along y, then planes along z.
// Each source plane is interpolated once (the last two are kept) instead of 8 scattered
// reads per output voxel. Same positions as the general path (z, y: the double value
// rounded to float; x: float start + x * step), same lerp order, so interior voxels are
// bit-identical to it; neighbours outside the volume count as 0 as there.
class AxisAlignedCropper {
 public:
  AxisAlignedCropper(const CropSource& s, const std::array<double, 3>& centre, const std::array<double, 9>& m,
                     const std::array<int64_t, 3>& patch)
      : s_(s), patch_(patch), plane_(s.dims[1] * s.dims[2]), outPlane_(patch[1] * patch[2]) {
    for (int a = 0; a < 3; ++a) {
      const double h = (patch[a] - 1) / 2.0, scale = m[a * 4];
      const float xStart = static_cast<float>(centre[2] - scale * h), xStep = static_cast<float>(scale);
      Axis& t = axes_[a];
      for (int64_t o = 0; o < patch[a]; ++o) {
        const float p = a == 2 ? xStart + static_cast<float>(o) * xStep : static_cast<float>(centre[a] + scale * (o - h));
        const int64_t b = floorToInt(p);
        const float f = p - static_cast<float>(b);
        t.lower.push_back(b);
        t.frac.push_back(f);
        const int64_t n = b + (f >= 0.5f ? 1 : 0);
        t.nearest.push_back(n >= 0 && n < s.dims[a] ? n : -1);
      }
    }
    row0_.resize(patch[2]);
    row1_.resize(patch[2]);
    for (auto& c : cache_) c.data.resize(outPlane_);
  }

  void run(float* image, uint8_t* label) {
    const Axis& z = axes_[0];
    for (int64_t c = 0; c < s_.channels; ++c) {
      const float* v = s_.image + c * s_.dims[0] * plane_;
      for (auto& k : cache_) k.slice = kNone;
      float* out = image + c * patch_[0] * outPlane_;
      for (int64_t oz = 0; oz < patch_[0]; ++oz) {
        const float* a = plane(v, z.lower[oz], kNone);
        const float* b = plane(v, z.lower[oz] + 1, z.lower[oz]);
        const float f = z.frac[oz];
        float* o = out + oz * outPlane_;
        for (int64_t i = 0; i < outPlane_; ++i) o[i] = a[i] + f * (b[i] - a[i]);
      }
    }
    if (!label) return;
    const Axis &y = axes_[1], &x = axes_[2];
    for (int64_t oz = 0; oz < patch_[0]; ++oz)
      for (int64_t oy = 0; oy < patch_[1]; ++oy) {
        uint8_t* o = label + oz * outPlane_ + oy * patch_[2];
        const int64_t nz = z.nearest[oz], ny = y.nearest[oy];
        if (nz < 0 || ny < 0) {
          std::fill(o, o + patch_[2], uint8_t{0});
          continue;
        }
        const uint8_t* r = s_.label + nz * plane_ + ny * s_.dims[2];
        for (int64_t ox = 0; ox < patch_[2]; ++ox) o[ox] = x.nearest[ox] < 0 ? 0 : r[x.nearest[ox]];
      }
  }

 private:
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
  struct Axis {
    std::vector<int64_t> lower, nearest;  // nearest: -1 outside the volume
    std::vector<float> frac;
  };
  struct Plane {
    int64_t slice = kNone;
    std::vector<float> data;  // (patch y, patch x)
  };

  // Source slice `sz` interpolated on the output (y, x) grid, zeros outside the volume;
  // computed into the cache slot that does not hold slice `keep`.
  const float* plane(const float* v, int64_t sz, int64_t keep) {
    for (auto& k : cache_)
      if (k.slice == sz) return k.data.data();
    Plane& k = cache_[0].slice == keep ? cache_[1] : cache_[0];
    k.slice = sz;
    float* o = k.data.data();
    if (sz < 0 || sz >= s_.dims[0]) {
      std::fill(o, o + outPlane_, 0.0f);
      return o;
    }
    const Axis& y = axes_[1];
    for (int64_t oy = 0; oy < patch_[1]; ++oy) {
      rowX(v + sz * plane_, y.lower[oy], row0_.data());
      rowX(v + sz * plane_, y.lower[oy] + 1, row1_.data());
      const float f = y.frac[oy];
      float* r = o + oy * patch_[2];
      for (int64_t ox = 0; ox < patch_[2]; ++ox) r[ox] = row0_[ox] + f * (row1_[ox] - row0_[ox]);
    }
    return o;
  }

  // Source row `sy` of a slice interpolated on the output x grid; zeros outside.
  void rowX(const float* slice, int64_t sy, float* out) const {
    const Axis& x = axes_[2];
    if (sy < 0 || sy >= s_.dims[1]) {
      std::fill(out, out + patch_[2], 0.0f);
      return;
    }
    const float* r = slice + sy * s_.dims[2];
    const int64_t last = s_.dims[2] - 1;
    for (int64_t ox = 0; ox < patch_[2]; ++ox) {
      const int64_t b = x.lower[ox];
      const float a = b >= 0 && b <= last ? r[b] : 0.0f, c = b + 1 >= 0 && b + 1 <= last ? r[b + 1] : 0.0f;
      out[ox] = a + x.frac[ox] * (c - a);
    }
  }

  const CropSource& s_;
  std::array<int64_t, 3> patch_;
  int64_t plane_, outPlane_;
  Axis axes_[3];
  Plane cache_[2];
  std::vector<float> row0_, row1_;
};

}  // namespace

void cropAffine(const CropSource& source, const std::array<double, 3>& centre, const std::array<double, 9>& m,
                const std::array<int64_t, 3>& patch, float* image, uint8_t* label) {
  if (m[1] == 0 && m[2] == 0 && m[3] == 0 && m[5] == 0 && m[6] == 0 && m[7] == 0) {
    AxisAlignedCropper(source, centre, m, patch).run(image, label);
    return;
  }
  // The general path keeps offsets within a slice in int32 (vectorised index arithmetic).
  if (source.dims[1] * source.dims[2] > std::numeric_limits<int32_t>::max()) {
    throw InputError("rotation augmentation: a slice of " + std::to_string(source.dims[1]) + " x " +
                     std::to_string(source.dims[2]) + " voxels exceeds 2^31 - 1 voxels");
  }
  Cropper cropper(source, patch);
  const double hz = (patch[0] - 1) / 2.0, hy = (patch[1] - 1) / 2.0, hx = (patch[2] - 1) / 2.0;
  const float step[3] = {static_cast<float>(m[2]), static_cast<float>(m[5]), static_cast<float>(m[8])};
  for (int64_t zb = 0; zb < patch[0]; zb += kTile)
    for (int64_t yb = 0; yb < patch[1]; yb += kTile)
      for (int64_t z = zb; z < std::min(zb + kTile, patch[0]); ++z)
        for (int64_t y = yb; y < std::min(yb + kTile, patch[1]); ++y) {
          const double oz = z - hz, oy = y - hy;
          // Row start (x = 0) in double, then float for the per-voxel arithmetic.
          const float start[3] = {static_cast<float>(centre[0] + m[0] * oz + m[1] * oy - m[2] * hx),
                                  static_cast<float>(centre[1] + m[3] * oz + m[4] * oy - m[5] * hx),
                                  static_cast<float>(centre[2] + m[6] * oz + m[7] * oy - m[8] * hx)};
          cropper.row(start, step, (z * patch[1] + y) * patch[2], image, label);
        }
}

}  // namespace seg
