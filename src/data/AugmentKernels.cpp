// Augmentation kernels (data/AugmentKernels.h): nnU-Net's Gaussian blur, low-resolution
// simulation, gamma (retain_stats) and Gaussian noise; the comment at each kernel says
// what it matches and where it deliberately differs.
#include "data/AugmentKernels.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace seg {

namespace {


// Float helpers the compiler vectorises (the libm calls it cannot: log, sin, cos per
// voxel were most of the cost of the noise transform).
inline float bitsToFloat(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
inline uint32_t floatToBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Natural logarithm of a positive normal float: Cephes' logf (exponent split, minimax
// polynomial on [sqrt(1/2) - 1, sqrt(2) - 1]; relative error ~1e-7).
inline float fastLog(float x) {
  const uint32_t bits = floatToBits(x);
  const float mantissa = bitsToFloat((bits & 0x807fffffu) | 0x3f000000u);  // x = mantissa * 2^e, in [0.5, 1)
  const bool low = mantissa < 0.707106781186547524f;                          // then use 2 * mantissa, e - 1
  const int e = static_cast<int>((bits >> 23) & 0xff) - 126 - (low ? 1 : 0);
  const float m = mantissa + (low ? mantissa : 0.0f) - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const float fe = static_cast<float>(e);
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return m + y + 0.693359375f * fe;
}

// cos and sin of 2*pi*u, u in [0, 1): quarter-turn reduction to |a| <= pi/4 and Cephes'
// sinf / cosf polynomials there (absolute error ~1e-7).
inline void cosSinTurn(float u, float& c, float& s) {
  const float t = u * 4.0f;
  const int q = static_cast<int>(t + 0.5f);  // nearest quarter turn, 0..4
  const float a = (t - static_cast<float>(q)) * 1.57079632679489662f;
  const float a2 = a * a;
  const float sa = a + a * a2 * (-1.6666654611e-1f + a2 * (8.3321608736e-3f + a2 * -1.9515295891e-4f));
  const float ca = 1.0f - 0.5f * a2 + a2 * a2 * (4.166664568298827e-2f + a2 * (-1.388731625493765e-3f + a2 * 2.443315711809948e-5f));
  // (cos, sin) of q quarter turns plus a: (ca, sa), (-sa, ca), (-ca, -sa), (sa, -ca).
  const float odd = static_cast<float>(q & 1), even = 1.0f - odd;
  const float cr = odd * sa + even * ca, sr = odd * ca + even * sa;
  c = cr * (1.0f - static_cast<float>((q + 1) & 2));
  s = sr * (1.0f - static_cast<float>(q & 2));
}



// Linear interpolation weights of a resize from `from` to `to` samples along one axis,
// with centres aligned (coordinate (i + 0.5) * from / to - 0.5, clamped to the ends).
struct LinearTable {
  std::vector<int64_t> i0, i1;
  std::vector<float> w;
};
LinearTable linearTable(int64_t from, int64_t to) {
  LinearTable t;
  for (int64_t i = 0; i < to; ++i) {
    const double c = std::clamp((i + 0.5) * from / to - 0.5, 0.0, static_cast<double>(from - 1));
    const int64_t a = static_cast<int64_t>(c);
    t.i0.push_back(a);
    t.i1.push_back(std::min(a + 1, from - 1));
    t.w.push_back(static_cast<float>(c - a));
  }
  return t;
}

}  // namespace

// One axis of a separable Gaussian blur, zero-flux (clamped) borders. The volume is
// seen as [outer][n][inner] with the blurred axis in the middle: for the y and z axes
// whole contiguous rows are combined (vectorisable), for x each row is padded once.
void blurAxis(float* v, const std::array<int64_t, 3>& d, int axis, double sigma) {
  const int radius = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
  std::vector<float> kernel(2 * radius + 1);
  double total = 0;
  for (int i = -radius; i <= radius; ++i) total += kernel[i + radius] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (auto& k : kernel) k = static_cast<float>(k / total);
  const int64_t n = d[axis];
  const int64_t inner = axis == 0 ? d[1] * d[2] : axis == 1 ? d[2] : 1;
  const int64_t outer = d[0] * d[1] * d[2] / (n * inner);
  if (inner == 1) {
    std::vector<float> line(n + 2 * radius);
    for (int64_t o = 0; o < outer; ++o) {
      float* row = v + o * n;
      for (int64_t i = 0; i < n + 2 * radius; ++i) line[i] = row[std::clamp<int64_t>(i - radius, 0, n - 1)];
      for (int64_t i = 0; i < n; ++i) {
        float acc = 0;
        for (int k = 0; k <= 2 * radius; ++k) acc += kernel[k] * line[i + k];
        row[i] = acc;
      }
    }
    return;
  }
  std::vector<float> block(n * inner);
  for (int64_t o = 0; o < outer; ++o) {
    float* b = v + o * n * inner;
    std::copy(b, b + n * inner, block.begin());
    for (int64_t i = 0; i < n; ++i) {
      float* out = b + i * inner;
      std::fill(out, out + inner, 0.0f);
      for (int k = -radius; k <= radius; ++k) {
        const float w = kernel[k + radius];
        const float* in = block.data() + std::clamp<int64_t>(i + k, 0, n - 1) * inner;
        for (int64_t j = 0; j < inner; ++j) out[j] += w * in[j];
      }
    }
  }
}

void lowResolution(float* v, const std::array<int64_t, 3>& d, double scale) {
  std::array<int64_t, 3> small{};
  for (int a = 0; a < 3; ++a) small[a] = std::max<int64_t>(1, std::llround(d[a] * scale));
  // Down by nearest neighbour, back up by linear interpolation (nnU-Net uses order 0 / 3).
  std::vector<float> low(small[0] * small[1] * small[2]);
  for (int64_t z = 0; z < small[0]; ++z)
    for (int64_t y = 0; y < small[1]; ++y)
      for (int64_t x = 0; x < small[2]; ++x) {
        const int64_t sz = std::min(d[0] - 1, static_cast<int64_t>((z + 0.5) * d[0] / small[0]));
        const int64_t sy = std::min(d[1] - 1, static_cast<int64_t>((y + 0.5) * d[1] / small[1]));
        const int64_t sx = std::min(d[2] - 1, static_cast<int64_t>((x + 0.5) * d[2] / small[2]));
        low[(z * small[1] + y) * small[2] + x] = v[(sz * d[1] + sy) * d[2] + sx];
      }
  // Trilinear up-sampling done separably (x, then y, then z): the same weights as
  // interpolating each voxel from its 8 neighbours.
  const LinearTable tx = linearTable(small[2], d[2]), ty = linearTable(small[1], d[1]), tz = linearTable(small[0], d[0]);
  std::vector<float> ux(small[0] * small[1] * d[2]);
  for (int64_t r = 0; r < small[0] * small[1]; ++r) {
    const float* in = low.data() + r * small[2];
    float* out = ux.data() + r * d[2];
    for (int64_t x = 0; x < d[2]; ++x) out[x] = in[tx.i0[x]] + tx.w[x] * (in[tx.i1[x]] - in[tx.i0[x]]);
  }
  std::vector<float> uy(small[0] * d[1] * d[2]);
  for (int64_t z = 0; z < small[0]; ++z)
    for (int64_t y = 0; y < d[1]; ++y) {
      const float* a = ux.data() + (z * small[1] + ty.i0[y]) * d[2];
      const float* b = ux.data() + (z * small[1] + ty.i1[y]) * d[2];
      float* out = uy.data() + (z * d[1] + y) * d[2];
      const float w = ty.w[y];
      for (int64_t x = 0; x < d[2]; ++x) out[x] = a[x] + w * (b[x] - a[x]);
    }
  const int64_t plane = d[1] * d[2];
  for (int64_t z = 0; z < d[0]; ++z) {
    const float* a = uy.data() + tz.i0[z] * plane;
    const float* b = uy.data() + tz.i1[z] * plane;
    float* out = v + z * plane;
    const float w = tz.w[z];
    for (int64_t i = 0; i < plane; ++i) out[i] = a[i] + w * (b[i] - a[i]);
  }
}

// Mean, standard deviation (population), min and max of n > 0 floats in one pass with
// 4-float SIMD lanes (GCC / Clang vector extension: SSE2 on any x86-64, NEON on ARM; the
// compiler does not vectorise float sums by itself, as that reorders them). Blocks of
// 2048 values are summed in float, shifted by the first value so the variance does not
// cancel for intensities far from 0, and the block totals in double.
using Float4 = float __attribute__((vector_size(16)));

Moments moments(const float* v, int64_t n) {
  constexpr int64_t kBlock = 2048;
  const float pivot = v[0];
  const Float4 p4 = {pivot, pivot, pivot, pivot};
  Float4 lo4 = p4, hi4 = p4;
  double sum = 0, sq = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    Float4 s0 = {}, s1 = {}, q0 = {}, q1 = {};
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      Float4 x0, x1;
      std::memcpy(&x0, v + i, sizeof x0);
      std::memcpy(&x1, v + i + 4, sizeof x1);
      const Float4 d0 = x0 - p4, d1 = x1 - p4;
      s0 += d0;
      s1 += d1;
      q0 += d0 * d0;
      q1 += d1 * d1;
      lo4 = x0 < lo4 ? x0 : lo4;
      hi4 = x0 > hi4 ? x0 : hi4;
      lo4 = x1 < lo4 ? x1 : lo4;
      hi4 = x1 > hi4 ? x1 : hi4;
    }
    double tailSum = 0, tailSq = 0;
    for (; i < e; ++i) {
      const float d = v[i] - pivot;
      tailSum += d;
      tailSq += static_cast<double>(d) * d;
      lo4[0] = std::min(lo4[0], v[i]);
      hi4[0] = std::max(hi4[0], v[i]);
    }
    const Float4 s = s0 + s1, q = q0 + q1;
    sum += static_cast<double>(s[0]) + s[1] + s[2] + s[3] + tailSum;
    sq += static_cast<double>(q[0]) + q[1] + q[2] + q[3] + tailSq;
  }
  const double shift = sum / n;
  return {pivot + shift, std::sqrt(std::max(0.0, sq / n - shift * shift)),
          std::min(std::min(lo4[0], lo4[1]), std::min(lo4[2], lo4[3])),
          std::max(std::max(hi4[0], hi4[1]), std::max(hi4[2], hi4[3]))};
}

