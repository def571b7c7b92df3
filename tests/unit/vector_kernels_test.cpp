// Our own vector kernels (backends/onednn/vector_kernels.h), each vector path this CPU runs,
// against x * sigmoid(alpha * x) in double.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <limits>
#include <stdexcept>
#include <vector>

#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn {
namespace {

std::vector<VectorIsa> isas_here() {
  std::vector<VectorIsa> isas;
  if (best_vector_isa() >= VectorIsa::kAvx2) isas.push_back(VectorIsa::kAvx2);
  if (best_vector_isa() >= VectorIsa::kAvx512) isas.push_back(VectorIsa::kAvx512);
  return isas;
}

const char* name(VectorIsa isa) { return isa == VectorIsa::kAvx512 ? "avx512" : "avx2"; }

// alpha * x rounded to float first, as the reference kernel (and the unfused graph) rounds it.
double exact(float x, float alpha) {
  const double z = x * alpha;
  return static_cast<double>(x) / (1.0 + std::exp(-z));
}

TEST(SwishKernel, MatchesTheExactValueAcrossTheRangeForEveryAlpha) {
  if (isas_here().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here: lowering keeps oneDNN's";
  std::vector<float> xs;
  for (int i = -200000; i <= 200000; ++i) xs.push_back(static_cast<float>(i) * 5e-4f);  // +-100
  for (VectorIsa isa : isas_here()) {
    for (float alpha : {1.0f, 1.702f, 0.5f, -1.0f}) {
      SCOPED_TRACE(std::string(name(isa)) + " alpha " + std::to_string(alpha));
      std::vector<float> ys = xs;
      swish_in_place(ys.data(), ys.size(), alpha, isa);
      double worst = 0;
      for (size_t i = 0; i < xs.size(); ++i) {
        const double want = exact(xs[i], alpha);
        if (xs[i] * alpha < -87.0f) {
          // The product's limit: a zero with x's sign, where the true value is below 1.5e-36.
          EXPECT_EQ(ys[i], 0.0f);
          EXPECT_EQ(std::signbit(ys[i]), std::signbit(xs[i]));
          continue;
        }
        const double error = std::fabs(ys[i] - want) / std::max(std::fabs(want), 1e-30);
        worst = std::max(worst, error);
      }
      EXPECT_LT(worst, 6e-7);  // a few ulp
    }
  }
}

TEST(SwishKernel, InfinitiesZerosAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  for (VectorIsa isa : isas_here()) {
    SCOPED_TRACE(name(isa));
    std::vector<float> v = {inf, -inf, std::nanf(""), 0.0f, -0.0f, 87.0f, -87.0f, 1e-30f};
    swish_in_place(v.data(), v.size(), 1.0f, isa);
    EXPECT_EQ(v[0], inf);
    EXPECT_EQ(v[1], 0.0f);  // the reference's limit, not inf * 0
    EXPECT_TRUE(std::signbit(v[1]));
    EXPECT_TRUE(std::isnan(v[2]));
    EXPECT_EQ(v[3], 0.0f);
    EXPECT_FALSE(std::signbit(v[3]));
    EXPECT_TRUE(std::signbit(v[4]));
    EXPECT_FLOAT_EQ(v[5], 87.0f);
    EXPECT_NEAR(v[6], exact(-87.0f, 1.0f), 1e-42);
    EXPECT_FLOAT_EQ(v[7], 5e-31f);
  }
}

TEST(SwishKernel, EveryLengthTouchesOnlyItsElements) {
  // Lengths around the vector widths (8, 16) and the two-vector steps (16, 32): the tails.
  constexpr float kGuard = 12345.0f;
  for (VectorIsa isa : isas_here()) {
    for (size_t count = 0; count <= 70; ++count) {
      SCOPED_TRACE(std::string(name(isa)) + " count " + std::to_string(count));
      std::vector<float> v(count + 2, kGuard);
      for (size_t i = 0; i < count; ++i) v[i + 1] = static_cast<float>(i) * 0.37f - 9.0f;
      swish_in_place(v.data() + 1, count, 1.0f, isa);
      EXPECT_EQ(v.front(), kGuard);
      EXPECT_EQ(v.back(), kGuard);
      for (size_t i = 0; i < count; ++i) {
        const float x = static_cast<float>(i) * 0.37f - 9.0f;
        EXPECT_NEAR(v[i + 1], exact(x, 1.0f), 1e-6 * std::fabs(exact(x, 1.0f)) + 1e-30);
      }
    }
  }
}

TEST(SwishKernel, SharingWithOpenMpThreadsGivesTheSameBits) {
  if (isas_here().empty()) GTEST_SKIP() << "no vector code here";
  // Enough for three threads' parts, and not a whole number of vectors.
  std::vector<float> x(3 * (size_t{256} << 10) + 5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 4001) * 0.01f - 20.0f;
  std::vector<float> alone = x, shared = x;
  swish_in_place(alone.data(), alone.size(), 1.0f, best_vector_isa());
  const int previous = omp_get_max_threads();
  omp_set_num_threads(3);
  swish_in_place(shared.data(), shared.size(), 1.0f);
  omp_set_num_threads(previous);
  EXPECT_EQ(alone, shared);
}

TEST(VectorKernels, AskingForCodeThisCpuLacksIsAnError) {
  std::vector<float> v(4, 1.0f);
  EXPECT_THROW(swish_in_place(v.data(), v.size(), 1.0f, VectorIsa::kNone), std::logic_error);
  if (best_vector_isa() != VectorIsa::kAvx512) {
    EXPECT_THROW(swish_in_place(v.data(), v.size(), 1.0f, VectorIsa::kAvx512), std::logic_error);
  }
}

}  // namespace
}  // namespace edgerun::onednn
