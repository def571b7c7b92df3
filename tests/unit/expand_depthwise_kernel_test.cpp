// edgerun's own expansion-and-depthwise kernel (backends/onednn/expand_depthwise_kernel.h), each
// vector path this CPU runs, against the exact result in double: widths that are and are not
// whole tiles, channel counts that are and are not whole vectors, both strides, 3x3 and 5x5
// windows, odd and even sizes, every activation, image convolutions as the expansion; the same
// bits whatever the split into row bands; NaN; and the errors.
#include "backends/onednn/expand_depthwise_kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/uniform_floats.h"
#include "support/vector_isas.h"

namespace edgerun::onednn {
namespace {

using Kind = BlockActivation::Kind;

struct Case {
  ExpandDepthwiseGeometry g;
  std::vector<float> x, expand, expand_bias, depthwise, depthwise_bias;
};

Case make_case(int64_t h, int64_t w, int64_t cin, int64_t c, int64_t stride, BlockActivation first,
               BlockActivation second, uint32_t seed = 1, int64_t window = 3) {
  Case k;
  k.g.window = window;
  k.g.height = k.g.in_height = h;
  k.g.width = k.g.in_width = w;
  k.g.in_channels = cin;
  k.g.channels = c;
  k.g.stride = stride;
  k.g.expand_activation = first;
  k.g.depthwise_activation = second;
  k.x = uniform_floats(static_cast<size_t>(h * w * cin), seed, 2.0f);
  k.expand = uniform_floats(static_cast<size_t>(c * cin), seed + 1);
  k.expand_bias = uniform_floats(static_cast<size_t>(c), seed + 2);
  k.depthwise = uniform_floats(static_cast<size_t>(c * window * window), seed + 3);
  k.depthwise_bias = uniform_floats(static_cast<size_t>(c), seed + 4);
  return k;
}

double activate(double v, const BlockActivation& a) {
  switch (a.kind) {
    case Kind::kClip: return std::min<double>(a.hi, std::max<double>(a.lo, v));
    case Kind::kHardSwish: return v * std::min(6.0, std::max(0.0, v + 3.0)) / 6.0;
    case Kind::kSwish: return v / (1.0 + std::exp(-a.alpha * v));
  }
  return v;
}

// An image convolution of `kernel` with `stride` and `pad` into `c` channels: the expansion of
// a CNN's first layer, over an input of in_h x in_w x cin.
Case make_image_case(int64_t in_h, int64_t in_w, int64_t cin, int64_t c, int64_t kernel,
                     int64_t stride, int64_t pad, int64_t dw_stride, int64_t window,
                     BlockActivation first, BlockActivation second, uint32_t seed) {
  const int64_t h = (in_h + 2 * pad - kernel) / stride + 1;
  const int64_t w = (in_w + 2 * pad - kernel) / stride + 1;
  Case k = make_case(h, w, cin, c, dw_stride, first, second, seed, window);
  k.g.in_height = in_h;
  k.g.in_width = in_w;
  k.g.expand_kernel = kernel;
  k.g.expand_stride = stride;
  k.g.expand_pad = pad;
  k.x = uniform_floats(static_cast<size_t>(in_h * in_w * cin), seed, 2.0f);
  k.expand = uniform_floats(static_cast<size_t>(c * cin * kernel * kernel), seed + 1);
  return k;
}

// The block in double, from the ONNX-layout weights.
std::vector<double> exact(const Case& k) {
  const ExpandDepthwiseGeometry& g = k.g;
  const int64_t ek = g.expand_kernel;
  std::vector<double> mid(static_cast<size_t>(g.height * g.width * g.channels));
  for (int64_t y = 0; y < g.height; ++y) {
    for (int64_t x = 0; x < g.width; ++x) {
      for (int64_t c = 0; c < g.channels; ++c) {
        double sum = k.expand_bias[c];
        for (int64_t ky = 0; ky < ek; ++ky) {
          for (int64_t kx = 0; kx < ek; ++kx) {
            const int64_t iy = y * g.expand_stride - g.expand_pad + ky;
            const int64_t ix = x * g.expand_stride - g.expand_pad + kx;
            if (iy < 0 || iy >= g.in_height || ix < 0 || ix >= g.in_width) continue;
            for (int64_t i = 0; i < g.in_channels; ++i) {
              sum += double{k.x[(iy * g.in_width + ix) * g.in_channels + i]} *
                     k.expand[((c * g.in_channels + i) * ek + ky) * ek + kx];
            }
          }
        }
        mid[(y * g.width + x) * g.channels + c] = activate(sum, g.expand_activation);
      }
    }
  }
  const int64_t ho = g.out_height(), wo = g.out_width(), kw = g.window, pad = g.pad();
  std::vector<double> y(static_cast<size_t>(ho * wo * g.channels));
  for (int64_t oy = 0; oy < ho; ++oy) {
    for (int64_t ox = 0; ox < wo; ++ox) {
      for (int64_t c = 0; c < g.channels; ++c) {
        double sum = k.depthwise_bias[c];
        for (int64_t ky = 0; ky < kw; ++ky) {
          for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t iy = oy * g.stride - pad + ky, ix = ox * g.stride - pad + kx;
            if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
            sum += mid[(iy * g.width + ix) * g.channels + c] *
                   k.depthwise[(c * kw + ky) * kw + kx];
          }
        }
        y[(oy * wo + ox) * g.channels + c] = activate(sum, g.depthwise_activation);
      }
    }
  }
  return y;
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

std::unique_ptr<float, FreeDeleter> scratch_for(const ExpandDepthwiseGeometry& g) {
  const size_t bytes = (expand_depthwise_scratch_floats(g) * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  // Garbage in the scratch must not reach the result.
  std::fill(p, p + bytes / sizeof(float), std::numeric_limits<float>::quiet_NaN());
  return std::unique_ptr<float, FreeDeleter>(p);
}

// The kernel's result over `parts` bands of rows, with `isa`.
std::vector<float> run(const Case& k, VectorIsa isa, int64_t parts = 1) {
  const ExpandDepthwiseWeights w =
      pack_expand_depthwise(k.g, k.expand.data(), k.expand_bias.data(), k.depthwise.data(),
                            k.depthwise_bias.data());
  const int64_t rows = k.g.out_height();
  std::vector<float> y(static_cast<size_t>(rows * k.g.out_width() * k.g.channels),
                       std::numeric_limits<float>::quiet_NaN());
  auto scratch = scratch_for(k.g);
  for (int64_t p = 0; p < parts; ++p) {
    expand_depthwise_rows(k.g, w, k.x.data(), y.data(), rows * p / parts, rows * (p + 1) / parts,
                          scratch.get(), isa);
  }
  return y;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double largest = 1.0;
  for (double v : want) largest = std::max(largest, std::fabs(v));
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 2e-5 * largest) << what << " at " << i;
  }
}

BlockActivation clip(float lo, float hi) {
  BlockActivation a;
  a.lo = lo;
  a.hi = hi;
  return a;
}
BlockActivation of_kind(Kind kind, float alpha = 1.0f) {
  BlockActivation a;
  a.kind = kind;
  a.alpha = alpha;
  return a;
}

TEST(ExpandDepthwiseKernel, MatchesTheExactResultOverShapesAndActivations) {
  struct Shape {
    int64_t h, w, cin, c, stride, window;
  };
  // Widths past a tile of 6 pixels and short of one, one pixel, odd and even sizes for stride 2;
  // channels of a whole AVX-512 tile (64), past one (96 = 64 + 32), a masked tail (20, 150) and
  // fewer than a vector (5); one input channel and many.
  const Shape shapes[] = {{9, 13, 16, 96, 1, 3}, {9, 13, 16, 96, 2, 3}, {10, 12, 24, 150, 2, 3},
                          {7, 5, 3, 20, 1, 3},   {1, 1, 1, 5, 1, 3},    {2, 1, 8, 64, 2, 3},
                          {6, 7, 40, 33, 1, 3},  {3, 8, 70, 17, 2, 3},  {11, 9, 24, 72, 2, 5},
                          {8, 14, 40, 120, 1, 5}, {3, 2, 5, 20, 1, 5},  {1, 4, 7, 9, 2, 5}};
  const BlockActivation activations[] = {BlockActivation{}, clip(0.0f, 6.0f), clip(0.0f, INFINITY),
                                         of_kind(Kind::kHardSwish), of_kind(Kind::kSwish),
                                         of_kind(Kind::kSwish, 1.7f)};
  for (VectorIsa isa : isas_here()) {
    uint32_t seed = 1;
    for (const Shape& s : shapes) {
      for (const BlockActivation& first : activations) {
        const BlockActivation& second = activations[seed % 6];
        const Case k =
            make_case(s.h, s.w, s.cin, s.c, s.stride, first, second, seed++, s.window);
        expect_close(run(k, isa), exact(k),
                     std::string(name(isa)) + " " + std::to_string(s.h) + "x" +
                         std::to_string(s.w) + " " + std::to_string(s.cin) + "->" +
                         std::to_string(s.c) + " stride " + std::to_string(s.stride) +
                         " window " + std::to_string(s.window));
      }
    }
  }
}

TEST(ExpandDepthwiseKernel, ImageConvolutionsAsTheExpansionMatchTheExactResult) {
  // A CNN's first layer as the expansion: 3x3 of stride 2 over RGB into 32 channels (the wide
  // tiles of 12 pixels, with a tail), 5x5 of stride 1 over one channel into 20 (a masked tail),
  // 3x3 unpadded over four into 48, 7x7 of stride 2 with pads of 3; sizes odd and even.
  struct Shape {
    int64_t in_h, in_w, cin, c, kernel, stride, pad, dw_stride, window;
  };
  const Shape shapes[] = {{31, 30, 3, 32, 3, 2, 1, 1, 3}, {9, 14, 1, 20, 5, 1, 2, 2, 5},
                          {12, 11, 4, 48, 3, 1, 0, 1, 3}, {17, 40, 3, 32, 7, 2, 3, 2, 3},
                          {2, 3, 3, 16, 3, 2, 1, 1, 3}};
  for (VectorIsa isa : isas_here()) {
    uint32_t seed = 40;
    for (const Shape& s : shapes) {
      const Case k = make_image_case(s.in_h, s.in_w, s.cin, s.c, s.kernel, s.stride, s.pad,
                                     s.dw_stride, s.window, clip(0.0f, 6.0f),
                                     of_kind(Kind::kHardSwish), seed++);
      const std::string what = std::string(name(isa)) + " " + std::to_string(s.in_h) + "x" +
                               std::to_string(s.in_w) + " kernel " + std::to_string(s.kernel);
      expect_close(run(k, isa), exact(k), what);
      EXPECT_EQ(run(k, isa, 3), run(k, isa)) << what << ", 3 parts";
    }
  }
}

TEST(ExpandDepthwiseKernel, BandsOfRowsGiveTheSameBits) {
  for (VectorIsa isa : isas_here()) {
    for (int64_t window : {3, 5}) {
      for (int64_t stride : {1, 2}) {
        const Case k = make_case(23, 19, 16, 40, stride, clip(0.0f, 6.0f), of_kind(Kind::kSwish),
                                 1, window);
        const std::vector<float> whole = run(k, isa);
        for (int64_t parts : {int64_t{2}, int64_t{3}, int64_t{7}, k.g.out_height()}) {
          EXPECT_EQ(run(k, isa, parts), whole) << name(isa) << " stride " << stride << ", window "
                                               << window << ", " << parts << " parts";
        }
      }
    }
  }
}

TEST(ExpandDepthwiseKernel, NaNReachesOnlyTheOutputsThatReadIt) {
  // A NaN input pixel poisons its expanded pixel (through every activation) and so the
  // outputs whose window covers it; no other.
  for (VectorIsa isa : isas_here()) {
    for (int64_t window : {3, 5}) {
      for (const BlockActivation& a :
           {clip(0.0f, 6.0f), of_kind(Kind::kHardSwish), of_kind(Kind::kSwish)}) {
        Case k = make_case(8, 8, 4, 16, 1, a, a, 1, window);
        k.x[(3 * 8 + 4) * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
        const std::vector<float> y = run(k, isa);
        for (int64_t oy = 0; oy < 8; ++oy) {
          for (int64_t ox = 0; ox < 8; ++ox) {
            const bool covers = std::abs(oy - 3) <= k.g.pad() && std::abs(ox - 4) <= k.g.pad();
            EXPECT_EQ(std::isnan(y[(oy * 8 + ox) * 16]), covers)
                << name(isa) << " window " << window << " at " << oy << ", " << ox;
          }
        }
      }
    }
  }
}

TEST(ExpandDepthwiseKernel, RefusesCodeTheCpuLacksAndOtherStridesAndWindows) {
  Case k = make_case(4, 4, 2, 8, 1, BlockActivation{}, BlockActivation{});
  const ExpandDepthwiseWeights w =
      pack_expand_depthwise(k.g, k.expand.data(), nullptr, k.depthwise.data(), nullptr);
  std::vector<float> y(4 * 4 * 8);
  auto scratch = scratch_for(k.g);
  EXPECT_THROW(expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, 4, scratch.get(),
                                     VectorIsa::kNone),
               std::logic_error);
  if (best_vector_isa() != VectorIsa::kAvx512) {
    EXPECT_THROW(expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, 4, scratch.get(),
                                       VectorIsa::kAvx512),
                 std::logic_error);
  }
  if (!expand_depthwise_runs_here()) return;
  k.g.stride = 3;
  EXPECT_THROW(expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, 1, scratch.get()),
               std::invalid_argument);
  k.g.stride = 1;
  k.g.window = 7;
  EXPECT_THROW(expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, 1, scratch.get()),
               std::invalid_argument);
  k.g.window = 3;
  k.g.expand_stride = 2;  // 1x1 expansions keep the input's size
  EXPECT_THROW(expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, 1, scratch.get()),
               std::invalid_argument);
  k.g.expand_stride = 1;
  k.g.expand_kernel = 3;
  k.g.expand_pad = 3;  // a window that could lie wholly in the padding
  EXPECT_THROW(expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, 1, scratch.get()),
               std::invalid_argument);
}

TEST(ExpandDepthwiseKernel, MissingBiasesAreZeros) {
  for (VectorIsa isa : isas_here()) {
    Case k = make_case(5, 9, 7, 24, 2, clip(-1.0f, 1.0f), BlockActivation{});
    const ExpandDepthwiseWeights w =
        pack_expand_depthwise(k.g, k.expand.data(), nullptr, k.depthwise.data(), nullptr);
    std::fill(k.expand_bias.begin(), k.expand_bias.end(), 0.0f);
    std::fill(k.depthwise_bias.begin(), k.depthwise_bias.end(), 0.0f);
    std::vector<float> y(static_cast<size_t>(k.g.out_height() * k.g.out_width() * 24));
    auto scratch = scratch_for(k.g);
    expand_depthwise_rows(k.g, w, k.x.data(), y.data(), 0, k.g.out_height(), scratch.get(), isa);
    expect_close(y, exact(k), name(isa));
  }
}

}  // namespace
}  // namespace edgerun::onednn