// nnU-Net's GammaTransform with retain_stats (batchgenerators augment_gamma):
// x -> ((x - min) / range)^g * range + min, then the original mean and standard deviation
// restored; `invert` works on -x, which is the same as u = (max - x) / range and
// x -> max - u^g * range (no negation passes). u^g comes from a 16385-entry table with
// linear interpolation (absolute error below 4e-4 next to 0 for g >= 0.7, below 1e-8
// elsewhere): std::pow per voxel was the largest cost of this transform, and the table
// lookup (scalar) measured faster than a vectorised 2^(g log2 u) polynomial.
void gammaTransform(float* v, int64_t n, double g, bool invert) {
  constexpr int kTable = 16384;
  // (j / kTable)^g = exp(g ln(j / kTable)): the logarithms do not depend on g, and exp is
  // cheaper than pow (every draw has a new g, so the table is rebuilt per call).
  static const std::vector<double> logs = [] {
    std::vector<double> l(kTable + 1);
    for (int j = 1; j <= kTable; ++j) l[j] = std::log(static_cast<double>(j) / kTable);
    return l;
  }();
  static thread_local std::vector<float> table(kTable + 2);
  static thread_local double tableGamma = -1;
  if (tableGamma != g) {
    table[0] = 0.0f;
    for (int j = 1; j <= kTable; ++j) table[j] = static_cast<float>(std::exp(g * logs[j]));
    table[kTable + 1] = table[kTable];
    tableGamma = g;
  }
  const Moments before = moments(v, n);
  const double range = static_cast<double>(before.hi) - before.lo;
  const float origin = invert ? before.hi : before.lo;
  const float toTable = static_cast<float>((invert ? -kTable : kTable) / (range + 1e-7));
  const float fromUnit = static_cast<float>(invert ? -range : range);
  const float* t0 = table.data();
  for (int64_t i = 0; i < n; ++i) {
    const float t = std::clamp((v[i] - origin) * toTable, 0.0f, static_cast<float>(kTable));
    const int j = static_cast<int>(t);
    const float u = t0[j] + (t - static_cast<float>(j)) * (t0[j + 1] - t0[j]);
    v[i] = origin + u * fromUnit;
  }
  const Moments after = moments(v, n);
  const float a = static_cast<float>(before.sd / (after.sd + 1e-8));
  const float b = static_cast<float>(before.mean - after.mean * before.sd / (after.sd + 1e-8));
  for (int64_t i = 0; i < n; ++i) v[i] = v[i] * a + b;
}

