#include "backends/onednn/vector_kernels.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "backends/onednn/split_work.h"
#include "backends/onednn/vector_exp.h"

namespace edgerun::onednn {
namespace {

#if defined(__x86_64__)

using vector_exp::swish16;
using vector_exp::swish8;

EDGERUN_AVX512 void swish_avx512(float* data, size_t count, float alpha_value) {
  const __m512 alpha = _mm512_set1_ps(alpha_value);
  size_t i = 0;
  // Two vectors per step: each is a long dependent chain, so two keep the units busy.
  for (; i + 32 <= count; i += 32) {
    const __m512 a = _mm512_loadu_ps(data + i), b = _mm512_loadu_ps(data + i + 16);
    _mm512_storeu_ps(data + i, swish16(a, alpha));
    _mm512_storeu_ps(data + i + 16, swish16(b, alpha));
  }
  for (; i < count; i += 16) {
    const size_t left = std::min<size_t>(count - i, 16);
    const __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
    _mm512_mask_storeu_ps(data + i, mask, swish16(_mm512_maskz_loadu_ps(mask, data + i), alpha));
  }
}

EDGERUN_AVX2 void swish_avx2(float* data, size_t count, float alpha_value) {
  const __m256 alpha = _mm256_set1_ps(alpha_value);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 a = _mm256_loadu_ps(data + i), b = _mm256_loadu_ps(data + i + 8);
    _mm256_storeu_ps(data + i, swish8(a, alpha));
    _mm256_storeu_ps(data + i + 8, swish8(b, alpha));
  }
  for (; i < count; i += 8) {
    // The tail goes through a whole vector of our own, so nothing past `count` is touched.
    alignas(32) float tail[8] = {};
    const size_t left = std::min<size_t>(count - i, 8);
    std::memcpy(tail, data + i, left * sizeof(float));
    _mm256_store_ps(tail, swish8(_mm256_load_ps(tail), alpha));
    std::memcpy(data + i, tail, left * sizeof(float));
  }
}

// One panel of one_row_product: acc[0, 64) = sum_k x[k] * panel[k][0, 64), then y[j] = alpha *
// acc[j] + c[j] for the `width` columns that exist.
EDGERUN_AVX512 void product_panel_avx512(const float* x, size_t k, const float* panel,
                                         size_t width, float alpha, const float* c, float* y) {
  // Two rows per step into two sets of accumulators: eight independent chains of FMAs, as
  // many as two FMA units of four cycles' latency keep busy.
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  size_t r = 0;
  for (; r + 2 <= k; r += 2, panel += 2 * kProductPanel) {
    const __m512 x0 = _mm512_set1_ps(x[r]), x1 = _mm512_set1_ps(x[r + 1]);
    a0 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel), a0);
    a1 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel + 16), a1);
    a2 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel + 32), a2);
    a3 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel + 48), a3);
    b0 = _mm512_fmadd_ps(x1, _mm512_load_ps(panel + 64), b0);
    b1 = _mm512_fmadd_ps(x1, _mm512_load_ps(panel + 80), b1);
    b2 = _mm512_fmadd_ps(x1, _mm512_load_ps(panel + 96), b2);
    b3 = _mm512_fmadd_ps(x1, _mm512_load_ps(panel + 112), b3);
  }
  if (r < k) {
    const __m512 x0 = _mm512_set1_ps(x[r]);
    a0 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel), a0);
    a1 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel + 16), a1);
    a2 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel + 32), a2);
    a3 = _mm512_fmadd_ps(x0, _mm512_load_ps(panel + 48), a3);
  }
  const __m512 acc[4] = {_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1), _mm512_add_ps(a2, b2),
                         _mm512_add_ps(a3, b3)};
  const __m512 scale = _mm512_set1_ps(alpha);
  for (size_t v = 0; v < 4 && 16 * v < width; ++v) {
    const size_t left = std::min<size_t>(width - 16 * v, 16);
    const __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
    const __m512 add = c != nullptr ? _mm512_maskz_loadu_ps(mask, c + 16 * v) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(y + 16 * v, mask, _mm512_fmadd_ps(acc[v], scale, add));
  }
}

