#include "backends/onednn/expand_depthwise_kernel.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "backends/onednn/tile_table.h"
#include "backends/onednn/vector_exp.h"

namespace edgerun::onednn {
namespace {

constexpr int64_t kTilePixels = kTileTableRows;  // expanded pixels per register tile
constexpr int64_t kMaxTileVectors = kTileTableVectors;
constexpr int kWidePixels = 12;  // of the wide tiles: 24 accumulators for 32 channels
constexpr int64_t kMaxExpandKernel = 7;
constexpr int64_t kMaxWindow = 5;  // the depthwise window: 3x3 or 5x5

// What an expansion multiplies: per pixel p, `segments` runs of `length` values, run s at
// rows[s][p * step] (one run, the pixel's channels, for a 1x1 expansion; a window row's values
// for each of its rows for an image convolution). The weights' rows follow the runs in order.
struct TileInput {
  const float* const* rows;
  int64_t segments, length, step;
};

// out[p * cp + c] = activation(bias[c] + sum over the runs' values v_i of pixel first + p of
// v_i * w[i * cp + c]) for the tile's pixels p and channels c (w, bias and out at the tile's
// first channel, out at its first pixel).
using ExpandTile = void (*)(const TileInput& in, int64_t first, const float* w, int64_t cp,
                            const float* bias, const BlockActivation& activation, float* out);
// One output row of a K x K window of stride S: y[ox * c + ch] = activation(bias[ch] + sum over
// taps of rows[ky][(ox * S + kx) * cp + ch] * w[(ky * K + kx) * cp + ch]) for ox < wo, ch < c.
using DepthwiseRow = void (*)(const float* const* rows, int64_t wo, int64_t cp, int64_t c,
                              const float* w, const float* bias, const BlockActivation& activation,
                              float* y);

// One ISA's code: expansion tiles indexed [pixels - 1][vectors - 1] for up to kTilePixels
// pixels and tile_vectors vectors of `vector` floats (the rest stay null); depthwise rows for
// the 3x3 and the 5x5 window, strides 1 and 2.
struct Kernels {
  int64_t vector = 0;
  int64_t tile_vectors = 0;
  TileTable<ExpandTile> expand{};
  // kWidePixels pixels by 1 or 2 vectors, for rows of few channels (an image convolution's 16 or
  // 32), where 6-pixel tiles would load a weight vector for every 6 FMAs; null where the
  // registers do not hold them (AVX2).
  std::array<ExpandTile, 2> wide{};
  // [window == 5][stride - 1]
  std::array<std::array<DepthwiseRow, 2>, 2> depthwise{};
};

#if defined(__x86_64__)

using vector_exp::first_lanes16;
using vector_exp::first_lanes8;
using vector_exp::swish16;
using vector_exp::swish8;

// ---- AVX-512: vectors of 16, tiles of 6 pixels x 64 channels -----------------------------------

constexpr int64_t k16 = 16;

// The activation's constants in vectors, made once per tile or row.
struct Activation16 {
  BlockActivation::Kind kind;
  __m512 lo, hi, alpha;
  EDGERUN_AVX512 explicit Activation16(const BlockActivation& a)
      : kind(a.kind),
        lo(_mm512_set1_ps(a.lo)),
        hi(_mm512_set1_ps(a.hi)),
        alpha(_mm512_set1_ps(a.alpha)) {}

  // max and min return their second operand when one is NaN: a NaN comes through.
  EDGERUN_AVX512 __m512 operator()(__m512 v) const {
    switch (kind) {
      case BlockActivation::Kind::kClip: return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
      case BlockActivation::Kind::kHardSwish: {
        const __m512 shifted = _mm512_add_ps(v, _mm512_set1_ps(3.0f));
        const __m512 gate =
            _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), shifted));
        return _mm512_mul_ps(_mm512_mul_ps(v, gate), _mm512_set1_ps(1.0f / 6.0f));
      }
      case BlockActivation::Kind::kSwish: return swish16(v, alpha);
    }
    return v;
  }
};

