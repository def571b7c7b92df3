// Our own vector kernels (backends/onednn/vector_kernels.h), each vector path this CPU runs,
// against the exact values in double: x * sigmoid(alpha * x), and one row times a matrix; and
// channels-last data scaled per channel, and 3-channel images turned channels-last.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <limits>
#include <stdexcept>
#include <vector>

#include "backends/onednn/vector_kernels.h"
#include "support/vector_isas.h"

namespace edgerun::onednn {
namespace {

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

// B of k x n (row-major, as the values of `b`) packed as one_row_product reads it: panels of
// kProductPanel columns, each its k rows one after the other, zeros past column n; 64-byte
// aligned as the kernel's loads need.
struct Panels {
  explicit Panels(const std::vector<float>& b, size_t k, size_t n)
      : count((n + kProductPanel - 1) / kProductPanel),
        storage(count * k * kProductPanel + 16, 0.0f) {
    const size_t misalignment = reinterpret_cast<uintptr_t>(storage.data()) % 64 / sizeof(float);
    data = storage.data() + (misalignment == 0 ? 0 : 16 - misalignment);
    for (size_t p = 0; p < count; ++p) {
      for (size_t r = 0; r < k; ++r) {
        for (size_t j = 0; j < kProductPanel && p * kProductPanel + j < n; ++j) {
          data[(p * k + r) * kProductPanel + j] = b[r * n + p * kProductPanel + j];
        }
      }
    }
  }
  size_t count;
  std::vector<float> storage;
  float* data = nullptr;
};

TEST(OneRowProductKernel, MatchesExactSumsForEveryWidthDepthAndPanelRange) {
  if (isas_here().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here: lowering keeps oneDNN's";
  constexpr float kGuard = 12345.0f;
  for (VectorIsa isa : isas_here()) {
    // Depths odd and even (the AVX-512 code takes rows in pairs); widths of a whole panel,
    // one column past it, and a classifier's 1000 (a last panel of 40).
    for (size_t k : {1, 2, 7, 300}) {
      for (size_t n : {64, 65, 1000}) {
        std::vector<float> x(k), b(k * n), c(n);
        for (size_t r = 0; r < k; ++r) x[r] = std::sin(static_cast<float>(r) * 0.7f);
        for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(static_cast<float>(i) * 0.13f);
        for (size_t j = 0; j < n; ++j) c[j] = static_cast<float>(j) * 0.01f - 3.0f;
        const Panels panels(b, k, n);
        for (const bool with_c : {false, true}) {
          // The whole, and the middle panels alone (a team's part): columns outside stay.
          const size_t first = panels.count > 2 ? 1 : 0;
          const size_t last = panels.count > 2 ? panels.count - 1 : panels.count;
          SCOPED_TRACE(std::string(name(isa)) + " k " + std::to_string(k) + " n " +
                       std::to_string(n) + (with_c ? " with c" : ""));
          std::vector<float> y(n + 1, kGuard);
          one_row_product(x.data(), k, panels.data, first, last, n, -0.5f,
                          with_c ? c.data() : nullptr, y.data(), isa);
          EXPECT_EQ(y[n], kGuard);
          for (size_t j = 0; j < n; ++j) {
            const bool inside = j >= first * kProductPanel && j < last * kProductPanel;
            if (!inside) {
              EXPECT_EQ(y[j], kGuard) << "column " << j;
              continue;
            }
            double sum = 0, magnitude = 0;
            for (size_t r = 0; r < k; ++r) {
              sum += static_cast<double>(x[r]) * b[r * n + j];
              magnitude += std::fabs(static_cast<double>(x[r]) * b[r * n + j]);
            }
            const double want = -0.5 * sum + (with_c ? c[j] : 0.0);
            EXPECT_NEAR(y[j], want, 1e-6 * (magnitude + std::fabs(want)) + 1e-30)
                << "column " << j;
          }
        }
      }
    }
  }
}

TEST(ScaleChannelsLast, ScalesEveryChannelOfEveryPixelInPlaceOrNot) {
  if (isas_here().empty()) GTEST_SKIP() << "no vector code here: lowering keeps oneDNN's";
  // Channel counts around the vector widths (8, 16): the masked and scalar tails.
  for (VectorIsa isa : isas_here()) {
    for (size_t channels : {1, 7, 8, 16, 17, 24, 40}) {
      SCOPED_TRACE(std::string(name(isa)) + " channels " + std::to_string(channels));
      const size_t pixels = 5;
      std::vector<float> x(pixels * channels), scale(channels);
      for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f - 3.0f;
      for (size_t c = 0; c < channels; ++c) scale[c] = static_cast<float>(c) + 0.25f;
      std::vector<float> y(x.size() + 1, 12345.0f), in_place = x;
      scale_channels_last(x.data(), scale.data(), y.data(), pixels, channels, isa);
      scale_channels_last(in_place.data(), scale.data(), in_place.data(), pixels, channels, isa);
      EXPECT_EQ(y.back(), 12345.0f);
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(y[i], x[i] * scale[i % channels]) << i;
        ASSERT_EQ(in_place[i], y[i]) << i;
      }
    }
  }
}

TEST(SumChannelsLast, SumsEveryChannelOverEveryPixelInPixelOrder) {
  if (isas_here().empty()) GTEST_SKIP() << "no vector code here: lowering keeps oneDNN's";
  // Channel counts for each register count of the AVX-512 code (1 to 8 vectors after whole
  // chunks of 128) and the AVX2 code's 32, 8 and scalar steps, with and without tails. The
  // last channel's 1e8 and -1e8 make its sum depend on the order of the small values between.
  for (VectorIsa isa : isas_here()) {
    for (size_t channels : {1, 7, 8, 16, 17, 33, 64, 100, 128, 129, 250, 256, 300, 383}) {
      SCOPED_TRACE(std::string(name(isa)) + " channels " + std::to_string(channels));
      const size_t pixels = 7;
      std::vector<float> x(pixels * channels);
      for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) - 6.0f;
      x[channels - 1] = 1e8f;
      x[(pixels - 1) * channels + channels - 1] = -1e8f;
      std::vector<float> sums(channels + 1, 12345.0f);
      sum_channels_last(x.data(), pixels, channels, sums.data(), isa);
      EXPECT_EQ(sums.back(), 12345.0f);
      for (size_t c = 0; c < channels; ++c) {
        float want = 0;
        for (size_t p = 0; p < pixels; ++p) want += x[p * channels + c];
        ASSERT_EQ(sums[c], want) << c;
      }
    }
  }
}

TEST(RgbToChannelsLast, InterleavesEveryPixelOfEveryImage) {
  // Pixel counts around the 16-pixel blocks (the tails), two images of each; the large ones
  // split over two OpenMP threads, one with a tail in its last part.
  struct RestoreThreads {
    int threads = omp_get_max_threads();
    ~RestoreThreads() { omp_set_num_threads(threads); }
  } restore;
  omp_set_num_threads(2);
  for (size_t pixels : {1, 15, 16, 17, 48, 50, 100 * 181, 224 * 224}) {
    SCOPED_TRACE("pixels " + std::to_string(pixels));
    std::vector<float> in(2 * 3 * pixels), out(2 * 3 * pixels + 1, -1.0f);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) * 0.25f;
    if (!rgb_to_channels_last(in.data(), out.data(), 2, pixels)) {
      EXPECT_NE(best_vector_isa(), VectorIsa::kAvx512);
      EXPECT_EQ(out.front(), -1.0f);  // nothing written: oneDNN's reorder converts instead
      continue;
    }
    for (size_t image = 0; image < 2; ++image) {
      for (size_t p = 0; p < pixels; ++p) {
        for (size_t c = 0; c < 3; ++c) {
          ASSERT_EQ(out[(image * pixels + p) * 3 + c], in[(image * 3 + c) * pixels + p])
              << "image " << image << " pixel " << p << " channel " << c;
        }
      }
    }
    EXPECT_EQ(out.back(), -1.0f);
  }
}

TEST(VectorKernels, AskingForCodeThisCpuLacksIsAnError) {
  std::vector<float> v(4, 1.0f);
  EXPECT_THROW(swish_in_place(v.data(), v.size(), 1.0f, VectorIsa::kNone), std::logic_error);
  if (best_vector_isa() != VectorIsa::kAvx512) {
    EXPECT_THROW(swish_in_place(v.data(), v.size(), 1.0f, VectorIsa::kAvx512), std::logic_error);
  }
  EXPECT_THROW(scale_channels_last(v.data(), v.data(), v.data(), 1, 1, VectorIsa::kNone),
               std::logic_error);
  EXPECT_THROW(one_row_product(v.data(), 1, v.data(), 0, 0, 1, 1.0f, nullptr, v.data(),
                               VectorIsa::kNone),
               std::logic_error);
}

}  // namespace
}  // namespace edgerun::onednn
