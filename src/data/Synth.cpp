#include "data/Synth.h"

// Intensities are arbitrary units scaled so that healthy organ tissue is 1.0 and
// the surrounding background 0.25 (think of a contrast-enhanced organ in CT after
// an affine HU mapping). Lesions add +0.6..+1.6 (hyper-intense, class 1) or
// -0.45..-0.75 (hypo-intense, class 2 when classes == 2). White noise has sigma
// 0.15, so after partial-volume blur a radius-1 lesion keeps a contrast-to-noise
// ratio of roughly 2-4 at its centre: visible, but genuinely hard.
//
// Randomness: core/Random.h's Mt64Rng (std::mt19937_64, whose output sequence is fixed
// by the standard, with our own uniform/normal transforms), so a (seed, index) pair
// gives the same phantom with any standard library.

#include <algorithm>
#include <cmath>

#include "core/Error.h"
#include "core/Log.h"
#include "core/Random.h"

namespace seg {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kOrganIntensity = 1.0;
constexpr double kBackground = 0.25;
constexpr double kNoiseSigma = 0.15;
constexpr double kBlurSigma = 0.7;  // voxels: partial-volume / PSF blur

// The phantom of (seed, index): its own std::mt19937_64 sequence (core/Random.h).
Mt64Rng phantomRng(uint64_t seed, int index) {
  uint64_t indexState = static_cast<uint64_t>(index) + 1;
  uint64_t seedState = seed ^ splitmix64(indexState);
  return Mt64Rng(splitmix64(seedState));
}

using Mat3 = std::array<double, 9>;

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 3; ++j) c[r * 3 + j] += a[r * 3 + k] * b[k * 3 + j];
  return c;
}

// Rotation from a random unit quaternion (uniform over rotations).
Mat3 randomRotation(Mt64Rng& rng) {
  double q[4];
  double norm = 0;
  do {
    norm = 0;
    for (double& v : q) {
      v = rng.normal();
      norm += v * v;
    }
  } while (norm < 1e-12);
  norm = std::sqrt(norm);
  const double w = q[0] / norm, x = q[1] / norm, y = q[2] / norm, z = q[3] / norm;
  return {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
          2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
          2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
}

// Smooth low-frequency noise: random values on a coarse lattice, interpolated with
// smoothstep weights. Range about [-1, 1].
class ValueNoise {
 public:
  ValueNoise(const std::array<int64_t, 3>& size, double cell, Mt64Rng& rng) : cell_(cell) {
    for (int i = 0; i < 3; ++i) n_[i] = static_cast<int64_t>(std::ceil(size[i] / cell)) + 2;
    values_.resize(static_cast<size_t>(n_[0] * n_[1] * n_[2]));
    for (double& v : values_) v = rng.uniform(-1.0, 1.0);
  }
  double at(double x, double y, double z) const {
    const double p[3] = {x / cell_, y / cell_, z / cell_};
    int64_t i0[3];
    double w[3];
    for (int a = 0; a < 3; ++a) {
      const double f = std::floor(p[a]);
      i0[a] = std::clamp<int64_t>(static_cast<int64_t>(f), 0, n_[a] - 2);
      const double t = std::clamp(p[a] - static_cast<double>(i0[a]), 0.0, 1.0);
      w[a] = t * t * (3 - 2 * t);
    }
    double sum = 0;
    for (int dz = 0; dz < 2; ++dz)
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const double weight = (dx ? w[0] : 1 - w[0]) * (dy ? w[1] : 1 - w[1]) * (dz ? w[2] : 1 - w[2]);
          sum += weight * values_[static_cast<size_t>(((i0[2] + dz) * n_[1] + i0[1] + dy) * n_[0] + i0[0] + dx)];
        }
    return sum;
  }

 private:
  double cell_;
  std::array<int64_t, 3> n_{};
  std::vector<double> values_;
};

// Separable Gaussian along one axis with clamped borders.
void blurAxis(std::vector<float>& data, const std::array<int64_t, 3>& size, int axis, double sigma) {
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> kernel(2 * radius + 1);
  double total = 0;
  for (int k = -radius; k <= radius; ++k) total += kernel[k + radius] = std::exp(-k * k / (2 * sigma * sigma));
  for (double& k : kernel) k /= total;
  const int64_t stride = axis == 0 ? 1 : axis == 1 ? size[0] : size[0] * size[1];
  const int64_t n = size[axis];
  std::vector<float> line(static_cast<size_t>(n));
  const int64_t lines = size[0] * size[1] * size[2] / n;
  for (int64_t l = 0; l < lines; ++l) {
    // Start of line l: enumerate the two other axes.
    int64_t start;
    if (axis == 0) {
      start = l * size[0];
    } else if (axis == 1) {
      start = (l / size[0]) * size[0] * size[1] + l % size[0];
    } else {
      start = l;
    }
    for (int64_t i = 0; i < n; ++i) line[i] = data[start + i * stride];
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (int k = -radius; k <= radius; ++k) acc += kernel[k + radius] * line[std::clamp<int64_t>(i + k, 0, n - 1)];
      data[start + i * stride] = static_cast<float>(acc);
    }
  }
}