template <int P, int V>
struct ExpandTile16 {
  EDGERUN_AVX512 static void run(const TileInput& in, int64_t first, const float* w, int64_t cp,
                                 const float* bias, const BlockActivation& activation, float* out) {
    __m512 acc[P][V];
#pragma GCC unroll 8
    for (int c = 0; c < V; ++c) {
      const __m512 b = _mm512_loadu_ps(bias + k16 * c);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) acc[p][c] = b;
    }
    const int64_t length = in.length, step = in.step;
    for (int64_t segment = 0; segment < in.segments; ++segment) {
      const float* px[P];  // each pixel's run
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) px[p] = in.rows[segment] + (first + p) * step;
      for (int64_t i = 0; i < length; ++i, w += cp) {
        __m512 weight[V];
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c) weight[c] = _mm512_loadu_ps(w + k16 * c);
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          const __m512 xp = _mm512_set1_ps(px[p][i]);
#pragma GCC unroll 8
          for (int c = 0; c < V; ++c) acc[p][c] = _mm512_fmadd_ps(xp, weight[c], acc[p][c]);
        }
      }
    }
    const Activation16 act(activation);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) _mm512_storeu_ps(out + p * cp + k16 * c, act(acc[p][c]));
    }
  }
};

// Q outputs side by side (at input column `at`, pixels S apart): each input vector of a window
// row is loaded once and multiplied into every output whose window covers it, so a row of
// (Q - 1) S + K loads feeds Q K FMAs. The conditions fold away once the loops unroll.
template <int K, int S, int Q>
EDGERUN_AVX512 inline void depthwise_outputs16(const float* const* rows, int64_t at, int64_t cp,
                                               const __m512* tap, __m512* acc) {
  constexpr int kColumns = (Q - 1) * S + K;
#pragma GCC unroll 5
  for (int ky = 0; ky < K; ++ky) {
    const float* row = rows[ky] + at;
#pragma GCC unroll 16
    for (int col = 0; col < kColumns; ++col) {
      const __m512 v = _mm512_loadu_ps(row + col * cp);
#pragma GCC unroll 4
      for (int q = 0; q < Q; ++q) {
        const int kx = col - q * S;
        if (kx >= 0 && kx < K) acc[q] = _mm512_fmadd_ps(v, tap[ky * K + kx], acc[q]);
      }
    }
  }
}

template <int K, int S>
EDGERUN_AVX512 void depthwise_row16(const float* const* rows, int64_t wo, int64_t cp, int64_t c,
                                    const float* w, const float* bias,
                                    const BlockActivation& activation, float* y) {
  // 5x5: 25 taps and 4 accumulators of 32 registers; 3x3: 9 and 4.
  constexpr int kQ = 4;
  const Activation16 act(activation);
  for (int64_t ch = 0; ch < c; ch += k16) {
    const __mmask16 lanes = first_lanes16(c - ch);
    __m512 tap[K * K];
#pragma GCC unroll 25
    for (int t = 0; t < K * K; ++t) tap[t] = _mm512_loadu_ps(w + t * cp + ch);
    const __m512 b = _mm512_loadu_ps(bias + ch);
    int64_t ox = 0;
    for (; ox + kQ <= wo; ox += kQ) {
      __m512 acc[kQ] = {b, b, b, b};
      depthwise_outputs16<K, S, kQ>(rows, ox * S * cp + ch, cp, tap, acc);
#pragma GCC unroll 4
      for (int q = 0; q < kQ; ++q) _mm512_mask_storeu_ps(y + (ox + q) * c + ch, lanes, act(acc[q]));
    }
    for (; ox < wo; ++ox) {
      __m512 acc[1] = {b};
      depthwise_outputs16<K, S, 1>(rows, ox * S * cp + ch, cp, tap, acc);
      _mm512_mask_storeu_ps(y + ox * c + ch, lanes, act(acc[0]));
    }
  }
}

const Kernels kAvx512 = {
    k16,
    kMaxTileVectors,
    tile_table<ExpandTile16, ExpandTile, 4>(),
    {&ExpandTile16<kWidePixels, 1>::run, &ExpandTile16<kWidePixels, 2>::run},
    {{{&depthwise_row16<3, 1>, &depthwise_row16<3, 2>},
      {&depthwise_row16<5, 1>, &depthwise_row16<5, 2>}}}};

// ---- AVX2: vectors of 8, tiles of 6 pixels x 16 channels (12 accumulators of 16 registers) ----

constexpr int64_t k8 = 8;

struct Activation8 {
  BlockActivation::Kind kind;
  __m256 lo, hi, alpha;
  EDGERUN_AVX2 explicit Activation8(const BlockActivation& a)
      : kind(a.kind),
        lo(_mm256_set1_ps(a.lo)),
        hi(_mm256_set1_ps(a.hi)),
        alpha(_mm256_set1_ps(a.alpha)) {}