EDGERUN_AVX2 void product_panel_avx2(const float* x, size_t k, const float* panel, size_t width,
                                     float alpha, const float* c, float* y) {
  // One row per step: its 64 columns are eight vectors, eight independent chains.
  __m256 acc[8];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  for (size_t r = 0; r < k; ++r, panel += kProductPanel) {
    const __m256 xr = _mm256_set1_ps(x[r]);
    for (size_t v = 0; v < 8; ++v) {
      acc[v] = _mm256_fmadd_ps(xr, _mm256_load_ps(panel + 8 * v), acc[v]);
    }
  }
  alignas(32) float out[kProductPanel];
  for (size_t v = 0; v < 8; ++v) _mm256_store_ps(out + 8 * v, acc[v]);
  for (size_t j = 0; j < width; ++j) y[j] = alpha * out[j] + (c != nullptr ? c[j] : 0.0f);
}

EDGERUN_AVX512 void scale_channels_last_avx512(const float* x, const float* scale, float* y,
                                               size_t pixels, size_t channels) {
  const size_t whole = channels / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (channels - whole)) - 1);
  for (size_t p = 0; p < pixels; ++p, x += channels, y += channels) {
    size_t c = 0;
    for (; c < whole; c += 16) {
      _mm512_storeu_ps(y + c, _mm512_mul_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(scale + c)));
    }
    if (tail != 0) {
      _mm512_mask_storeu_ps(y + c, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + c),
                                                       _mm512_maskz_loadu_ps(tail, scale + c)));
    }
  }
}

EDGERUN_AVX2 void scale_channels_last_avx2(const float* x, const float* scale, float* y,
                                           size_t pixels, size_t channels) {
  const size_t whole = channels / 8 * 8;
  for (size_t p = 0; p < pixels; ++p, x += channels, y += channels) {
    size_t c = 0;
    for (; c < whole; c += 8) {
      _mm256_storeu_ps(y + c, _mm256_mul_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(scale + c)));
    }
    for (; c < channels; ++c) y[c] = x[c] * scale[c];
  }
}

// sums[c] = the sum over pixels of x[p * channels + c] for channels [c, c + 16 * V) (the last
// vector masked by `tail`): V accumulators held in registers over all pixels.
template <int V>
EDGERUN_AVX512 void sum_pixels_avx512(const float* x, size_t pixels, size_t channels,
                                      __mmask16 tail, float* sums) {
  __m512 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = _mm512_setzero_ps();
  for (size_t p = 0; p < pixels; ++p, x += channels) {
    for (int v = 0; v + 1 < V; ++v) acc[v] = _mm512_add_ps(acc[v], _mm512_loadu_ps(x + 16 * v));
    acc[V - 1] = _mm512_add_ps(acc[V - 1], _mm512_maskz_loadu_ps(tail, x + 16 * (V - 1)));
  }
  for (int v = 0; v + 1 < V; ++v) _mm512_storeu_ps(sums + 16 * v, acc[v]);
  _mm512_mask_storeu_ps(sums + 16 * (V - 1), tail, acc[V - 1]);
}

EDGERUN_AVX512 void sum_channels_last_avx512(const float* x, size_t pixels, size_t channels,
                                             float* sums) {
  constexpr size_t kChunk = 128;  // 8 accumulators
  size_t c = 0;
  for (; c + kChunk <= channels; c += kChunk) {
    sum_pixels_avx512<8>(x + c, pixels, channels, 0xFFFF, sums + c);
  }
  const size_t rest = channels - c;
  if (rest == 0) return;
  const __mmask16 tail = static_cast<__mmask16>(rest % 16 == 0 ? 0xFFFF : (1u << rest % 16) - 1);
  switch ((rest + 15) / 16) {
    case 1: sum_pixels_avx512<1>(x + c, pixels, channels, tail, sums + c); break;
    case 2: sum_pixels_avx512<2>(x + c, pixels, channels, tail, sums + c); break;
    case 3: sum_pixels_avx512<3>(x + c, pixels, channels, tail, sums + c); break;
    case 4: sum_pixels_avx512<4>(x + c, pixels, channels, tail, sums + c); break;
    case 5: sum_pixels_avx512<5>(x + c, pixels, channels, tail, sums + c); break;
    case 6: sum_pixels_avx512<6>(x + c, pixels, channels, tail, sums + c); break;
    case 7: sum_pixels_avx512<7>(x + c, pixels, channels, tail, sums + c); break;
    default: sum_pixels_avx512<8>(x + c, pixels, channels, tail, sums + c); break;
  }
}