struct Ellipsoid {
  std::array<double, 3> center{};
  std::array<double, 3> axes{};
  Mat3 rotation{1, 0, 0, 0, 1, 0, 0, 0, 1};  // columns: the ellipsoid's axes in voxel space

  // Squared normalised radius of p: <= 1 inside.
  double q(double x, double y, double z, std::array<double, 3>* local = nullptr) const {
    const double d[3] = {x - center[0], y - center[1], z - center[2]};
    double sum = 0;
    for (int a = 0; a < 3; ++a) {
      // R^T d, one component.
      const double u = (rotation[0 * 3 + a] * d[0] + rotation[1 * 3 + a] * d[1] + rotation[2 * 3 + a] * d[2]) / axes[a];
      if (local) (*local)[a] = u;
      sum += u * u;
    }
    return sum;
  }
};

struct Placed {
  std::array<double, 3> center;
  double bound;
};

// A lesion's surface wobbles by a few bumps (~10% of its radius) so it is not a
// perfect ellipsoid; the bumps depend on direction only.
struct Wobble {
  std::array<std::array<double, 3>, 3> freq{};
  std::array<double, 3> amp{}, phase{};
  explicit Wobble(Mt64Rng& rng) {
    for (int k = 0; k < 3; ++k) {
      for (double& f : freq[k]) f = rng.uniform(-3.0, 3.0);
      amp[k] = rng.uniform(0.0, 0.06);
      phase[k] = rng.uniform(0.0, 2 * kPi);
    }
  }
  double factor(const std::array<double, 3>& u, double norm) const {
    if (norm < 1e-9) return 1;
    double f = 1;
    for (int k = 0; k < 3; ++k) {
      f += amp[k] * std::cos((freq[k][0] * u[0] + freq[k][1] * u[1] + freq[k][2] * u[2]) / norm + phase[k]);
    }
    return f;
  }
};


}  // namespace

void validateSynthOptions(const SynthOptions& o) {
  auto fail = [](const std::string& what) { throw InputError("synthetic dataset: " + what); };
  if (o.cases < 1) fail("cases must be at least 1, got " + std::to_string(o.cases));
  if (o.testCases < 0 || o.testCases >= o.cases) {
    fail("test cases must be in [0, cases) = [0, " + std::to_string(o.cases) + "), got " + std::to_string(o.testCases));
  }
  for (int i = 0; i < 3; ++i) {
    if (o.size[i] < 16 || o.size[i] > 2048) {
      fail("size must be between 16 and 2048 voxels per axis, got " + std::to_string(o.size[i]));
    }
    if (!(o.spacing[i] > 0) || !std::isfinite(o.spacing[i])) fail("spacing must be positive");
  }
  if (o.classes != 1 && o.classes != 2) fail("classes must be 1 or 2, got " + std::to_string(o.classes));
  if (o.minLesions < 0) fail("min lesions must be >= 0, got " + std::to_string(o.minLesions));
  if (o.maxLesions < o.minLesions || o.maxLesions > 1000) {
    fail("max lesions must be in [min lesions, 1000], got " + std::to_string(o.maxLesions));
  }
  if (!(o.minRadius > 0) || !std::isfinite(o.minRadius)) fail("min radius must be positive");
  if (!(o.maxRadius >= o.minRadius) || !std::isfinite(o.maxRadius)) fail("max radius must be >= min radius");
  if (o.regions && o.classes != 1) fail("regions (BraTS-like tumours) take classes 1, got " + std::to_string(o.classes));
  if (!(o.ignoreFraction >= 0.0 && o.ignoreFraction < 1.0)) {
    fail("ignore fraction must be in [0, 1), got " + std::to_string(o.ignoreFraction));
  }
}

int synthIgnoreLabel(const SynthOptions& o) {
  if (o.ignoreFraction <= 0.0) return -1;
  return (o.regions ? 3 : o.classes) + 1;
}

