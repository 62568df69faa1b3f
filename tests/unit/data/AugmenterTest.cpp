#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "data/AugmentKernels.h"
#include "data/Augmenter.h"

namespace seg {
namespace {

AugmentOptions only(double AugmentOptions::*field) {
  AugmentOptions o;
  o.pRotation = o.pScaling = o.pNoise = o.pBlur = o.pBrightness = o.pContrast = 0;
  o.pLowResolution = o.pGammaInverted = o.pGamma = 0;
  o.mirror = false;
  if (field) o.*field = 1.0;
  return o;
}

std::vector<float> ramp(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(0.1 * i) + 0.01 * i);
  return v;
}

void stats(const std::vector<float>& v, double& mean, double& sd) {
  mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double sq = 0;
  for (float x : v) sq += (x - mean) * (x - mean);
  sd = std::sqrt(sq / v.size());
}

const std::array<int64_t, 3> kDims{6, 7, 8};

TEST(AugmenterTest, MirrorFlipsImageAndLabelTogether) {
  AugmentOptions o = only(nullptr);
  o.mirror = true;
  auto image = ramp(336);
  std::vector<int64_t> label(336);
  for (int64_t i = 0; i < 336; ++i) label[i] = i;  // label = source index
  const auto original = image;
  Rng rng(5);
  augmentPatch(o, rng, image.data(), 1, label.data(), kDims);
  for (int64_t i = 0; i < 336; ++i) EXPECT_EQ(image[i], original[label[i]]);
}

TEST(AugmenterTest, GammaRetainsMeanAndStd) {
  for (auto field : {&AugmentOptions::pGamma, &AugmentOptions::pGammaInverted}) {
    auto image = ramp(336);
    double m0, s0, m1, s1;
    stats(image, m0, s0);
    std::vector<int64_t> label(336, 0);
    Rng rng(11);
    augmentPatch(only(field), rng, image.data(), 1, label.data(), kDims);
    stats(image, m1, s1);
    EXPECT_NEAR(m1, m0, 1e-4);
    EXPECT_NEAR(s1, s0, 1e-4);
    EXPECT_NE(image, ramp(336));
  }
}

TEST(AugmenterTest, GammaMatchesNnUNetFormula) {
  // batchgenerators augment_gamma with retain_stats, in double:
  //   y = ((x - min) / (range + 1e-7))^g * (range + 1e-7) + min,
  //   y = (y - mean(y)) / (std(y) + 1e-8) * std(x) + mean(x);  invert: on -x, negated back.
  // segtrain reads u^g from a table: absolute error below 4e-4 of the range.
  const int64_t n = 5000;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(3.0 * std::sin(0.37 * i) + 0.002 * i + 100.0);
  for (double g : {0.7, 1.0, 1.5}) {
    for (bool invert : {false, true}) {
      std::vector<double> w(x.begin(), x.end());
      if (invert)
        for (double& v : w) v = -v;
      const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
      const double min = *lo, range = *hi - *lo;
      double m0 = 0, s0 = 0;
      for (double v : w) m0 += v;
      m0 /= n;
      for (double v : w) s0 += (v - m0) * (v - m0);
      s0 = std::sqrt(s0 / n);
      std::vector<double> y(n);
      for (int64_t i = 0; i < n; ++i) y[i] = std::pow((w[i] - min) / (range + 1e-7), g) * (range + 1e-7) + min;
      double m1 = 0, s1 = 0;
      for (double v : y) m1 += v;
      m1 /= n;
      for (double v : y) s1 += (v - m1) * (v - m1);
      s1 = std::sqrt(s1 / n);
      std::vector<float> ours = x;
      gammaTransform(ours.data(), n, g, invert);
      for (int64_t i = 0; i < n; ++i) {
        double expected = (y[i] - m1) / (s1 + 1e-8) * s0 + m0;
        if (invert) expected = -expected;
        ASSERT_NEAR(ours[i], expected, 4e-4 * range) << "gamma " << g << " invert " << invert << " voxel " << i;
      }
    }
  }
}

TEST(AugmenterTest, ContrastPreservesRange) {
  auto image = ramp(336);
  const auto [lo, hi] = std::minmax_element(image.begin(), image.end());
  const float min0 = *lo, max0 = *hi;
  std::vector<int64_t> label(336, 0);
  Rng rng(2);
  augmentPatch(only(&AugmentOptions::pContrast), rng, image.data(), 1, label.data(), kDims);
  for (float v : image) {
    EXPECT_GE(v, min0);
    EXPECT_LE(v, max0);
  }
}

TEST(AugmenterTest, BlurKeepsAConstantImageConstant) {
  std::vector<float> image(336, 3.0f);
  std::vector<int64_t> label(336, 1);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(seed);
    augmentPatch(only(&AugmentOptions::pBlur), rng, image.data(), 1, label.data(), kDims);
    augmentPatch(only(&AugmentOptions::pLowResolution), rng, image.data(), 1, label.data(), kDims);
  }
  for (float v : image) EXPECT_NEAR(v, 3.0f, 1e-5);
  for (int64_t l : label) EXPECT_EQ(l, 1);
}