EDGERUN_AVX2 void sum_channels_last_avx2(const float* x, size_t pixels, size_t channels,
                                         float* sums) {
  // Four accumulators of 8 channels each, then one vector, then channels one by one.
  size_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* row = x + c;
    for (size_t p = 0; p < pixels; ++p, row += channels) {
      a0 = _mm256_add_ps(a0, _mm256_loadu_ps(row));
      a1 = _mm256_add_ps(a1, _mm256_loadu_ps(row + 8));
      a2 = _mm256_add_ps(a2, _mm256_loadu_ps(row + 16));
      a3 = _mm256_add_ps(a3, _mm256_loadu_ps(row + 24));
    }
    _mm256_storeu_ps(sums + c, a0);
    _mm256_storeu_ps(sums + c + 8, a1);
    _mm256_storeu_ps(sums + c + 16, a2);
    _mm256_storeu_ps(sums + c + 24, a3);
  }
  for (; c + 8 <= channels; c += 8) {
    __m256 a = _mm256_setzero_ps();
    const float* row = x + c;
    for (size_t p = 0; p < pixels; ++p, row += channels) a = _mm256_add_ps(a, _mm256_loadu_ps(row));
    _mm256_storeu_ps(sums + c, a);
  }
  for (; c < channels; ++c) {
    float a = 0;
    for (size_t p = 0; p < pixels; ++p) a += x[p * channels + c];
    sums[c] = a;
  }
}

// 16 pixels of three planes into 48 interleaved floats: output vector k holds elements 16k to
// 16k + 15 of the interleaved block, element j being channel j % 3 of pixel j / 3. Two
// two-source permutes each: the first takes channels 0 and 1, the second puts channel 2 in.
struct RgbPermutes {
  alignas(64) int first[3][16];
  alignas(64) int second[3][16];
  RgbPermutes() {
    for (int k = 0; k < 3; ++k) {
      for (int l = 0; l < 16; ++l) {
        const int j = 16 * k + l, pixel = j / 3, channel = j % 3;
        first[k][l] = channel == 0 ? pixel : channel == 1 ? 16 + pixel : 0;
        second[k][l] = channel == 2 ? 16 + pixel : l;
      }
    }
  }
};

// `pixels` pixels of three planes `plane` floats apart, from `in` (in plane 0) into `out`.
EDGERUN_AVX512 void rgb_to_channels_last_avx512(const float* in, size_t plane, float* out,
                                                size_t pixels) {
  static const RgbPermutes permutes;
  const float* planes[3] = {in, in + plane, in + 2 * plane};
  size_t p = 0;
  for (; p + 16 <= pixels; p += 16) {
    const __m512 c0 = _mm512_loadu_ps(planes[0] + p), c1 = _mm512_loadu_ps(planes[1] + p);
    const __m512 c2 = _mm512_loadu_ps(planes[2] + p);
    for (int k = 0; k < 3; ++k) {
      const __m512 two = _mm512_permutex2var_ps(c0, _mm512_load_si512(permutes.first[k]), c1);
      _mm512_storeu_ps(out + 3 * p + 16 * k,
                       _mm512_permutex2var_ps(two, _mm512_load_si512(permutes.second[k]), c2));
    }
  }
  for (; p < pixels; ++p) {
    for (size_t c = 0; c < 3; ++c) out[3 * p + c] = planes[c][p];
  }
}

#endif  // __x86_64__

VectorIsa detect_isa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return VectorIsa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return VectorIsa::kAvx2;
#endif
  return VectorIsa::kNone;
}

// Below this many elements per thread, waking another OpenMP thread costs about what it saves
// (executable.cpp measures the wake-up at 25-110 us on a VM; this is some 35 us of work).
constexpr size_t kPerThread = size_t{256} << 10;

void check_isa(VectorIsa isa, const char* kernel) {
  if (isa == VectorIsa::kNone || static_cast<int>(isa) > static_cast<int>(best_vector_isa())) {
    throw std::logic_error(std::string(kernel) +
                           ": this CPU does not run the vector code asked for");
  }
}

// Runs body(first, last) over [0, items): on the calling thread, or in pieces of whole
// `granule`s over its OpenMP threads when each gets kPerThread items.
template <typename Body>
void share(size_t items, size_t granule, Body body) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int parts = static_cast<int>(std::min<size_t>(threads, items / kPerThread));
  if (parts < 2) {
    body(size_t{0}, items);
    return;
  }
  const size_t step = (items / parts + granule - 1) / granule * granule;