SynthCase makePhantom(const SynthOptions& options, int index) {
  validateSynthOptions(options);
  Mt64Rng rng = phantomRng(options.seed, index);
  const auto& size = options.size;
  SynthCase out;
  ImageGeometry& g = out.image.geometry;
  g.size = size;
  g.spacing = options.spacing;
  for (int i = 0; i < 3; ++i) g.origin[i] = -0.5 * static_cast<double>(size[i] - 1) * g.spacing[i];
  out.label.geometry = g;
  const size_t n = static_cast<size_t>(g.numVoxels());
  const int64_t channels = options.regions ? 2 : 1;
  out.image.channels = channels;
  out.image.data.assign(n * static_cast<size_t>(channels), 0.0f);
  out.label.data.assign(n, 0);

  // Organ: an ellipsoid with 30-42% semi-axes, tilted a little about z and x,
  // with a slightly irregular boundary.
  Ellipsoid organ;
  for (int a = 0; a < 3; ++a) {
    organ.center[a] = 0.5 * static_cast<double>(size[a] - 1) + rng.uniform(-0.04, 0.04) * static_cast<double>(size[a]);
    organ.axes[a] = rng.uniform(0.30, 0.42) * static_cast<double>(size[a]);
  }
  const double tz = rng.uniform(-0.35, 0.35), tx = rng.uniform(-0.15, 0.15);
  const Mat3 rz{std::cos(tz), -std::sin(tz), 0, std::sin(tz), std::cos(tz), 0, 0, 0, 1};
  const Mat3 rx{1, 0, 0, 0, std::cos(tx), -std::sin(tx), 0, std::sin(tx), std::cos(tx)};
  organ.rotation = multiply(rz, rx);
  const double maxSize = static_cast<double>(*std::max_element(size.begin(), size.end()));
  const ValueNoise boundary(size, 12.0, rng);
  const ValueNoise textureCoarse(size, 8.0, rng);
  const ValueNoise textureFine(size, 4.0, rng);
  const ValueNoise bias(size, std::max(16.0, maxSize / 2), rng);

  std::vector<float>& img = out.image.data;
  for (int64_t z = 0; z < size[2]; ++z)
    for (int64_t y = 0; y < size[1]; ++y)
      for (int64_t x = 0; x < size[0]; ++x) {
        const double px = static_cast<double>(x), py = static_cast<double>(y), pz = static_cast<double>(z);
        const double texture = 0.7 * textureCoarse.at(px, py, pz) + 0.3 * textureFine.at(px, py, pz);
        const bool inside = organ.q(px, py, pz) <= 1.0 + 0.08 * boundary.at(px, py, pz);
        const size_t i = static_cast<size_t>((z * size[1] + y) * size[0] + x);
        img[i] = static_cast<float>(inside ? kOrganIntensity + 0.10 * texture : kBackground + 0.04 * texture);
        // Second channel: the same anatomy with its own contrast.
        if (channels > 1) img[n + i] = static_cast<float>(inside ? 0.8 - 0.08 * texture : 0.3 + 0.04 * texture);
      }

  // Lesions: log-uniform radii (as many small as large per octave), largest placed
  // first so big ones still find room; non-overlapping with a 2-voxel gap so each is
  // its own 26-connected component.
  const int count = rng.integer(options.minLesions, options.maxLesions);
  std::vector<double> radii(static_cast<size_t>(count));
  const double logMin = std::log(options.minRadius), logMax = std::log(options.maxRadius);
  for (double& r : radii) r = std::exp(rng.uniform(logMin, logMax));
  std::sort(radii.begin(), radii.end(), std::greater<>());
  std::vector<Placed> placed;
  for (double radius : radii) {
    const int cls = options.classes == 2 && rng.uniform() < 0.5 ? 2 : 1;
    const double contrast = cls == 2 ? -rng.uniform(0.45, 0.75) : rng.uniform(0.6, 1.6);
    Ellipsoid lesion;
    lesion.rotation = randomRotation(rng);
    std::array<double, 3> stretch;
    for (double& s : stretch) s = rng.uniform(0.8, 1.2);
    const Wobble wobble(rng);
    bool ok = false;
    for (int shrink = 0; shrink < 8 && !ok && radius >= options.minRadius * 0.999; ++shrink) {
      const double bound = radius * 1.2 * 1.2 + 0.5;  // stretch and wobble at most
      Ellipsoid room = organ;                     // lesion centres must keep `bound` inside the organ
      for (int a = 0; a < 3; ++a) room.axes[a] = organ.axes[a] * 0.92 - bound;
      if (*std::min_element(room.axes.begin(), room.axes.end()) > 0.5) {
        for (int attempt = 0; attempt < 200 && !ok; ++attempt) {
          std::array<double, 3> c;
          for (int a = 0; a < 3; ++a) c[a] = organ.center[a] + rng.uniform(-1.0, 1.0) * room.axes[a];
          if (room.q(c[0], c[1], c[2]) > 1.0) continue;
          ok = std::all_of(placed.begin(), placed.end(), [&](const Placed& p) {
            const double d = std::hypot(c[0] - p.center[0], c[1] - p.center[1], c[2] - p.center[2]);
            return d > bound + p.bound + 2.0;
          });
          if (ok) {
            lesion.center = c;
            placed.push_back({c, bound});
          }
        }
      }
      if (!ok) radius *= 0.8;
    }
    if (!ok) {
      logger("data")->debug("phantom {}: no room for a lesion of radius {:.1f}", index, radius);
      continue;
    }
    for (int a = 0; a < 3; ++a) lesion.axes[a] = std::max(0.6, radius * stretch[a]);

    SynthLesion info;
    info.center = lesion.center;
    info.radius = radius;
    info.label = cls;
    info.contrast = contrast;
    const double bound = radius * 1.2 * 1.2 + 1;
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; ++a) {
      lo[a] = std::max<int64_t>(0, static_cast<int64_t>(std::floor(lesion.center[a] - bound)));
      hi[a] = std::min<int64_t>(size[a] - 1, static_cast<int64_t>(std::ceil(lesion.center[a] + bound)));
    }
    // `depth`: the normalised radius over the surface's (0 centre, 1 surface), for the
    // nested tumour structures.
    auto paint = [&](int64_t x, int64_t y, int64_t z, double depth) {
      const size_t i = static_cast<size_t>((z * size[1] + y) * size[0] + x);
      if (out.label.data[i] != 0) return;
      const double texture = textureFine.at(static_cast<double>(x), static_cast<double>(y), static_cast<double>(z));
      const double t = 1.0 + 0.15 * texture;
      if (options.regions) {
        // Core (necrosis) inside the enhancing rim inside the oedema; the contrast draw
        // scales how conspicuous the tumour is.
        const double s = contrast / 1.1;
        const int value = depth <= 0.35 ? 2 : depth <= 0.65 ? 3 : 1;
        const double flair = value == 1 ? 0.9 : value == 3 ? 0.5 : 0.3;
        const double t1c = value == 1 ? 0.05 : value == 3 ? 1.2 : -0.5;
        out.label.data[i] = static_cast<uint8_t>(value);
        img[i] += static_cast<float>(flair * s * t);
        img[n + i] += static_cast<float>((value == 2 ? t1c : t1c * s) * t);
      } else {
        out.label.data[i] = static_cast<uint8_t>(cls);
        img[i] += static_cast<float>(contrast * t);
      }
      ++info.voxels;
    };
    for (int64_t z = lo[2]; z <= hi[2]; ++z)
      for (int64_t y = lo[1]; y <= hi[1]; ++y)
        for (int64_t x = lo[0]; x <= hi[0]; ++x) {
          std::array<double, 3> u;
          const double q = lesion.q(static_cast<double>(x), static_cast<double>(y), static_cast<double>(z), &u);
          const double norm = std::sqrt(q);
          const double surface = wobble.factor(u, norm);
          if (norm <= surface) paint(x, y, z, norm / surface);
        }
    // A lesion is never empty: the voxel nearest its centre always belongs to it.
    paint(std::llround(lesion.center[0]), std::llround(lesion.center[1]), std::llround(lesion.center[2]), 0.0);
    out.lesions.push_back(info);
  }

  // Partial-volume blur on the noise-free image (the PSF acts on the object; the
  // labels stay hard masks), then the coil/beam-hardening-like smooth bias field,
  // then white acquisition noise.
  for (int64_t ch = 0; ch < channels; ++ch) {
    std::vector<float> channel(img.begin() + static_cast<int64_t>(n) * ch, img.begin() + static_cast<int64_t>(n) * (ch + 1));
    for (int axis = 0; axis < 3; ++axis) blurAxis(channel, size, axis, kBlurSigma);
    std::copy(channel.begin(), channel.end(), img.begin() + static_cast<int64_t>(n) * ch);
  }
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t z = 0; z < size[2]; ++z)
      for (int64_t y = 0; y < size[1]; ++y)
        for (int64_t x = 0; x < size[0]; ++x) {
          const size_t i = static_cast<size_t>(ch) * n + static_cast<size_t>((z * size[1] + y) * size[0] + x);
          const double field = 1.0 + 0.12 * bias.at(static_cast<double>(x), static_cast<double>(y), static_cast<double>(z));
          img[i] = static_cast<float>(img[i] * field + kNoiseSigma * rng.normal());
        }

  // Sparse annotation: whole slabs of axial slices left unannotated.
  const int ignore = synthIgnoreLabel(options);
  if (ignore >= 0) {
    const int64_t plane = size[0] * size[1];
    for (int64_t z0 = 0; z0 < size[2]; z0 += 4) {
      if (rng.uniform() >= options.ignoreFraction) continue;
      const int64_t z1 = std::min<int64_t>(size[2], z0 + 4);
      std::fill(out.label.data.begin() + z0 * plane, out.label.data.begin() + z1 * plane, static_cast<uint8_t>(ignore));
    }
  }
  return out;
}

}  // namespace seg