TEST(AugmenterTest, NoiseHasTheDrawnVarianceScale) {
  std::vector<float> image(200000, 0.0f);
  std::vector<int64_t> label(200000, 0);
  Rng rng(9);
  augmentPatch(only(&AugmentOptions::pNoise), rng, image.data(), 1, label.data(), {50, 40, 100});
  double mean, sd;
  stats(image, mean, sd);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_LE(sd, std::sqrt(0.1) + 0.01);  // variance drawn from [0, 0.1]
}

TEST(AugmenterTest, NoiseIsGaussianAndPairsAreIndependent) {
  // Box-Muller in float with polynomial log / sin / cos: the deviates must still follow
  // the normal table (P(|Z| < 1, 2, 3) = 0.6827, 0.9545, 0.9973; kurtosis 3), and the
  // two deviates of a pair must be uncorrelated. An odd voxel count covers the last,
  // unpaired value. Tolerances are about 4 standard errors at this sample size.
  const std::array<int64_t, 3> dims{49, 41, 99};
  const int64_t n = dims[0] * dims[1] * dims[2];
  std::vector<float> image(n, 0.0f);
  std::vector<int64_t> label(n, 0);
  Rng rng(9);
  augmentPatch(only(&AugmentOptions::pNoise), rng, image.data(), 1, label.data(), dims);
  double mean, sd;
  stats(image, mean, sd);
  ASSERT_GT(sd, 0.01);
  EXPECT_NEAR(mean / sd, 0.0, 0.01);
  int64_t within[3] = {0, 0, 0};
  double m4 = 0;
  for (float v : image) {
    const double z = (v - mean) / sd;
    for (int k = 0; k < 3; ++k) within[k] += std::abs(z) < k + 1;
    m4 += z * z * z * z;
  }
  EXPECT_NEAR(static_cast<double>(within[0]) / n, 0.6827, 0.005);
  EXPECT_NEAR(static_cast<double>(within[1]) / n, 0.9545, 0.002);
  EXPECT_NEAR(static_cast<double>(within[2]) / n, 0.9973, 0.0006);
  EXPECT_NEAR(m4 / n, 3.0, 0.05);
  EXPECT_NE(image[n - 1], 0.0f);
  double cross = 0;
  for (int64_t i = 0; i + 1 < n; i += 2) cross += (image[i] - mean) * (image[i + 1] - mean);
  EXPECT_NEAR(cross / (n / 2) / (sd * sd), 0.0, 0.012);
}

TEST(AugmenterTest, SpatialMatrixIsRotationTimesInverseScale) {
  AugmentOptions o = only(&AugmentOptions::pRotation);
  Rng rng(3);
  const SpatialParams p = drawSpatial(o, rng);
  ASSERT_TRUE(p.active);
  // A pure rotation is orthonormal: M M^T = I.
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      double dot = 0;
      for (int k = 0; k < 3; ++k) dot += p.matrix[r * 3 + k] * p.matrix[c * 3 + k];
      EXPECT_NEAR(dot, r == c ? 1.0 : 0.0, 1e-12);
    }
  EXPECT_FALSE(drawSpatial(only(nullptr), rng).active);
}

}  // namespace
}  // namespace seg