// Gaussian noise N(0, sd^2) added in place. Box-Muller with two deviates per 64-bit
// random word: u1 from 24 bits (never 0; deviates are thus within 5.9 sd, a
// truncation of probability 4e-9) and the angle from 24 more. The random words are
// drawn in blocks, the transform runs vectorised over each block.
void addNoise(float* v, int64_t total, float sd, Rng& rng) {
  constexpr int64_t kPairs = 512;
  uint32_t hi[kPairs], lo[kPairs];
  for (int64_t begin = 0; begin < total; begin += 2 * kPairs) {
    const int64_t pairs = std::min(kPairs, (total - begin + 1) / 2);
    for (int64_t k = 0; k < pairs; ++k) {
      const uint64_t r = rng.next();
      hi[k] = static_cast<uint32_t>(r >> 40);  // top 24 bits
      lo[k] = static_cast<uint32_t>(r >> 8) & 0xffffffu;
    }
    float* out = v + begin;
    const bool odd = begin + 2 * pairs > total;  // the last value has no partner
    const int64_t full = odd ? pairs - 1 : pairs;
    for (int64_t k = 0; k < full; ++k) {
      const float u1 = (static_cast<float>(static_cast<int32_t>(hi[k])) + 0.5f) * 0x1.0p-24f;
      const float u2 = static_cast<float>(static_cast<int32_t>(lo[k])) * 0x1.0p-24f;
      const float r = sd * std::sqrt(-2.0f * fastLog(u1));
      float c, s;
      cosSinTurn(u2, c, s);
      out[2 * k] += r * c;
      out[2 * k + 1] += r * s;
    }
    if (odd) {
      const float u1 = (static_cast<float>(static_cast<int32_t>(hi[full])) + 0.5f) * 0x1.0p-24f;
      float c, s;
      cosSinTurn(static_cast<float>(static_cast<int32_t>(lo[full])) * 0x1.0p-24f, c, s);
      out[2 * full] += sd * std::sqrt(-2.0f * fastLog(u1)) * c;
    }
  }
}

}  // namespace seg