#pragma omp parallel for num_threads(parts) schedule(static)
  for (int p = 0; p < parts; ++p) {
    const size_t first = std::min(items, static_cast<size_t>(p) * step);
    body(first, p + 1 == parts ? items : std::min(items, first + step));
  }
}

}  // namespace

VectorIsa best_vector_isa() {
  static const VectorIsa isa = detect_isa();
  return isa;
}

void swish_in_place(float* data, size_t count, float alpha, VectorIsa isa) {
  check_isa(isa, "swish_in_place");
#if defined(__x86_64__)
  if (isa == VectorIsa::kAvx512) {
    swish_avx512(data, count, alpha);
  } else {
    swish_avx2(data, count, alpha);
  }
#else
  (void)data, (void)count, (void)alpha;
#endif
}

void swish_in_place(float* data, size_t count, float alpha) {
  const VectorIsa isa = best_vector_isa();
  // Parts of whole vectors (whole cache lines where `data` is aligned).
  share(count, 16, [&](size_t first, size_t last) {
    swish_in_place(data + first, last - first, alpha, isa);
  });
}

void one_row_product(const float* x, size_t k, const float* panels, size_t first_panel,
                     size_t last_panel, size_t n, float alpha, const float* c, float* y,
                     VectorIsa isa) {
  check_isa(isa, "one_row_product");
#if defined(__x86_64__)
  for (size_t p = first_panel; p < last_panel; ++p) {
    const size_t column = p * kProductPanel;
    const size_t width = std::min(kProductPanel, n - column);
    const float* panel = panels + column * k;
    const float* add = c != nullptr ? c + column : nullptr;
    if (isa == VectorIsa::kAvx512) {
      product_panel_avx512(x, k, panel, width, alpha, add, y + column);
    } else {
      product_panel_avx2(x, k, panel, width, alpha, add, y + column);
    }
  }
#else
  (void)x, (void)k, (void)panels, (void)first_panel, (void)last_panel, (void)n, (void)alpha,
      (void)c, (void)y;
#endif
}

void scale_channels_last(const float* x, const float* scale, float* y, size_t pixels,
                         size_t channels, VectorIsa isa) {
  check_isa(isa, "scale_channels_last");
#if defined(__x86_64__)
  if (isa == VectorIsa::kAvx512) {
    scale_channels_last_avx512(x, scale, y, pixels, channels);
  } else {
    scale_channels_last_avx2(x, scale, y, pixels, channels);
  }
#else
  (void)x, (void)scale, (void)y, (void)pixels, (void)channels;
#endif
}

void sum_channels_last(const float* x, size_t pixels, size_t channels, float* sums,
                       VectorIsa isa) {
  check_isa(isa, "sum_channels_last");
#if defined(__x86_64__)
  if (isa == VectorIsa::kAvx512) {
    sum_channels_last_avx512(x, pixels, channels, sums);
  } else {
    sum_channels_last_avx2(x, pixels, channels, sums);
  }
#else
  (void)x, (void)pixels, (void)channels, (void)sums;
#endif
}

bool rgb_to_channels_last(const float* in, float* out, size_t images, size_t pixels) {
#if defined(__x86_64__)
  if (best_vector_isa() != VectorIsa::kAvx512) return false;
  // Parts of at least 8K pixels (a 224 x 224 image splits in two), in whole 16-pixel blocks.
  constexpr size_t kMinPart = 8192, kBlock = 16;
  for (size_t i = 0; i < images; ++i) {
    const float* image = in + i * 3 * pixels;
    float* converted = out + i * 3 * pixels;
    split_over_threads(std::max<size_t>(1, pixels / kMinPart), [&](int p, int parts) {
      const auto [first_block, last_block] = part_range(pixels / kBlock, p, parts);
      const size_t first = first_block * kBlock;
      const size_t last = p + 1 == parts ? pixels : last_block * kBlock;
      rgb_to_channels_last_avx512(image + first, pixels, converted + 3 * first, last - first);
    });
  }
  return true;
#else
  (void)in, (void)out, (void)images, (void)pixels;
  return false;
#endif
}

}  // namespace edgerun::onednn