  EDGERUN_AVX2 __m256 operator()(__m256 v) const {
    switch (kind) {
      case BlockActivation::Kind::kClip: return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
      case BlockActivation::Kind::kHardSwish: {
        const __m256 shifted = _mm256_add_ps(v, _mm256_set1_ps(3.0f));
        const __m256 gate =
            _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(_mm256_setzero_ps(), shifted));
        return _mm256_mul_ps(_mm256_mul_ps(v, gate), _mm256_set1_ps(1.0f / 6.0f));
      }
      case BlockActivation::Kind::kSwish: return swish8(v, alpha);
    }
    return v;
  }
};

template <int P, int V>
struct ExpandTile8 {
  EDGERUN_AVX2 static void run(const TileInput& in, int64_t first, const float* w, int64_t cp,
                               const float* bias, const BlockActivation& activation, float* out) {
    __m256 acc[P][V];
#pragma GCC unroll 8
    for (int c = 0; c < V; ++c) {
      const __m256 b = _mm256_loadu_ps(bias + k8 * c);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) acc[p][c] = b;
    }
    const int64_t length = in.length, step = in.step;
    for (int64_t segment = 0; segment < in.segments; ++segment) {
      const float* px[P];  // each pixel's run
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) px[p] = in.rows[segment] + (first + p) * step;
      for (int64_t i = 0; i < length; ++i, w += cp) {
        __m256 weight[V];
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c) weight[c] = _mm256_loadu_ps(w + k8 * c);
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          const __m256 xp = _mm256_broadcast_ss(px[p] + i);
#pragma GCC unroll 8
          for (int c = 0; c < V; ++c) acc[p][c] = _mm256_fmadd_ps(xp, weight[c], acc[p][c]);
        }
      }
    }
    const Activation8 act(activation);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) _mm256_storeu_ps(out + p * cp + k8 * c, act(acc[p][c]));
    }
  }
};

// One output at a time: 5x5's 25 taps already overflow AVX2's 16 registers (the compiler keeps
// some in L1).
template <int K, int S>
EDGERUN_AVX2 void depthwise_row8(const float* const* rows, int64_t wo, int64_t cp, int64_t c,
                                 const float* w, const float* bias,
                                 const BlockActivation& activation, float* y) {
  const Activation8 act(activation);
  for (int64_t ch = 0; ch < c; ch += k8) {
    const bool whole = c - ch >= k8;
    const __m256i lanes = first_lanes8(c - ch);
    __m256 tap[K * K];
#pragma GCC unroll 25
    for (int t = 0; t < K * K; ++t) tap[t] = _mm256_loadu_ps(w + t * cp + ch);
    const __m256 b = _mm256_loadu_ps(bias + ch);
    for (int64_t ox = 0; ox < wo; ++ox) {
      const int64_t at = ox * S * cp + ch;
      __m256 acc = b;
#pragma GCC unroll 5
      for (int ky = 0; ky < K; ++ky) {
#pragma GCC unroll 5
        for (int kx = 0; kx < K; ++kx) {
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(rows[ky] + at + kx * cp), tap[ky * K + kx], acc);
        }
      }
      if (whole) {
        _mm256_storeu_ps(y + ox * c + ch, act(acc));
      } else {
        _mm256_maskstore_ps(y + ox * c + ch, lanes, act(acc));
      }
    }
  }
}

const Kernels kAvx2 = {k8,
                       2,
                       tile_table<ExpandTile8, ExpandTile, 2>(),
                       {},
                       {{{&depthwise_row8<3, 1>, &depthwise_row8<3, 2>},
                         {&depthwise_row8<5, 1>, &depthwise_row8<5, 2>}}}};

// ---- the ISA-neutral driver ---------------------------------------------------------------------

// out[p * cp + c] for pixels p < pixels of `in` and channels c < cp.
void pointwise(const Kernels& kernels, const TileInput& in, int64_t pixels, const float* w,
               const float* bias, int64_t cp, const BlockActivation& activation, float* out) {
  int64_t p = 0;
  const int64_t row_vectors = cp / kernels.vector;
  if (row_vectors <= 2 && kernels.wide[row_vectors - 1] != nullptr) {
    for (; p + kWidePixels <= pixels; p += kWidePixels) {
      kernels.wide[row_vectors - 1](in, p, w, cp, bias, activation, out + p * cp);
    }
  }
  const int64_t tile_channels = kernels.tile_vectors * kernels.vector;
  // Channels outer: a tile's weights (k x tile_channels) stay in L1 over the row.
  for (int64_t c = 0; c < cp; c += tile_channels) {
    const int64_t vectors = std::min(kernels.tile_vectors, (cp - c) / kernels.vector);
    for (int64_t q = p; q < pixels; q += kTilePixels) {
      const int64_t tile = std::min(kTilePixels, pixels - q);
      kernels.expand[tile - 1][vectors - 1](in, q, w + c, cp, bias + c, activation,
                                            out + q * cp + c);
    }
  }
}

