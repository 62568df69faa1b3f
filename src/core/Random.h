#pragma once
// A small, portable random generator (splitmix64 seeding + xoshiro256**): the same
// numbers on every platform and standard library, so sampling and augmentation are
// reproducible from (seed, stream) alone. std::uniform_*_distribution is not
// portable across library implementations.
#include <cmath>
#include <cstdint>
#include <random>

namespace seg {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // `stream` selects an independent sequence for the same seed (e.g. a batch index).
  explicit Rng(uint64_t seed, uint64_t stream = 0) {
    uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    for (auto& word : state_) word = splitmix64(s);
  }
  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n); n > 0. Modulo bias is below 2^-40 for n < 2^24.
  uint64_t below(uint64_t n) { return next() % n; }
  bool chance(double p) { return uniform() < p; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// The sequence of std::mt19937_64 (fixed by the C++ standard, unlike its distributions)
// with our own transforms. The synthetic phantoms (data/Synth) and the k-fold split
// (data/Splits) were defined on it; keeping it keeps every synthetic dataset and split
// that users already have. New code takes Rng above.
class Mt64Rng {
 public:
  explicit Mt64Rng(uint64_t seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }  // [lo, hi]
  // Uniform integer in [0, n), n > 0, without modulo bias (rejection of the top words).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return x % n;
  }
  // Box-Muller; the spare value is kept so a sequence of calls is one stream.
  double normal() {
    if (hasSpare_) {
      hasSpare_ = false;
      return spare_;
    }
    constexpr double kPi = 3.14159265358979323846;
    const double r = std::sqrt(-2.0 * std::log(1.0 - uniform()));
    const double t = 2.0 * kPi * uniform();
    spare_ = r * std::sin(t);
    hasSpare_ = true;
    return r * std::cos(t);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool hasSpare_ = false;
};

}  // namespace seg
