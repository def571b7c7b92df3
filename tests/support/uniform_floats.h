// Reproducible test data for the vector kernels' tests: n floats drawn uniformly from
// [-scale, scale) by a generator seeded with `seed`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace edgerun {

inline std::vector<float> uniform_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> out(n);
  for (float& v : out) v = dist(gen);
  return out;
}

}  // namespace edgerun