// Input row `row` into `out` with expand_pad zero pixels each side (and zeros past the last
// pixel a window of the last output can reach), for an image convolution's windows.
void pad_input_row(const ExpandDepthwiseGeometry& g, const float* x, int64_t row, float* out) {
  const int64_t cin = g.in_channels, pad = g.expand_pad;
  std::fill(out, out + pad * cin, 0.0f);
  std::memcpy(out + pad * cin, x + row * g.in_width * cin,
              static_cast<size_t>(g.in_width * cin) * sizeof(float));
  std::fill(out + (pad + g.in_width) * cin, out + g.padded_in_width() * cin, 0.0f);
}

// Expanded row `row` of x into `out`, width + 2 * pad pixels of cp channels: `pad` zero pixels,
// the row's pixels, `pad` zero pixels (the depthwise window's padding). For an image
// convolution `inputs` holds a ring of expand_kernel padded input rows (input row r in slot r %
// expand_kernel, `held` says which) and a zero row.
void expand_row(const Kernels& k, const ExpandDepthwiseGeometry& g,
                const ExpandDepthwiseWeights& w, const float* x, int64_t row, float* out,
                float* inputs, int64_t* held) {
  const int64_t cp = g.padded_channels(), pad = g.pad();
  std::fill(out, out + pad * cp, 0.0f);
  std::fill(out + (pad + g.width) * cp, out + (2 * pad + g.width) * cp, 0.0f);
  const float* rows[kMaxExpandKernel];
  TileInput in{rows, 1, g.in_channels, g.in_channels};
  if (g.expand_kernel == 1) {
    rows[0] = x + row * g.width * g.in_channels;
  } else {
    const int64_t kernel = g.expand_kernel, row_floats = g.padded_in_width() * g.in_channels;
    const float* zeros = inputs + kernel * row_floats;
    for (int64_t ky = 0; ky < kernel; ++ky) {
      const int64_t r = row * g.expand_stride - g.expand_pad + ky;
      if (r < 0 || r >= g.in_height) {
        rows[ky] = zeros;
        continue;
      }
      float* slot = inputs + (r % kernel) * row_floats;
      if (held[r % kernel] != r) {
        pad_input_row(g, x, r, slot);
        held[r % kernel] = r;
      }
      rows[ky] = slot;
    }
    in = TileInput{rows, kernel, kernel * g.in_channels, g.expand_stride * g.in_channels};
  }
  pointwise(k, in, g.width, w.expand.data(), w.expand_bias.data(), cp, g.expand_activation,
            out + pad * cp);
}

void run_rows(const Kernels& k, const ExpandDepthwiseGeometry& g, const ExpandDepthwiseWeights& w,
              const float* x, float* y, int64_t first_row, int64_t last_row, float* scratch) {
  const int64_t cp = g.padded_channels(), window = g.window, pad = g.pad();
  const int64_t row_floats = (g.width + 2 * pad) * cp;
  const int64_t wo = g.out_width();
  float* const ring = scratch;  // `window` expanded rows; input row r in slot r % window
  float* const zeros = scratch + window * row_floats;  // the padding rows above and below
  // An image convolution's padded input rows, then a zero row.
  float* const inputs = zeros + row_floats;
  int64_t inputs_held[kMaxExpandKernel] = {-1, -1, -1, -1, -1, -1, -1};
  if (g.expand_kernel > 1) {
    const int64_t input_floats = g.padded_in_width() * g.in_channels;
    std::fill(inputs + g.expand_kernel * input_floats,
              inputs + (g.expand_kernel + 1) * input_floats, 0.0f);
  }
  int64_t held[kMaxWindow] = {-1, -1, -1, -1, -1};
  bool zeroed = false;
  const DepthwiseRow depthwise = k.depthwise[window == 5 ? 1 : 0][g.stride - 1];
  for (int64_t oy = first_row; oy < last_row; ++oy) {
    const float* rows[kMaxWindow];
    for (int64_t ky = 0; ky < window; ++ky) {
      const int64_t r = oy * g.stride - pad + ky;
      if (r < 0 || r >= g.height) {
        if (!zeroed) std::fill(zeros, zeros + row_floats, 0.0f);
        zeroed = true;
        rows[ky] = zeros;
        continue;
      }
      float* slot = ring + (r % window) * row_floats;
      if (held[r % window] != r) {
        expand_row(k, g, w, x, r, slot, inputs, inputs_held);
        held[r % window] = r;
      }
      rows[ky] = slot;
    }
    depthwise(rows, wo, cp, g.channels, w.depthwise.data(), w.depthwise_bias.data(),
              g.depthwise_activation, y + oy * wo * g.channels);
  }
}

#endif  // __x86_64__

}  // namespace

ExpandDepthwiseWeights pack_expand_depthwise(const ExpandDepthwiseGeometry& g, const float* expand,
                                             const float* expand_bias, const float* depthwise,
                                             const float* depthwise_bias) {
  const int64_t cp = g.padded_channels(), patch = g.expand_patch();
  const int64_t expand_taps = g.expand_kernel * g.expand_kernel;
  const int64_t taps = g.window * g.window;
  ExpandDepthwiseWeights w;
  w.expand.assign(static_cast<size_t>(patch * cp), 0.0f);
  w.expand_bias.assign(static_cast<size_t>(cp), 0.0f);
  w.depthwise.assign(static_cast<size_t>(taps * cp), 0.0f);
  w.depthwise_bias.assign(static_cast<size_t>(cp), 0.0f);
  for (int64_t c = 0; c < g.channels; ++c) {
    for (int64_t ci = 0; ci < g.in_channels; ++ci) {
      for (int64_t t = 0; t < expand_taps; ++t) {
        w.expand[(t * g.in_channels + ci) * cp + c] =
            expand[(c * g.in_channels + ci) * expand_taps + t];
      }
    }
    for (int64_t t = 0; t < taps; ++t) w.depthwise[t * cp + c] = depthwise[c * taps + t];
    if (expand_bias != nullptr) w.expand_bias[c] = expand_bias[c];
    if (depthwise_bias != nullptr) w.depthwise_bias[c] = depthwise_bias[c];
  }
  return w;
}

size_t expand_depthwise_scratch_floats(const ExpandDepthwiseGeometry& g) {
  const int64_t inputs = g.expand_kernel > 1
                           ? ((g.expand_kernel + 1) * g.padded_in_width() * g.in_channels + 15) /
                                 16 * 16
                           : 0;
  return static_cast<size_t>((g.window + 1) * (g.width + 2 * g.pad()) * g.padded_channels() +
                             inputs);
}

bool expand_depthwise_runs_here() { return best_vector_isa() != VectorIsa::kNone; }

void expand_depthwise_rows(const ExpandDepthwiseGeometry& g, const ExpandDepthwiseWeights& w,
                           const float* x, float* y, int64_t first_row, int64_t last_row,
                           float* scratch, VectorIsa isa) {
  if (isa == VectorIsa::kNone || static_cast<int>(isa) > static_cast<int>(best_vector_isa())) {
    throw std::logic_error("expand_depthwise_rows: this CPU does not run the code asked for");
  }
  if ((g.stride != 1 && g.stride != 2) || (g.window != 3 && g.window != 5)) {
    throw std::invalid_argument(
        "expand_depthwise_rows: the stride must be 1 or 2 and the window 3 or 5");
  }
  if (g.expand_kernel < 1 || g.expand_kernel > kMaxExpandKernel || g.expand_stride < 1 ||
      g.expand_pad < 0 || g.expand_pad >= g.expand_kernel ||
      (g.expand_kernel == 1 && (g.expand_stride != 1 || g.expand_pad != 0 ||
                                g.in_height != g.height || g.in_width != g.width))) {
    throw std::invalid_argument(
        "expand_depthwise_rows: a 1x1 expansion has stride 1, no pads and the input's size");
  }
#if defined(__x86_64__)
  run_rows(isa == VectorIsa::kAvx512 ? kAvx512 : kAvx2, g, w, x, y, first_row, last_row, scratch);
#else
  (void)w, (void)x, (void)y, (void)first_row, (void)last_row, (void)scratch;
#endif
}

void expand_depthwise_rows(const ExpandDepthwiseGeometry& g, const ExpandDepthwiseWeights& w,
                           const float* x, float* y, int64_t first_row, int64_t last_row,
                           float* scratch) {
  expand_depthwise_rows(g, w, x, y, first_row, last_row, scratch, best_vector_isa());
}

}  // namespace edgerun::onednn
